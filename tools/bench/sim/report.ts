/** Printing the simulation's results: per scenario, p99 and mean wait against the oracle per load; the targets. */
import { fixed, meanInterval, pct, table, verdict, type Interval, type Verdict } from '../stats.js';
import type { Cell } from './aggregate.js';
import type { SimSettings } from './model.js';
import type { Scenario } from './scenarios.js';

const KIND_MARK: Record<Cell['kind'], string> = { oracle: ' (clairvoyant)', informed: ' (perfect information)', reference: ' (reference)', real: '', 'what-if': ' (previous)', baseline: ' (baseline)' };
export const label = (c: Pick<Cell, 'contender' | 'kind'>) => `${c.contender}${KIND_MARK[c.kind]}`;

export const ratioText = (r: number) => (Number.isFinite(r) ? `${r.toFixed(2)}x` : '-');
/** A ratio with the half-width of its 95% interval over seeds: 1.53x ±0.02. */
export const ratioCIText = (i: Interval) =>
  Number.isFinite(i.mean) ? `${i.mean.toFixed(2)}x${Number.isFinite(i.high) ? ` ±${((i.high - i.low) / 2).toFixed(2)}` : ''}` : '-';

export function describeScenario(scenario: Scenario, settings: SimSettings, seeds: readonly number[]): string {
  const regions = settings.regions.map((r) => `${r.region} ${r.workers} x ${r.meanServiceSeconds} s (capacity ${r.capacity})`).join(', ');
  const seedText = seeds.length > 1 ? `seeds ${seeds[0]}..${seeds.at(-1)}` : `seed ${seeds[0]}`;
  return [
    `== ${scenario.name}: ${scenario.description}`,
    `   ${regions}`,
    `   ${settings.readingAgeSeconds === undefined ? `CACHE_TTL ${settings.cacheTtlSeconds} s` : `readings ${settings.readingAgeSeconds} s old at every placement (no cache)`}; ${settings.dispatchers ?? 1} dispatching containers; SQS counts ${settings.sqsLagSeconds ?? 0} s behind; ` +
      `batches of up to ${settings.batchSize ?? 10}, window ${settings.batchWindowSeconds ?? 1} s, ${settings.pollers ?? 1} pollers; ${fixed(settings.durationSeconds, 0)} s of arrivals per run (first 1% not counted); ${seedText}`,
  ].join('\n');
}

/** Rows: contenders; columns: loads. `value` renders one cell. */
function grid(cells: readonly Cell[], loads: readonly number[], head: string, value: (c: Cell) => string): string {
  const names = [...new Set(cells.map((c) => c.contender))];
  return table([
    [head, ...loads.map((l) => `load ${pct(l)}`)],
    ...names.map((name) => {
      const row = cells.filter((c) => c.contender === name);
      return [label(row[0] as Cell), ...loads.map((l) => {
        const c = row.find((x) => x.load === l);
        return c ? value(c) : '';
      })];
    }),
  ]);
}

const isOracle = (c: Cell) => c.kind === 'oracle' || c.kind === 'informed';

export function scenarioTables(cells: readonly Cell[], loads: readonly number[]): string {
  const p99 = grid(cells, loads, 'p99 queueing wait: x clairvoyant oracle (s)', (c) =>
    c.kind === 'oracle' ? `(${fixed(c.p99)})` : `${ratioCIText(c.p99RatioCI)} (${fixed(c.p99)})`,
  );
  const p99Now = grid(
    cells.filter((c) => c.kind !== 'oracle'),
    loads,
    'p99 queueing wait: x perfect-information oracle',
    (c) => (c.kind === 'informed' ? `(${fixed(c.p99)})` : `${ratioCIText(c.p99RatioInformedCI)}`),
  );
  const mean = grid(cells, loads, 'mean queueing wait: x clairvoyant oracle (s)', (c) =>
    c.kind === 'oracle' ? `(${fixed(c.mean, 2)})` : `${ratioCIText(c.meanRatioCI)} (${fixed(c.mean, 2)})`,
  );
  const e2e = grid(cells, loads, 'end to end s: p99 / mean (queueing p99)', (c) => `${fixed(c.endToEndP99)} / ${fixed(c.endToEndMean)} (${fixed(c.p99)})`);
  const lw = cells.filter((c) => c.contender === 'least-wait');
  const any = cells.filter((c) => isOracle(c));
  const notes = [
    lw.length
      ? `   least-wait: p99 ratio range over seeds ${lw.map((c) => `${ratioText(c.p99RatioRange[0])}-${ratioText(c.p99RatioRange[1])}`).join(', ')}; ` +
        `information ${lw.map((c) => fixed(c.informationAge)).join('/')} s old on average; ${fixed(lw[0]?.readingsPer1000 ?? 0)} readings per 1000 requests at ${pct(lw[0]?.load ?? 0)}`
      : '',
    any.length
      ? `   batching (master queue to the execution, the same for every contender): mean ${any
          .filter((c) => c.kind === 'oracle')
          .map((c) => `${fixed(c.batchingMean)} s`)
          .join('/')}, p99 ${any
          .filter((c) => c.kind === 'oracle')
          .map((c) => `${fixed(c.batchingP99)} s`)
          .join('/')}; ${any
          .filter((c) => c.kind === 'oracle')
          .map((c) => fixed(c.meanBatch, 2))
          .join('/')} messages per execution`
      : '',
  ].filter(Boolean);
  return `${p99}\n\n${p99Now}\n\n${mean}\n\n${e2e}${notes.length ? `\n${notes.join('\n')}` : ''}`;
}

