/**
 * An event-driven simulation of the dispatch, driving the REAL selection code (core/policy.ts through
 * regionLoads and Reading shapes from core/snapshot.ts). Seeded: the same settings give the same figures.
 *
 * - Arrivals on the master queue are a Poisson process, shared at random among the event source's
 *   `pollers`. Each poller closes its batch when it holds `batchSize` messages or when its first message
 *   has waited `batchWindowSeconds` (tools/bench/batching.ts, the model the cost model shares; the
 *   deployed subscription: 10 messages, 20 s, 5 pollers); each batch is one execution, handled by one of
 *   `dispatchers` containers drawn at random.
 * - Each dispatcher has its OWN cached reading (refreshed when it is CACHE_TTL old and a batch comes in,
 *   as functions/snapshot.ts caches per container) and its OWN count of what it placed since that
 *   reading (functions/select.ts): it never sees the other dispatchers' placements.
 * - SQS's approximate counts lag: a reading taken at t reports the queues as they were at t - lag.
 *   `ageSeconds` given to the policy is the time since the read call, as core/select.ts computes it.
 * - Each region is a FIFO queue served by `workers` workers; a request's service time is
 *   meanServiceSeconds x an Exp(1) size drawn per request from its own stream, so every policy sees the
 *   same arrivals and the same work. The start time of a request is fixed when it is enqueued (the
 *   earliest-free worker after everything ahead of it), so its wait is exact and known at once.
 * - The clairvoyant ORACLE places each message where its exact wait is shortest, seeing the true queues
 *   and the service times of the work ahead at that instant. With equal per-worker speed it is exactly
 *   one pooled M/M/c FIFO queue over all workers: the best any placement can do for each message.
 * - The PERFECT-INFORMATION oracle (kind 'informed') sees every queue exactly as it is now (waiting and
 *   in service, its own placements of the batch included) and each region's workers and mean service
 *   time, but not the service times themselves: it places each message where its expected wait is
 *   shortest, (n - c + 1) x mean / c with n requests in a region of c workers (exact for exponential
 *   service); among regions with no wait, the one with the fewest requests per worker. The best any
 *   dispatcher could do without foresight.
 * - Wait = from the message's arrival in the regional queue to a worker starting it (the queueing wait);
 *   end to end = from its arrival in the master queue, batching included. Messages that arrived on the
 *   master queue before `warmupSeconds` are placed but not counted.
 */
import { regionLoads, type Policy } from '../../../core/policy.js';
import { seededRandom, type Random } from '../../../core/random.js';
import type { Reading } from '../../../core/snapshot.js';
import { EventSourceBatcher } from '../batching.js';
import { summarize, type Summary } from '../stats.js';

export interface SimRegion {
  readonly region: string;
  readonly workers: number;
  readonly meanServiceSeconds: number;
  /** What the configuration (REGION_QUEUES capacity) tells the policies; may differ from real throughput. */
  readonly capacity: number;
}

export interface SimSettings {
  readonly regions: readonly SimRegion[];
  readonly arrivalsPerSecond: number;
  /** Simulated seconds of arrivals. */
  readonly durationSeconds: number;
  /** Arrivals before this are placed but not counted (the queues start empty). */
  readonly warmupSeconds?: number;
  readonly cacheTtlSeconds: number;
  readonly maxQueueDepthThreshold: number;
  readonly seed: number;
  /** Dispatching containers, each with its own cached reading and placed-since counts (default 1). */
  readonly dispatchers?: number;
  /** SQS's approximate counts show the queues as they were this long before the call (default 0). */
  readonly sqsLagSeconds?: number;
  /** The event source's batching window (default 1 s); 0 sends every message at once. */
  readonly batchWindowSeconds?: number;
  /** Largest batch (default 10). */
  readonly batchSize?: number;
  /**
   * Readings exactly this old at every placement (instead of a CACHE_TTL cache): each batch is placed on
   * a reading whose call was made this long before (then SQS's lag on top), with the dispatcher's own
   * placements since that call. For a scenario whose readings must really be stale.
   */
  readonly readingAgeSeconds?: number;
  /** Event source pollers, each gathering its own batch from a random share of the arrivals (default 1). */
  readonly pollers?: number;
}

