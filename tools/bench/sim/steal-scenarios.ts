/**
 * The stealing comparison (`npm run bench:stealing`): the deployed scenario of tools/bench/sim/scenarios.ts
 * (regions of 1, 2 and 4 workers, 10 s per request, CACHE_TTL and batching as deployed), placed by
 * least-wait, with and without work stealing (tools/bench/sim/steal-sim.ts), against the pooled queue
 * (the first free worker anywhere takes the next message: the clairvoyant oracle's lower bound).
 * Three experiments: the end-to-end wait per load, a region that loses its fleet with a backlog, and
 * the high lane. Per seed figures; intervals over seeds (tools/bench/stats.ts meanInterval).
 */
import { PRESENCE } from '../../../core/presence.js';
import { PRIORITIES } from '../../../core/request.js';
import { meanInterval, summarize, verdict, type Interval, type Verdict } from '../stats.js';
import { ALL_NORMAL, simulateFleet, type FleetContender, type FleetResult, type FleetSettings } from './fleet-model.js';
import { DEFAULT_MIX, deployedScenario, laneRunSettings, LEAST_WAIT, type LaneVariant } from './lane-scenarios.js';
import { SERVICE_SECONDS, settingsFor } from './scenarios.js';
import type { StealingSimSettings } from './steal-sim.js';

export const POOLED: FleetContender = { name: 'pooled queue (oracle)', kind: 'pooled' };

/** Targets of issue 20. */
export const TARGETS = {
  /** Stealing's p99 end-to-end wait over the pooled queue's, at every load: at most. */
  waitRatio: 1.1,
  /** The stranded requests' p99 over the pooled queue's: at most. */
  strandedRatio: 1.5,
  /** The high lane's p99 without lanes over with lanes and stealing, at 90%: at least. */
  highRatio: 10,
} as const;

/** What the bench varies about the worker (flags); the rest of StealingSimSettings follows from them. */
export interface StealKnobs {
  readonly checkEverySeconds: number;
  readonly idlePollSeconds: number;
  readonly receiveSeconds: number;
  readonly startupSeconds: number;
  readonly minBacklogPerWorker: number;
  readonly presenceLagSeconds: number;
  /** core/stealing.ts otherHighFirst / fleetlessFirst: taken before the own normal lane. */
  readonly otherHighFirst: boolean;
  readonly fleetlessFirst: boolean;
  /** The worker weighs the start-up against the wait (core/stealing.ts startupSeconds, serviceSeconds: the fleet's 10 s). */
  readonly weighStartup?: boolean;
}

export const stealingOf = (k: StealKnobs): StealingSimSettings => ({
  checkEverySeconds: k.checkEverySeconds,
  idlePollSeconds: k.idlePollSeconds,
  receiveSeconds: k.receiveSeconds,
  startupSeconds: k.startupSeconds,
  minBacklogPerWorker: k.minBacklogPerWorker,
  presenceLagSeconds: k.presenceLagSeconds,
  otherHighFirst: k.otherHighFirst,
  fleetlessFirst: k.fleetlessFirst,
  ...(k.weighStartup ? { weighedServiceSeconds: SERVICE_SECONDS } : {}),
});

export interface BaseOptions {
  readonly seed: number;
  readonly durationSeconds: number;
  readonly dispatchers: number;
  readonly sqsLagSeconds: number;
}

/** The end-to-end waits (master batching + regional queue) of a run, per counted request. */
export function totalWaits(r: FleetResult, keep: (k: number) => boolean = () => true): Float64Array {
  const out: number[] = [];
  for (let k = 0; k < r.arrival.length; k++) if (keep(k)) out.push((r.masterWait[k] as number) + (r.regionalWait[k] as number));
  return Float64Array.from(out);
}

const p99 = (values: Float64Array) => summarize(values).p99;
const interval = (values: readonly number[]) => meanInterval(values);

// ---- 1. p99 end-to-end wait per load ----

export interface LoadRow {
  readonly load: number;
  /** Per variant (names of `variants`), per seed p99 and its interval. */
  readonly p99: Readonly<Record<string, { perSeed: number[]; interval: Interval }>>;
  /** Per stealing variant: its p99 over the pooled queue's, per seed, and the interval. */
  readonly ratio: Readonly<Record<string, { perSeed: number[]; interval: Interval; verdict: Verdict }>>;
  /** Per stealing variant: stolen share of requests (mean over seeds). */
  readonly stolenShare: Readonly<Record<string, number>>;
}

export interface StealVariant {
  readonly name: string;
  readonly knobs?: StealKnobs;
}

