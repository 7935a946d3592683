/**
 * An event-driven simulation of the dispatch for what tools/bench/sim/model.ts cannot express: requests of
 * three priorities, priority lanes (a high and a normal lane per region, workers choosing between them
 * with core/lanes.ts), and fleets whose worker count changes mid-run (Spot) while the policy is told a
 * capacity that may not follow. Workers are simulated event by event (tools/bench/sim/lane-region.ts) instead
 * of model.ts's exact FIFO futures, because with lanes a later high message overtakes waiting normal ones.
 *
 * Same deployment as model.ts otherwise, and the same random streams: Poisson arrivals on the master
 * queue, batches closed at `batchSize` or when their first message has waited the window, one execution
 * per batch on one of `dispatchers` containers, each with its own cached reading (CACHE_TTL) and its own
 * count of what it placed since, SQS counts `sqsLagSeconds` late. With one priority, no lanes and a fixed
 * fleet it gives model.ts's waits exactly (test/tools/bench/sim-lanes.test.ts checks it).
 *
 * - Priorities: each arrival is high, normal or low by `mix`, drawn from its own stream, and its size
 *   (service time in means, Exp(1)) is drawn at arrival: every variant sees the same requests.
 * - Lanes: with `lanes` set, each region has a high and a normal lane (low shares normal); the master
 *   queue is one per lane (`masterQueues: 'per-lane'`, each lane batched by its own event source, the
 *   high one with its own window) or one for both (`'one'`, mixed batches). Placement: lane-placement.ts.
 * - Fleet changes: at `atSeconds` each region gets its new worker count (lane-region.ts setWorkers).
 *   A `live` contender's capacity setting follows each change `liveDelaySeconds` later.
 * - The oracle (no lanes only) places each message where its exact wait is shortest, knowing the work
 *   queued and in progress and the workers present (not future fleet changes).
 * - The pooled queue (kind 'pooled'): one queue (with lanes, one per lane) that every worker takes from,
 *   the first free worker anywhere taking the next message (the same regions' workers, the same batching).
 * - Stealing (`stealing`, tools/bench/sim/steal-sim.ts): workers whose own lanes are empty take from other
 *   regions' lanes as worker/stealing.ts does, choosing with core/stealing.ts chooseSteal.
 * - Backlogs (`injections`): at a given time, messages put straight into a region's normal lane (already
 *   placed there: their master wait is 0), sizes from a stream of their own so other draws are unchanged.
 * - Waits: master = arrival on the master queue to its batch's dispatch; regional = dispatch (arrival in
 *   the regional queue) to a worker starting it. Messages that arrived before `warmupSeconds` are not counted.
 *   A message never started is an error, or (`allowUnstarted`) a regional wait of +Infinity.
 */
import { laneOf } from '../../../core/lanes.js';
import type { Policy } from '../../../core/policy.js';
import { seededRandom, type Random } from '../../../core/random.js';
import { PRIORITIES, type Priority } from '../../../core/request.js';
import { capacityFor, type CapacityMode } from './capacity-modes.js';
import { EventQueue } from './events.js';
import type { CountReader } from './lane-counts.js';
import { placeBatch, type DispatcherView, type LaneReading } from './lane-placement.js';
import { LaneRegion } from './lane-region.js';
import type { SimSettings } from './model.js';
import { stealingFor, type StealingSimSettings } from './steal-sim.js';

/** Shares of arrivals per priority; they must add up to 1. */
export type PriorityMix = Readonly<Record<Priority, number>>;

export const ALL_NORMAL: PriorityMix = { high: 0, normal: 1, low: 0 };

export interface LaneSettings {
  /** The workers' guard (core/lanes.ts STARVATION_LIMIT); Infinity: strict priority. */
  readonly starvationLimit: number;
  readonly masterQueues: 'per-lane' | 'one';
  /** The high lane's event source batching window (per-lane master queues only). */
  readonly highBatchWindowSeconds: number;
}

export interface FleetChange {
  readonly atSeconds: number;
  /** Workers per region from then on, in configured order. */
  readonly workers: readonly number[];
}

export interface FleetSettings extends SimSettings {
  readonly mix: PriorityMix;
  /** Priority lanes; undefined: today's one FIFO per region. */
  readonly lanes?: LaneSettings;
  readonly fleetChanges?: readonly FleetChange[];
  /** Work stealing by idle workers; undefined: none (policy contenders only). */
  readonly stealing?: StealingSimSettings;
  /** Backlogs put straight into a region's normal lane. */
  readonly injections?: readonly Injection[];
  /** Messages never started get a regional wait of +Infinity instead of an error. */
  readonly allowUnstarted?: boolean;
}