export interface Contender {
  readonly name: string;
  /** oracle: clairvoyant, exact waits, true queues; informed: perfect current information, no foresight; reference: shipped code on true counts; real: core/policy.ts as deployed; what-if: not shipped; baseline: tools/bench/sim/baselines.ts. */
  readonly kind: 'oracle' | 'informed' | 'reference' | 'real' | 'what-if' | 'baseline';
  /** Required unless kind is oracle or informed. */
  readonly policy?: Policy;
  /** Give the policy what its dispatcher placed since the reading, as functions/select.ts does (default true). */
  readonly countSinceSnapshot?: boolean;
  /**
   * A reference, not a deployment: one dispatcher reading the true counts at every batch (no cache, no
   * SQS lag), so only the policy itself and its lack of clairvoyance separate it from the oracle.
   */
  readonly freshInformation?: boolean;
  /** Tell the policy the true SQS lag and service time (PolicyInput readingLagSeconds, serviceSeconds), as a deployment could. */
  readonly told?: boolean;
}

export interface RegionResult {
  readonly region: string;
  readonly requests: number;
  readonly share: number;
  /** Share of the real throughput (workers / mean service time). */
  readonly capacityShare: number;
  /** Longest queue of waiting requests seen at a dispatch. */
  readonly maxDepth: number;
  readonly p99Wait: number;
}

export interface SimResult {
  readonly contender: string;
  readonly kind: Contender['kind'];
  /** Counted requests (arrived after the warm-up). */
  readonly requests: number;
  readonly executions: number;
  /** Messages placed, counted or not (messages / executions: the mean batch). */
  readonly messages: number;
  /** Readings taken over all dispatchers (each one GetQueueAttributes call per region). */
  readonly snapshotsTaken: number;
  /** Mean age of the information behind a placement: time since the read call plus the SQS lag. */
  readonly meanInformationAge: number;
  /** Queueing wait: arrival in the regional queue to a worker starting the request. */
  readonly wait: Summary;
  /** End to end: arrival in the master queue to a worker starting the request (batching included). */
  readonly endToEnd: Summary;
  /** Batching alone: arrival in the master queue to the batch's execution. */
  readonly batching: Summary;
  /** Share of counted requests that waited at all (M/M/c: the Erlang C probability). */
  readonly waitedShare: number;
  readonly regions: readonly RegionResult[];
}