export function loadRow(load: number, seeds: readonly number[], base: Omit<BaseOptions, 'seed'>, variants: readonly StealVariant[]): LoadRow {
  const settings = (seed: number): FleetSettings => ({ ...settingsFor(deployedScenario(), { ...base, load, seed }), mix: ALL_NORMAL });
  const pooled = seeds.map((seed) => p99(totalWaits(simulateFleet(settings(seed), POOLED))));
  const p99s: Record<string, { perSeed: number[]; interval: Interval }> = { [POOLED.name]: { perSeed: pooled, interval: interval(pooled) } };
  const ratio: Record<string, { perSeed: number[]; interval: Interval; verdict: Verdict }> = {};
  const stolenShare: Record<string, number> = {};
  for (const v of variants) {
    const results = seeds.map((seed) => simulateFleet({ ...settings(seed), ...(v.knobs ? { stealing: stealingOf(v.knobs) } : {}) }, LEAST_WAIT));
    const perSeed = results.map((r) => p99(totalWaits(r)));
    p99s[v.name] = { perSeed, interval: interval(perSeed) };
    const ratios = perSeed.map((p, i) => p / (pooled[i] as number));
    const ri = interval(ratios);
    ratio[v.name] = { perSeed: ratios, interval: ri, verdict: verdict(ri, TARGETS.waitRatio, 'le') };
    if (v.knobs) stolenShare[v.name] = results.reduce((n, r) => n + (r.thief as Int8Array).filter((t) => t >= 0).length / r.arrival.length, 0) / results.length;
  }
  return { load, p99: p99s, ratio, stolenShare };
}

// ---- 2. a region that loses its fleet with a backlog ----

export interface StrandedOptions extends BaseOptions {
  readonly load: number;
  readonly lostRegion: string;
  readonly backlog: number;
  /** When the region's workers vanish and the backlog is there. */
  readonly atSeconds: number;
  /** The dispatcher weighs regions by live workers (presence): it stops placing there this long after. */
  readonly presenceLagSeconds: number;
}

/** The run's settings: arrivals for `durationSeconds` (not scaled), the region's workers gone at `atSeconds`. */
export function strandedSettings(o: StrandedOptions, stealing?: StealingSimSettings): FleetSettings {
  const base = settingsFor(deployedScenario(), { load: o.load, seed: o.seed, durationSeconds: o.durationSeconds, dispatchers: o.dispatchers, sqsLagSeconds: o.sqsLagSeconds });
  const lost = base.regions.findIndex((r) => r.region === o.lostRegion);
  if (lost < 0) throw new Error(`--lost-region must be one of ${base.regions.map((r) => r.region).join(', ')}, got ${o.lostRegion}`);
  return {
    ...base,
    durationSeconds: o.durationSeconds,
    warmupSeconds: 0,
    mix: ALL_NORMAL,
    fleetChanges: [{ atSeconds: o.atSeconds, workers: base.regions.map((r, i) => (i === lost ? 0 : r.workers)) }],
    injections: [{ atSeconds: o.atSeconds, region: o.lostRegion, count: o.backlog }],
    allowUnstarted: true,
    ...(stealing ? { stealing } : {}),
  };
}

/** The dispatcher with presence: the lost region's capacity follows its live workers, a lease later. */
export const strandedDispatcher = (presenceLagSeconds: number): FleetContender => ({ ...LEAST_WAIT, capacity: 'live', liveDelaySeconds: presenceLagSeconds });

export interface StrandedRun {
  /** Last start of the backlog minus the loss; +Infinity when not all started within the run. */
  readonly drainSeconds: number;
  /** p99 of the backlog's waits (loss to start); +Infinity when more than 1% never started. */
  readonly p99: number;
  /** Requests placed in the lost region after the loss (before the dispatcher stopped): how many, and how many never started. */
  readonly placedAfter: number;
  readonly placedAfterUnstarted: number;
  /** The other requests' p99 end-to-end wait from the loss on. */
  readonly othersP99: number;
}

export function strandedRun(result: FleetResult, o: StrandedOptions, lostIndex: number): StrandedRun {
  const injected = result.injected as Uint8Array;
  const waits: number[] = [];
  let placedAfter = 0;
  let placedAfterUnstarted = 0;
  for (let k = 0; k < result.arrival.length; k++) {
    if (injected[k]) waits.push(result.regionalWait[k] as number);
    else if ((result.arrival[k] as number) >= o.atSeconds && result.region[k] === lostIndex) {
      placedAfter++;
      if (!Number.isFinite(result.regionalWait[k] as number)) placedAfterUnstarted++;
    }
  }
  const others = totalWaits(result, (k) => !injected[k] && (result.arrival[k] as number) >= o.atSeconds);
  return {
    drainSeconds: Math.max(...waits),
    p99: p99(Float64Array.from(waits)),
    placedAfter,
    placedAfterUnstarted,
    othersP99: p99(others),
  };
}

export interface StrandedFigures {
  readonly runs: Readonly<Record<string, StrandedRun[]>>;
  readonly drain: Readonly<Record<string, Interval & { drainedRuns: number }>>;
  readonly p99: Readonly<Record<string, Interval>>;
  /** Per stealing variant: its backlog p99 over the pooled queue's, per seed. */
  readonly ratio: Readonly<Record<string, { interval: Interval; verdict: Verdict }>>;
}