export interface Injection {
  readonly atSeconds: number;
  /** Region name (settings.regions); with the pooled queue, the pool. */
  readonly region: string;
  readonly count: number;
}

export interface FleetContender {
  readonly name: string;
  readonly kind: 'oracle' | 'policy' | 'pooled';
  /** Required for kind 'policy'. */
  readonly policy?: Policy;
  /** What the policy is told as each region's capacity (default static). */
  readonly capacity?: CapacityMode;
  /** For capacity 'live': how long after a fleet change its setting follows. */
  readonly liveDelaySeconds?: number;
}

/** Per counted message (arrived after the warm-up), in arrival order. */
export interface FleetResult {
  readonly contender: string;
  readonly seed: number;
  readonly executions: number;
  readonly snapshotsTaken: number;
  readonly arrival: Float64Array;
  /** Arrival on the master queue to the dispatch of its batch. */
  readonly masterWait: Float64Array;
  /** Dispatch (arrival in the regional queue) to a worker starting it. */
  readonly regionalWait: Float64Array;
  /** Index in core/request.ts PRIORITIES. */
  readonly priority: Uint8Array;
  /** Index of the region, in configured order. */
  readonly region: Uint8Array;
  /** With stealing or injections only: 1 for a message of an injected backlog. */
  readonly injected?: Uint8Array;
  /** With stealing or injections only: how many times a worker started the message. */
  readonly starts?: Uint8Array;
  /** With stealing or injections only: the region of the worker that stole the message, -1 when not stolen. */
  readonly thief?: Int8Array;
}

const exponential = (mean: number, random: Random) => -mean * Math.log(1 - random());

function drawPriority(mix: PriorityMix, random: Random): number {
  const u = random();
  let acc = 0;
  for (let p = 0; p < PRIORITIES.length; p++) {
    acc += mix[PRIORITIES[p] as Priority];
    if (u < acc) return p;
  }
  return PRIORITIES.indexOf('normal');
}

interface Batcher {
  readonly window: number;
  items: number[];
}

interface Dispatcher extends DispatcherView {
  readings: LaneReading[];
  readAt: number;
}