/** A binary min-heap of numbers. */
class MinHeap {
  private items: number[] = [];
  get size() {
    return this.items.length;
  }
  peek(): number {
    return this.items[0] as number;
  }
  push(value: number) {
    const a = this.items;
    a.push(value);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((a[parent] as number) <= value) break;
      a[i] = a[parent] as number;
      i = parent;
    }
    a[i] = value;
  }
  pop(): number {
    const a = this.items;
    const top = a[0] as number;
    const last = a.pop() as number;
    if (a.length) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const r = l + 1;
        const c = r < a.length && (a[r] as number) < (a[l] as number) ? r : l;
        if ((a[c] as number) >= last) break;
        a[i] = a[c] as number;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

/** Counts of one region's queue as seen at a time that only moves forward. */
class Observer {
  private enqueued = 0;
  private started = 0;
  private ended = 0;
  private readonly ends = new MinHeap();
  constructor(private readonly region: RegionState) {}
  noteEnd(end: number) {
    this.ends.push(end);
  }
  /** Counts at time `at` (never earlier than a previous call). */
  advance(at: number): { visible: number; inFlight: number } {
    const { enqueueTimes, startTimes } = this.region;
    while (this.enqueued < enqueueTimes.length && (enqueueTimes[this.enqueued] as number) <= at) this.enqueued++;
    while (this.started < startTimes.length && (startTimes[this.started] as number) <= at) this.started++;
    while (this.ends.size && this.ends.peek() <= at) {
      this.ends.pop();
      this.ended++;
    }
    return { visible: this.enqueued - this.started, inFlight: this.started - this.ended };
  }
}

class RegionState {
  /** When each worker is free of everything already queued (the queue's exact future, FIFO). */
  readonly freeAt: Float64Array;
  /** Enqueue and start times in enqueue order; both ascending (FIFO, earliest-free worker). */
  readonly enqueueTimes: number[] = [];
  readonly startTimes: number[] = [];
  readonly waits: number[] = [];
  readonly observers: Observer[] = [];
  requests = 0;
  maxDepth = 0;
  constructor(readonly spec: SimRegion) {
    this.freeAt = new Float64Array(spec.workers);
  }
  observer(): Observer {
    const o = new Observer(this);
    this.observers.push(o);
    return o;
  }
  private earliestWorker(): number {
    let w = 0;
    for (let i = 1; i < this.freeAt.length; i++) if ((this.freeAt[i] as number) < (this.freeAt[w] as number)) w = i;
    return w;
  }
  /** The exact wait a request enqueued now would have. */
  waitIfEnqueued(now: number): number {
    return Math.max(0, (this.freeAt[this.earliestWorker()] as number) - now);
  }
  /** Work still ahead per worker (seconds): the oracle's tie-breaker among regions with no wait. */
  workPerWorker(now: number): number {
    let total = 0;
    for (const t of this.freeAt) total += Math.max(0, t - now);
    return total / this.freeAt.length;
  }
  /** Enqueues a request of the given size (in mean service times); returns its wait. */
  enqueue(now: number, size: number): number {
    const w = this.earliestWorker();
    const start = Math.max(now, this.freeAt[w] as number);
    const end = start + size * this.spec.meanServiceSeconds;
    this.freeAt[w] = end;
    this.enqueueTimes.push(now);
    this.startTimes.push(start);
    for (const o of this.observers) o.noteEnd(end);
    return start - now;
  }
}

interface Dispatcher {
  readings: Array<Extract<Reading, { known: true }>> | undefined;
  readAt: number;
  readonly since: number[];
  /** With a fixed reading age: this dispatcher's placements (time, region) not yet older than the age. */
  readonly recent: Array<readonly [number, number]>;
}

const exponential = (mean: number, random: Random) => -mean * Math.log(1 - random());

/** The oracle's choice: the shortest exact wait; among equal ones (no wait), the least work ahead per worker. */
function oracleChoice(regions: readonly RegionState[], now: number): number {
  let best = 0;
  let bestWait = Number.POSITIVE_INFINITY;
  let bestWork = Number.POSITIVE_INFINITY;
  regions.forEach((r, i) => {
    const wait = r.waitIfEnqueued(now);
    const work = r.workPerWorker(now);
    if (wait < bestWait - 1e-12 || (Math.abs(wait - bestWait) <= 1e-12 && work < bestWork)) {
      best = i;
      bestWait = wait;
      bestWork = work;
    }
  });
  return best;
}

export function simulate(given: SimSettings, contender: Contender): SimResult {
  const settings: SimSettings = contender.freshInformation ? { ...given, cacheTtlSeconds: 0, sqsLagSeconds: 0, dispatchers: 1 } : given;
  if (contender.kind !== 'oracle' && contender.kind !== 'informed' && !contender.policy) throw new Error(`contender ${contender.name} has no policy`);
  const window = settings.batchWindowSeconds ?? 1;
  const batchSize = settings.batchSize ?? 10;
  const lag = settings.sqsLagSeconds ?? 0;
  const warmup = settings.warmupSeconds ?? 0;
  const countSince = contender.countSinceSnapshot ?? true;
  const meanService = settings.regions.reduce((n, r) => n + r.workers * r.meanServiceSeconds, 0) / settings.regions.reduce((n, r) => n + r.workers, 0);
  // Separate streams: every contender sees the same arrivals, sizes and routing to dispatchers.
  const arrivals = seededRandom(settings.seed);
  const sizes = seededRandom(settings.seed ^ 0x2545f491);
  const route = seededRandom(settings.seed ^ 0x68e31da4);
  const choose = seededRandom(settings.seed ^ 0x5bd1e995);

  const regions = settings.regions.map((spec) => new RegionState(spec));
  const lagged = regions.map((r) => r.observer());
  const current = lag > 0 ? regions.map((r) => r.observer()) : lagged;
  const exact = contender.kind === 'informed' ? regions.map((r) => r.observer()) : [];
  const index = new Map(settings.regions.map((r, i) => [r.region, i]));
  const configured = settings.regions.map(({ region, capacity }) => ({ region, capacity }));
  const dispatchers: Dispatcher[] = Array.from({ length: Math.max(1, settings.dispatchers ?? 1) }, () => ({
    readings: undefined,
    readAt: Number.NEGATIVE_INFINITY,
    since: regions.map(() => 0),
    recent: [],
  }));
  const fixedAge = settings.readingAgeSeconds;
  const waits: number[] = [];
  const endToEnd: number[] = [];
  const batching: number[] = [];
  let executions = 0;
  let snapshotsTaken = 0;
  let ageSum = 0;
  let placed = 0;

  let messages = 0;
  const dispatch = (now: number, batch: readonly number[]) => {
    executions++;
    messages += batch.length;
    // Depth of the waiting queues as they really are (for the max-depth column).
    regions.forEach((r, i) => {
      r.maxDepth = Math.max(r.maxDepth, (current[i] as Observer).advance(now).visible);
    });
    const choices: number[] = [];
    const batchWaits: number[] = [];
    if (contender.kind === 'oracle') {
      for (let k = 0; k < batch.length; k++) {
        const i = oracleChoice(regions, now);
        // Placed at once, so the next message of the batch sees it.
        batchWaits.push((regions[i] as RegionState).enqueue(now, exponential(1, sizes)));
        choices.push(i);
      }
    } else if (contender.kind === 'informed') {
      for (let k = 0; k < batch.length; k++) {
        let best = 0;
        let bestWait = Number.POSITIVE_INFINITY;
        let bestPerWorker = Number.POSITIVE_INFINITY;
        regions.forEach((r, i) => {
          const { visible, inFlight } = (exact[i] as Observer).advance(now);
          const n = visible + inFlight;
          const c = r.spec.workers;
          const wait = n < c ? 0 : ((n - c + 1) * r.spec.meanServiceSeconds) / c;
          const perWorker = (n + 1) / c;
          if (wait < bestWait - 1e-12 || (Math.abs(wait - bestWait) <= 1e-12 && perWorker < bestPerWorker)) {
            best = i;
            bestWait = wait;
            bestPerWorker = perWorker;
          }
        });
        batchWaits.push((regions[best] as RegionState).enqueue(now, exponential(1, sizes)));
        choices.push(best);
      }
    } else {
      const d = dispatchers[dispatchers.length === 1 ? 0 : Math.floor(route() * dispatchers.length)] as Dispatcher;
      if (fixedAge !== undefined) {
        // A reading whose call was made exactly fixedAge ago; placed-since: this dispatcher's placements after it.
        const readAt = now - fixedAge;
        d.readings = regions.map((r, i) => ({ region: r.spec.region, known: true as const, ...(lagged[i] as Observer).advance(readAt - lag), delayed: 0, readAt }));
        d.readAt = readAt;
        let drop = 0;
        while (drop < d.recent.length && (d.recent[drop] as readonly [number, number])[0] < readAt) drop++;
        d.recent.splice(0, drop);
        d.since.fill(0);
        for (const [, i] of d.recent) d.since[i] = (d.since[i] as number) + 1;
        snapshotsTaken++;
      } else if (!d.readings || now - d.readAt >= settings.cacheTtlSeconds - 1e-9) {
        const at = now - lag;
        d.readings = regions.map((r, i) => ({ region: r.spec.region, known: true as const, ...(lagged[i] as Observer).advance(at), delayed: 0, readAt: now }));
        d.readAt = now;
        d.since.fill(0);
        snapshotsTaken++;
      }
      const since = new Map(countSince ? settings.regions.map((r, i) => [r.region, d.since[i] as number] as const).filter(([, n]) => n > 0) : []);
      const names = (contender.policy as Policy)(batch.length, {
        regions: regionLoads(configured, d.readings, since),
        maxQueueDepthThreshold: settings.maxQueueDepthThreshold,
        random: choose,
        ageSeconds: now - d.readAt,
        ...(contender.freshInformation ? { readingLagSeconds: 0 } : {}),
        ...(contender.told ? { readingLagSeconds: lag, serviceSeconds: meanService } : {}),
      });
      if (names.length !== batch.length) throw new Error(`${contender.name} returned ${names.length} choices for ${batch.length} messages`);
      for (const name of names) {
        const i = index.get(name);
        if (i === undefined) throw new Error(`${contender.name} chose "${name}", which is not a simulated region`);
        d.since[i] = (d.since[i] as number) + 1;
        if (fixedAge !== undefined) d.recent.push([now, i]);
        batchWaits.push((regions[i] as RegionState).enqueue(now, exponential(1, sizes)));
        choices.push(i);
      }
      ageSum += (now - d.readAt + lag) * batch.length;
      placed += batch.length;
    }
    choices.forEach((i, k) => {
      if ((batch[k] as number) < warmup) return;
      const region = regions[i] as RegionState;
      const w = batchWaits[k] as number;
      region.requests++;
      region.waits.push(w);
      waits.push(w);
      batching.push(now - (batch[k] as number));
      endToEnd.push(now - (batch[k] as number) + w);
    });
  };

  // The event source (tools/bench/batching.ts): each arrival goes to a poller at random; a poller's batch
  // closes when full or when its first message has waited the window.
  const pollers = Math.max(1, settings.pollers ?? 1);
  const toPoller = seededRandom(settings.seed ^ 0x1b873593);
  const batcher = new EventSourceBatcher({ windowSeconds: window, maxBatch: batchSize, pollers }, dispatch);
  const meanGap = 1 / settings.arrivalsPerSecond;
  for (let t = exponential(meanGap, arrivals); t <= settings.durationSeconds; t += exponential(meanGap, arrivals)) {
    batcher.add(t, pollers === 1 ? 0 : Math.floor(toPoller() * pollers));
  }
  batcher.flush();

  const requests = waits.length;
  const throughput = settings.regions.map((r) => r.workers / r.meanServiceSeconds);
  const totalThroughput = throughput.reduce((a, b) => a + b, 0);
  return {
    contender: contender.name,
    kind: contender.kind,
    requests,
    executions,
    messages,
    snapshotsTaken,
    meanInformationAge: placed ? ageSum / placed : 0,
    wait: summarize(waits),
    endToEnd: summarize(endToEnd),
    batching: summarize(batching),
    waitedShare: requests ? waits.filter((w) => w > 0).length / requests : 0,
    regions: regions.map((r, i) => ({
      region: r.spec.region,
      requests: r.requests,
      share: requests ? r.requests / requests : 0,
      capacityShare: (throughput[i] as number) / totalThroughput,
      maxDepth: r.maxDepth,
      p99Wait: summarize(r.waits).p99,
    })),
  };
}