export function strandedFigures(o: Omit<StrandedOptions, 'seed'>, seeds: readonly number[], variants: readonly StealVariant[]): StrandedFigures {
  const names = deployedScenario().regions.map((r) => r.region);
  const lostIndex = names.indexOf(o.lostRegion);
  const runs: Record<string, StrandedRun[]> = {};
  runs[POOLED.name] = seeds.map((seed) => strandedRun(simulateFleet(strandedSettings({ ...o, seed }), POOLED), { ...o, seed }, -1));
  for (const v of variants) {
    runs[v.name] = seeds.map((seed) =>
      strandedRun(simulateFleet(strandedSettings({ ...o, seed }, v.knobs ? stealingOf(v.knobs) : undefined), strandedDispatcher(o.presenceLagSeconds)), { ...o, seed }, lostIndex),
    );
  }
  const drain: Record<string, Interval & { drainedRuns: number }> = {};
  const p99s: Record<string, Interval> = {};
  for (const [name, rs] of Object.entries(runs)) {
    const drained = rs.filter((r) => Number.isFinite(r.drainSeconds));
    drain[name] = { ...interval(drained.length === rs.length ? rs.map((r) => r.drainSeconds) : []), drainedRuns: drained.length };
    p99s[name] = rs.every((r) => Number.isFinite(r.p99)) ? interval(rs.map((r) => r.p99)) : { mean: Number.POSITIVE_INFINITY, low: Number.NaN, high: Number.NaN, n: rs.length, sd: Number.NaN };
  }
  const ratio: Record<string, { interval: Interval; verdict: Verdict }> = {};
  const pooled = runs[POOLED.name] as StrandedRun[];
  for (const v of variants) {
    const rs = runs[v.name] as StrandedRun[];
    const ratios = rs.map((r, i) => r.p99 / (pooled[i] as StrandedRun).p99);
    const ri = ratios.every(Number.isFinite) ? interval(ratios) : { mean: Number.POSITIVE_INFINITY, low: Number.POSITIVE_INFINITY, high: Number.POSITIVE_INFINITY, n: ratios.length, sd: Number.NaN };
    ratio[v.name] = { interval: ri, verdict: Number.isFinite(ri.mean) ? verdict(ri, TARGETS.strandedRatio, 'le') : 'missed' };
  }
  return { runs, drain, p99: p99s, ratio };
}

// ---- 3. the high lane ----

export interface HighFigures {
  readonly load: number;
  /** Per variant: the high requests' p99 per seed and its interval. */
  readonly p99: Readonly<Record<string, { perSeed: number[]; interval: Interval }>>;
  /** Per lane variant: without lanes' high p99 over its own, per seed. */
  readonly ratio: Readonly<Record<string, { interval: Interval; verdict: Verdict }>>;
  /** Normal requests' p99 per variant (what high first costs them). */
  readonly normalP99: Readonly<Record<string, Interval>>;
}

export const HIGH_VARIANTS = ['without lanes', 'with lanes'] as const;
export const POOLED_LANES = 'pooled lanes (lower bound)';

export function highFigures(load: number, seeds: readonly number[], base: Omit<BaseOptions, 'seed'>, stealVariants: readonly StealVariant[]): HighFigures {
  const high = PRIORITIES.indexOf('high');
  const normal = PRIORITIES.indexOf('normal');
  const run = (variant: LaneVariant, seed: number, knobs?: StealKnobs) =>
    simulateFleet({ ...laneRunSettings(variant, { ...base, load, seed, mix: DEFAULT_MIX }), ...(knobs ? { stealing: stealingOf(knobs) } : {}) }, LEAST_WAIT);
  const rows: Array<[string, FleetResult[]]> = [
    ['without lanes', seeds.map((s) => run('without lanes', s))],
    ['with lanes', seeds.map((s) => run('with lanes', s))],
    ...stealVariants.filter((v) => v.knobs).map((v): [string, FleetResult[]] => [`with lanes, ${v.name}`, seeds.map((s) => run('with lanes', s, v.knobs))]),
    // The lower bound of any placement and stealing: one high and one normal lane for every worker.
    [POOLED_LANES, seeds.map((seed) => simulateFleet(laneRunSettings('with lanes', { ...base, load, seed, mix: DEFAULT_MIX }), POOLED))],
  ];
  const p99s: Record<string, { perSeed: number[]; interval: Interval }> = {};
  const normalP99: Record<string, Interval> = {};
  for (const [name, results] of rows) {
    const perSeed = results.map((r) => p99(totalWaits(r, (k) => r.priority[k] === high)));
    p99s[name] = { perSeed, interval: interval(perSeed) };
    normalP99[name] = interval(results.map((r) => p99(totalWaits(r, (k) => r.priority[k] === normal))));
  }
  const without = (p99s['without lanes'] as { perSeed: number[] }).perSeed;
  const ratio: Record<string, { interval: Interval; verdict: Verdict }> = {};
  for (const [name] of rows.slice(1)) {
    const ri = interval((p99s[name] as { perSeed: number[] }).perSeed.map((p, i) => (without[i] as number) / p));
    ratio[name] = { interval: ri, verdict: verdict(ri, TARGETS.highRatio, 'ge') };
  }
  return { load, p99: p99s, ratio, normalP99 };
}

/** Defaults of the presence lease: a vanished worker counts until its lease ends. */
export const PRESENCE_LAG_SECONDS = PRESENCE.leaseSeconds;