export function simulateFleet(settings: FleetSettings, contender: FleetContender): FleetResult {
  const { mix, lanes } = settings;
  const total = PRIORITIES.reduce((n, p) => n + mix[p], 0);
  if (Math.abs(total - 1) > 1e-9 || PRIORITIES.some((p) => mix[p] < 0)) throw new Error(`priority shares must be >= 0 and add up to 1, got ${JSON.stringify(mix)}`);
  if (contender.kind === 'oracle' && lanes) throw new Error('the oracle is defined for one FIFO per region (no lanes)');
  if (contender.kind === 'policy' && !contender.policy) throw new Error(`contender ${contender.name} has no policy`);
  const pooled = contender.kind === 'pooled';
  if (pooled && new Set(settings.regions.map((r) => r.meanServiceSeconds)).size > 1) throw new Error('the pooled queue needs one service time for every region');
  if (settings.stealing && contender.kind !== 'policy') throw new Error('stealing is modelled for policy contenders only');
  const window = settings.batchWindowSeconds ?? 1;
  const batchSize = settings.batchSize ?? 10;
  const lag = settings.sqsLagSeconds ?? 0;
  const warmup = settings.warmupSeconds ?? 0;
  const mode = contender.capacity ?? 'static';
  // The streams of tools/bench/sim/model.ts, plus one for priorities.
  const arrivals = seededRandom(settings.seed);
  const sizes = seededRandom(settings.seed ^ 0x2545f491);
  const route = seededRandom(settings.seed ^ 0x68e31da4);
  const choose = seededRandom(settings.seed ^ 0x5bd1e995);
  const priorities = seededRandom(settings.seed ^ 0x7f4a7c15);

  const arrivalAt: number[] = [];
  const priorityOf: number[] = [];
  const sizeOf: number[] = [];
  const dispatchedAt: number[] = [];
  const startedAt: number[] = [];
  const regionOf: number[] = [];
  const extra = settings.stealing !== undefined || settings.injections !== undefined;
  const injectedIds = new Set<number>();
  const startCount: number[] = [];
  const thiefOf: number[] = [];

  const events = new EventQueue();
  const regionSpecs = pooled
    ? [{ workers: settings.regions.reduce((n, r) => n + r.workers, 0), meanServiceSeconds: (settings.regions[0] as SimSettings['regions'][number]).meanServiceSeconds }]
    : settings.regions;
  let stealingOf: ReturnType<typeof stealingFor> | undefined;
  // Built one by one: a region's workers may try to steal while the next regions are being built.
  const regions: LaneRegion[] = [];
  regionSpecs.forEach((spec, i) =>
    regions.push(
      new LaneRegion({
        workers: spec.workers,
        meanServiceSeconds: spec.meanServiceSeconds,
        starvationLimit: lanes?.starvationLimit ?? Number.POSITIVE_INFINITY,
        events,
        onStart: (message, time, stolen) => {
          startedAt[message.id] = time;
          if (extra) {
            startCount[message.id] = (startCount[message.id] ?? 0) + 1;
            if (stolen) thiefOf[message.id] = i;
          }
        },
        ...(settings.stealing ? { stealing: (stealingOf ??= stealingFor(settings, () => regions))(i) } : {}),
      }),
    ),
  );
  const readers: CountReader[] = regions.map((r) => r.log.reader());
  // The live hook's setting: the true worker counts, following each fleet change liveDelaySeconds late.
  const setting = settings.regions.map((r) => r.workers);
  for (const change of settings.fleetChanges ?? []) {
    if (change.workers.length !== settings.regions.length) throw new Error(`a fleet change names ${change.workers.length} regions, not ${settings.regions.length}`);
    if (pooled) events.at(change.atSeconds, () => (regions[0] as LaneRegion).setWorkers(change.workers.reduce((n, w) => n + w, 0), change.atSeconds));
    else events.at(change.atSeconds, () => regions.forEach((r, i) => r.setWorkers(change.workers[i] as number, change.atSeconds)));
    if (mode === 'live') events.at(change.atSeconds + (contender.liveDelaySeconds ?? 0), () => change.workers.forEach((n, i) => (setting[i] = n)));
  }
  const dispatchers: Dispatcher[] = Array.from({ length: Math.max(1, settings.dispatchers ?? 1) }, () => ({
    readings: [],
    readAt: Number.NEGATIVE_INFINITY,
    since: regions.map(() => 0),
    highSince: regions.map(() => 0),
  }));
  let executions = 0;
  let snapshotsTaken = 0;

  const enqueue = (id: number, i: number, now: number) => {
    dispatchedAt[id] = now;
    regionOf[id] = i;
    const lane = lanes ? laneOf(PRIORITIES[priorityOf[id] as number] as Priority) : 'normal';
    (regions[i] as LaneRegion).enqueue({ id, lane, size: sizeOf[id] as number }, now);
  };

  const injectSizes = seededRandom(settings.seed ^ 0x3c6ef372);
  for (const injection of settings.injections ?? []) {
    const i = settings.regions.findIndex((r) => r.region === injection.region);
    if (i < 0) throw new Error(`an injection names ${injection.region}, not a configured region`);
    events.at(injection.atSeconds, () => {
      for (let k = 0; k < injection.count; k++) {
        const id = arrivalAt.length;
        arrivalAt.push(injection.atSeconds);
        priorityOf.push(PRIORITIES.indexOf('normal'));
        sizeOf.push(exponential(1, injectSizes));
        injectedIds.add(id);
        enqueue(id, pooled ? 0 : i, injection.atSeconds);
      }
    });
  }

  const dispatch = (now: number, batch: readonly number[]) => {
    executions++;
    if (pooled) {
      const order = [...batch].sort((a, b) => (priorityOf[a] as number) - (priorityOf[b] as number));
      for (const id of order) enqueue(id, 0, now);
      return;
    }
    if (contender.kind === 'oracle') {
      const order = [...batch].sort((a, b) => (priorityOf[a] as number) - (priorityOf[b] as number));
      for (const id of order) {
        let best = 0;
        let bestWait = Number.POSITIVE_INFINITY;
        let bestWork = Number.POSITIVE_INFINITY;
        regions.forEach((r, i) => {
          const { wait, workPerWorker } = r.projection(now);
          if (wait < bestWait - 1e-12 || (Math.abs(wait - bestWait) <= 1e-12 && workPerWorker < bestWork)) {
            best = i;
            bestWait = wait;
            bestWork = workPerWorker;
          }
        });
        enqueue(id, best, now);
      }
      return;
    }
    const d = dispatchers[dispatchers.length === 1 ? 0 : Math.floor(route() * dispatchers.length)] as Dispatcher;
    if (!d.readings.length || now - d.readAt >= settings.cacheTtlSeconds - 1e-9) {
      const at = now - lag;
      d.readings = settings.regions.map((r, i) => ({ region: r.region, counts: (readers[i] as CountReader).at(at), readAt: now }));
      d.readAt = now;
      d.since.fill(0);
      d.highSince.fill(0);
      snapshotsTaken++;
    }
    const capacities = settings.regions.map((r, i) => {
      const { high, normal } = (d.readings[i] as LaneReading).counts;
      const facts = { region: r.region, configured: r.capacity, setting: setting[i] as number, inFlight: high.inFlight + normal.inFlight, waiting: high.visible + normal.visible };
      return { region: r.region, capacity: capacityFor(mode, facts) };
    });
    const choices = placeBatch(d, {
      priorities: batch.map((id) => PRIORITIES[priorityOf[id] as number] as Priority),
      lanes: lanes !== undefined,
      policy: contender.policy as Policy,
      capacities,
      configured: settings.regions.map((r) => ({ region: r.region, capacity: r.capacity })),
      maxQueueDepthThreshold: settings.maxQueueDepthThreshold,
      random: choose,
      ageSeconds: now - d.readAt,
    });
    batch.forEach((id, k) => enqueue(id, choices[k] as number, now));
  };

  // The event sources: one, or one per lane; a batch closes when full or when its first message has
  // waited its window.
  const perLane = lanes?.masterQueues === 'per-lane';
  // Each event source has `pollers` pollers, each gathering its own batch from a random share of the
  // arrivals (tools/bench/batching.ts; the same draws as tools/bench/sim/model.ts).
  const pollers = Math.max(1, settings.pollers ?? 1);
  const toPoller = seededRandom(settings.seed ^ 0x1b873593);
  const windows = perLane ? [lanes.highBatchWindowSeconds, window] : [window];
  const batchers: Batcher[] = windows.flatMap((w) => Array.from({ length: pollers }, () => ({ window: w, items: [] })));
  const batcherOf = (p: number) =>
    (perLane && laneOf(PRIORITIES[p] as Priority) !== 'high' ? pollers : 0) + (pollers === 1 ? 0 : Math.floor(toPoller() * pollers));
  const meanGap = 1 / settings.arrivalsPerSecond;
  let nextArrival = exponential(meanGap, arrivals);
  for (;;) {
    let closing: Batcher | undefined;
    let windowEnd = Number.POSITIVE_INFINITY;
    for (const b of batchers) {
      const end = b.items.length ? (arrivalAt[b.items[0] as number] as number) + b.window : Number.POSITIVE_INFINITY;
      if (end < windowEnd) [closing, windowEnd] = [b, end];
    }
    const arriving = nextArrival <= settings.durationSeconds && nextArrival < windowEnd;
    if (!arriving && !closing) break;
    const now = arriving ? nextArrival : windowEnd;
    events.runUntil(now);
    if (arriving) {
      const id = arrivalAt.length;
      arrivalAt.push(now);
      priorityOf.push(drawPriority(mix, priorities));
      sizeOf.push(exponential(1, sizes));
      const b = batchers[batcherOf(priorityOf[id] as number)] as Batcher;
      b.items.push(id);
      if (b.items.length >= batchSize) {
        dispatch(now, b.items);
        b.items = [];
      }
      nextArrival += exponential(meanGap, arrivals);
    } else {
      const b = closing as Batcher;
      dispatch(now, b.items);
      b.items = [];
    }
  }
  events.runUntil(Number.POSITIVE_INFINITY);

  const first = arrivalAt.findIndex((t) => t >= warmup);
  const ids = first < 0 ? [] : arrivalAt.map((_, id) => id).slice(first);
  return {
    contender: contender.name,
    seed: settings.seed,
    executions,
    snapshotsTaken,
    arrival: Float64Array.from(ids, (id) => arrivalAt[id] as number),
    masterWait: Float64Array.from(ids, (id) => (dispatchedAt[id] as number) - (arrivalAt[id] as number)),
    regionalWait: Float64Array.from(ids, (id) => {
      const started = startedAt[id];
      if (started === undefined) {
        if (settings.allowUnstarted) return Number.POSITIVE_INFINITY;
        throw new Error(`message ${id} was never started`);
      }
      return started - (dispatchedAt[id] as number);
    }),
    priority: Uint8Array.from(ids, (id) => priorityOf[id] as number),
    region: Uint8Array.from(ids, (id) => regionOf[id] as number),
    ...(extra
      ? {
          injected: Uint8Array.from(ids, (id) => (injectedIds.has(id) ? 1 : 0)),
          starts: Uint8Array.from(ids, (id) => startCount[id] ?? 0),
          thief: Int8Array.from(ids, (id) => thiefOf[id] ?? -1),
        }
      : {}),
  };
}
