/**
 * A discrete-time simulation of the dispatch, driving the REAL selection code (core/policy.ts through
 * regionLoads and Reading shapes from core/snapshot.ts). Seeded: the same settings give the same figures.
 *
 * Each tick (0.1 s): Poisson arrivals land on the master queue; the event source emits full batches of
 * 10 at once and a partial batch once its oldest message has waited the batching window; every batch is
 * one execution, and all executions read ONE shared snapshot of queue depths (visible + in flight),
 * refreshed only when it is CACHE_TTL old, as functions/snapshot.ts caches it. Each region is a FIFO
 * queue served by `workers` workers with exponential service times; the wait of a request is the time
 * from its arrival in the regional queue to a worker starting it. After the arrival phase the queues
 * drain, so every request's wait is exact (FIFO: later arrivals never change an earlier one's wait).
 */
import { regionLoads, type Policy } from '../../core/policy.js';
import { seededRandom, type Random } from '../../core/random.js';
import type { Reading } from '../../core/snapshot.js';
import { summarize, type Summary } from '../stats.js';

export interface SimRegion {
  readonly region: string;
  readonly workers: number;
  readonly meanServiceSeconds: number;
  /** What the configuration (REGION_QUEUES capacity) tells the policies; may differ from real throughput. */
  readonly capacity: number;
  /** Requests already queued at t = 0 (not counted in the results). */
  readonly initialBacklog?: number;
}

export interface SimSettings {
  readonly regions: readonly SimRegion[];
  readonly arrivalsPerSecond: number;
  readonly durationSeconds: number;
  readonly cacheTtlSeconds: number;
  readonly maxQueueDepthThreshold: number;
  readonly seed: number;
  readonly tickSeconds?: number;
  readonly batchWindowSeconds?: number;
  readonly batchSize?: number;
}

export interface Contender {
  readonly name: string;
  /** real: core/policy.ts as shipped; what-if: real code fed different input; baseline: bench/sim/baselines.ts. */
  readonly kind: 'real' | 'what-if' | 'baseline';
  readonly policy: Policy;
  /** Add to each reading what was dispatched since it was taken, as functions/select.ts does per container. */
  readonly countSinceSnapshot?: boolean;
}

export interface RegionResult {
  readonly region: string;
  readonly requests: number;
  readonly share: number;
  /** Share of the real throughput (workers / mean service time). */
  readonly capacityShare: number;
  /** Longest queue of waiting requests seen (not counting those being served). */
  readonly maxDepth: number;
  readonly p95Wait: number;
}

export interface SimResult {
  readonly contender: string;
  readonly kind: Contender['kind'];
  readonly requests: number;
  readonly executions: number;
  readonly snapshotsTaken: number;
  readonly wait: Summary;
  /** Requests sent to a region whose true backlog was at or over MAX_QUEUE_DEPTH_THRESHOLD. */
  readonly overThreshold: number;
  /** Requests still waiting when arrivals stopped. */
  readonly backlogAtEnd: number;
  readonly regions: readonly RegionResult[];
}

/** A FIFO of enqueue times; `tracked` is false for the pre-existing backlog of a hot start. */
class Fifo {
  private times: number[] = [];
  private tracked: boolean[] = [];
  private head = 0;
  get length() {
    return this.times.length - this.head;
  }
  push(time: number, tracked: boolean) {
    this.times.push(time);
    this.tracked.push(tracked);
  }
  peek(): number {
    return this.times[this.head] as number;
  }
  shift(): boolean {
    const tracked = this.tracked[this.head] as boolean;
    this.head += 1;
    if (this.head > 4096 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.tracked = this.tracked.slice(this.head);
      this.head = 0;
    }
    return tracked;
  }
}

class RegionState {
  readonly queue = new Fifo();
  readonly freeAt: number[];
  readonly waits: number[] = [];
  requests = 0;
  maxDepth = 0;
  constructor(
    readonly spec: SimRegion,
    private readonly random: Random,
  ) {
    this.freeAt = Array.from({ length: spec.workers }, () => 0);
    for (let i = 0; i < (spec.initialBacklog ?? 0); i++) this.queue.push(0, false);
  }
  busy(now: number): number {
    let n = 0;
    for (const t of this.freeAt) if (t > now) n++;
    return n;
  }
  /** Workers start queued requests whose start time falls before `limit`. */
  serve(limit: number, onWait: (wait: number) => void) {
    while (this.queue.length) {
      let w = 0;
      for (let i = 1; i < this.freeAt.length; i++) if ((this.freeAt[i] as number) < (this.freeAt[w] as number)) w = i;
      const start = Math.max(this.freeAt[w] as number, this.queue.peek());
      if (!(start < limit)) return;
      const enqueuedAt = this.queue.peek();
      if (this.queue.shift()) {
        this.waits.push(start - enqueuedAt);
        onWait(start - enqueuedAt);
      }
      this.freeAt[w] = start - this.spec.meanServiceSeconds * Math.log(1 - this.random());
    }
  }
  reading(now: number): Extract<Reading, { known: true }> {
    return { region: this.spec.region, known: true, visible: this.queue.length, inFlight: this.busy(now), delayed: 0, readAt: now };
  }
}