export interface TargetCheck {
  readonly target: string;
  readonly load: number;
  /** Mean over seeds of the per-seed figure. */
  readonly value: number;
  /** Its 95% interval over seeds. */
  readonly low: number;
  readonly high: number;
  readonly seeds: number;
  readonly limit: number;
  /** 'le': value <= limit; 'ge': value >= limit. */
  readonly sense: 'le' | 'ge';
  /** met: the whole interval on the right side of the limit; missed: the whole interval on the wrong side. */
  readonly verdict: Verdict;
  readonly met: boolean;
}

const checkOf = (target: string, load: number, perSeed: readonly number[], limit: number, sense: 'le' | 'ge'): TargetCheck => {
  const i = meanInterval(perSeed);
  const v = verdict(i, limit, sense);
  return { target, load, value: i.mean, low: i.low, high: i.high, seeds: i.n, limit, sense, verdict: v, met: v === 'met' };
};

export function checkTargets(results: ReadonlyMap<string, readonly Cell[]>): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const find = (scenario: string, contender: string, load: number) => results.get(scenario)?.find((c) => c.contender === contender && c.load === load);
  const loads = [...new Set([...results.values()].flat().map((c) => c.load))].sort((a, b) => a - b);
  const perSeedRatio = (a: Cell, b: Cell) => a.p99PerSeed.map((x, k) => x / (b.p99PerSeed[k] as number));
  for (const [scenario, limit, name] of [
    ['deployed', 1.15, 'T1 deployed defaults: least-wait p99 <= 1.15x oracle'],
    ['stale-30s-20', 1.5, 'T2 readings 30 s old, 20 dispatchers: least-wait p99 <= 1.5x oracle'],
  ] as const) {
    for (const load of loads) {
      const c = find(scenario, 'least-wait', load);
      const o = find(scenario, 'oracle', load);
      if (c && o && Number.isFinite(c.p99Ratio)) checks.push(checkOf(name, load, perSeedRatio(c, o), limit, 'le'));
    }
  }
  for (const load of loads) {
    const c = find('deployed', 'least-wait', load);
    const o = find('deployed', 'oracle@now', load);
    if (c && o) checks.push(checkOf('T4 deployed: least-wait p99 <= 1.05x perfect-information oracle', load, perSeedRatio(c, o), 1.05, 'le'));
  }
  const original = find('original-60s', 'seed-inverse', 0.9);
  const deployed = find('deployed', 'least-wait', 0.9);
  if (original && deployed) {
    checks.push(checkOf('T3 at 90%: seed-inverse p99 (CACHE_TTL 60) / least-wait p99 (deployed) >= 3', 0.9, perSeedRatio(original, deployed), 3, 'ge'));
  }
  return checks;
}

const intervalText = (c: Pick<TargetCheck, 'low' | 'high'>) => (Number.isFinite(c.low) ? `[${c.low.toFixed(2)}, ${c.high.toFixed(2)}]` : '[no interval: 1 seed]');

export function targetsText(checks: readonly TargetCheck[]): string {
  if (!checks.length) return 'targets: not evaluated (they need the deployed, stale-30s-20 and original-60s scenarios; T3 needs load 0.9)';
  const seeds = Math.max(...checks.map((c) => c.seeds));
  const lines = checks.map((c) => {
    const by = c.sense === 'le' ? c.value - c.limit : c.limit - c.value;
    const text = c.verdict === 'met' ? 'met' : c.verdict === 'missed' ? `MISSED by ${by.toFixed(2)}` : `within noise (mean ${c.sense === 'ge' ? (c.value >= c.limit ? 'over' : 'under') : c.value <= c.limit ? 'under' : 'over'} the limit)`;
    return `  ${c.target.padEnd(78)} load ${pct(c.load).padStart(3)}: ${c.value.toFixed(2)} ${intervalText(c).padEnd(14)}  ${text}`;
  });
  return [`targets (p99 wait; mean over ${seeds} seeds of the per-seed figure, [95% t-interval]; met or missed only when the whole interval is):`, ...lines].join('\n');
}

export const LEGEND = [
  'queueing wait: from a message reaching its regional queue to a worker starting it; end to end: from its arrival in the master queue',
  '  (the event source\'s batching included). Every contender sees the same arrivals and work per seed.',
  'oracle (clairvoyant): places each message where its exact wait is shortest, seeing the true queues and the work ahead (a pooled M/M/c',
  '  queue): the lower bound. oracle@now (perfect information): sees every queue exactly as it is now, not the service times ahead, and',
  '  places each message where its expected wait is shortest: the best any dispatcher could do.',
  '  least-wait@fresh (reference): the shipped least-wait given the true counts at every batch (no cache, no SQS lag, one container):',
  '  the gap between it and the oracle is mostly what seeing the service times ahead is worth.',
  'x oracle: mean over seeds of the per-seed ratio to the oracle, ± the half-width of its 95% t-interval over seeds; (s): mean over seeds, seconds.',
].join('\n');