function poisson(mean: number, random: Random): number {
  const limit = Math.exp(-mean);
  let k = 0;
  let p = random();
  while (p > limit) {
    k++;
    p *= random();
  }
  return k;
}

export function simulate(settings: SimSettings, contender: Contender): SimResult {
  const dt = settings.tickSeconds ?? 0.1;
  const windowSeconds = settings.batchWindowSeconds ?? 0.5;
  const batchSize = settings.batchSize ?? 10;
  const arrivals = seededRandom(settings.seed);
  const choose = seededRandom(settings.seed ^ 0x5bd1e995);
  const regions = settings.regions.map((spec, i) => new RegionState(spec, seededRandom(settings.seed * 7919 + 101 * (i + 1))));
  const index = new Map(settings.regions.map((r, i) => [r.region, i]));
  const configured = settings.regions.map(({ region, capacity }) => ({ region, capacity }));
  const waits: number[] = [];
  const collect = (wait: number) => waits.push(wait);

  let pending = 0;
  let oldestPendingAt = 0;
  let snapshot: Array<Extract<Reading, { known: true }>> | undefined;
  let snapshotAt = Number.NEGATIVE_INFINITY;
  let snapshotsTaken = 0;
  const sinceSnapshot = regions.map(() => 0);
  let executions = 0;
  let overThreshold = 0;

  const dispatch = (size: number, now: number) => {
    // Executions of the same tick run concurrently: they read one snapshot even with CACHE_TTL 0.
    if (!snapshot || (now > snapshotAt && now - snapshotAt >= settings.cacheTtlSeconds - 1e-9)) {
      snapshot = regions.map((r) => r.reading(now));
      snapshotAt = now;
      snapshotsTaken++;
      sinceSnapshot.fill(0);
    }
    const since = contender.countSinceSnapshot
      ? new Map(settings.regions.map((r, i) => [r.region, sinceSnapshot[i] as number]))
      : new Map<string, number>();
    const choices = contender.policy(size, {
      regions: regionLoads(configured, snapshot, since),
      maxQueueDepthThreshold: settings.maxQueueDepthThreshold,
      random: choose,
      ageSeconds: now - snapshotAt,
    });
    executions++;
    for (const region of choices) {
      const i = index.get(region);
      const state = i === undefined ? undefined : regions[i];
      if (i === undefined || !state) throw new Error(`${contender.name} chose unknown region ${region}`);
      if (state.queue.length + state.busy(now) >= settings.maxQueueDepthThreshold) overThreshold++;
      state.queue.push(now, true);
      state.requests++;
      sinceSnapshot[i] = (sinceSnapshot[i] as number) + 1;
    }
  };

  const ticks = Math.round(settings.durationSeconds / dt);
  let backlogAtEnd = 0;
  for (let k = 0; k <= ticks; k++) {
    const now = k * dt;
    const last = k === ticks;
    if (k > 0) {
      const n = poisson(settings.arrivalsPerSecond * dt, arrivals);
      if (n && pending === 0) oldestPendingAt = now;
      pending += n;
    }
    while (pending >= batchSize) {
      dispatch(batchSize, now);
      pending -= batchSize;
    }
    if (pending > 0 && (last || now - oldestPendingAt >= windowSeconds - 1e-9)) {
      dispatch(pending, now);
      pending = 0;
    }
    for (const r of regions) {
      r.serve(now + 1e-9, collect);
      r.maxDepth = Math.max(r.maxDepth, r.queue.length);
      if (!last) r.serve(now + dt, collect);
    }
    if (last) backlogAtEnd = regions.reduce((n, r) => n + r.queue.length, 0);
  }
  for (const r of regions) r.serve(Number.POSITIVE_INFINITY, collect);

  const requests = regions.reduce((n, r) => n + r.requests, 0);
  const throughput = settings.regions.map((r) => r.workers / r.meanServiceSeconds);
  const totalThroughput = throughput.reduce((a, b) => a + b, 0);
  return {
    contender: contender.name,
    kind: contender.kind,
    requests,
    executions,
    snapshotsTaken,
    wait: summarize(waits),
    overThreshold,
    backlogAtEnd,
    regions: regions.map((r, i) => ({
      region: r.spec.region,
      requests: r.requests,
      share: requests ? r.requests / requests : 0,
      capacityShare: (throughput[i] as number) / totalThroughput,
      maxDepth: r.maxDepth,
      p95Wait: summarize(r.waits).p95,
    })),
  };
}
