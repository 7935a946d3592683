/**
 * Selection policies: which region each message of a batch goes to. Pure code, no AWS import, with
 * injectable randomness so that tests and the simulation (bench/) replay exactly.
 *
 * - `seed-inverse`: the original system's policy, kept reproducible: depth = messages visible in the
 *   queue (ApproximateNumberOfMessages, as the original read it), weight = max(1, maxDepth - depth + 1),
 *   one independent weighted draw per message.
 * - `least-wait` (default): each message goes where its expected wait is shortest, counting what the
 *   reading showed (waiting and in flight), what this container placed since, and each assignment of the
 *   batch before the next. Workers per region are read off the reading itself (a region with messages
 *   waiting has every worker busy: its in-flight count is its worker count), so regions with idle workers
 *   come first. Readings are old (CACHE_TTL, SQS's own lag) and other containers place messages this one
 *   never sees: once those unseen placements come to a full batch or more, choosing the shortest queue
 *   would herd every container onto it, so the message is drawn in proportion to how the unseen messages
 *   plus this one would best be spread over the queues as read (water-filling; "load interpretation",
 *   Dahlin 2000). Figures: tools/bench/policy.ts, docs/benchmarks.md.
 */
import type { PolicyName } from './config.js';
import { weightedIndex, type Random } from './random.js';
import { backlog, type Reading } from './snapshot.js';
import { SQS_BATCH_SIZE } from './topology.js';

export interface RegionLoad {
  readonly region: string;
  readonly capacity: number;
  /** Messages queued, in flight or delayed per the snapshot, plus those placed since; undefined when unread. */
  readonly backlog: number | undefined;
  /** Of which placed since the snapshot (an estimate that never sees work complete). */
  readonly placedSince?: number;
  /** Of which in flight per the reading (ApproximateNumberOfMessagesNotVisible: being processed); absent when none. */
  readonly inFlight?: number;
  /** Of which delayed per the reading (ApproximateNumberOfMessagesDelayed); absent when none. */
  readonly delayed?: number;
  /** Workers, when known from a wider view than this load (a lane's: core/lanes.ts); else estimated. */
  readonly workers?: number;
}

export interface PolicyInput {
  /** Regions in configured order. */
  readonly regions: readonly RegionLoad[];
  readonly maxQueueDepthThreshold: number;
  readonly random: Random;
  /** How old the readings are (the snapshot is cached for CACHE_TTL); 0 when unknown. */
  readonly ageSeconds?: number;
  /** How far SQS's approximate counts trail the queues, in seconds; READING_LAG_SECONDS when absent. */
  readonly readingLagSeconds?: number;
  /** Typical seconds a worker spends on one request; SERVICE_SECONDS when absent. */
  readonly serviceSeconds?: number;
}

/**
 * Assumed lag of SQS's approximate counts behind the queues. AWS gives no figure (the counts are
 * "approximate", eventually consistent); tools/bench/policy.ts --sqs-lag shows what a longer lag costs.
 */
export const READING_LAG_SECONDS = 2;

/**
 * Assumed seconds per request, used only to estimate how many messages arrived since the reading
 * (busy workers / seconds per request = arrivals per second in steady state). Requests of 2 s or 60 s
 * placed under this 10 s assumption did no measurably worse than told the truth (docs/benchmarks.md).
 */
export const SERVICE_SECONDS = 10;

/**
 * Unseen placements below which the shortest wait wins outright: one full batch, what a single
 * execution places on one reading anyway. Beyond it, other containers acting on readings like this one
 * could have sent batches to the same region. Chosen by simulation: a threshold of 1 cost the 1:2:4
 * fleet about 5% of p99 wait; 16 let a 70-worker fleet herd when SQS's counts trail by 5 s.
 */
export const HERD_THRESHOLD = SQS_BATCH_SIZE;

/** Chooses a region for each of `count` messages, in order. Never returns an empty choice if regions exist. */
export type Policy = (count: number, input: PolicyInput) => string[];

/**
 * Joins configured regions with their readings (plus what was dispatched since them); a region missing
 * from the snapshot counts as unread.
 */
export function regionLoads(
  regions: ReadonlyArray<{ region: string; capacity: number }>,
  readings: readonly Reading[],
  dispatchedSince: ReadonlyMap<string, number> = new Map(),
): RegionLoad[] {
  return regions.map(({ region, capacity }) => {
    const reading = readings.find((r) => r.region === region);
    const since = dispatchedSince.get(region) ?? 0;
    if (!reading?.known) return { region, capacity, backlog: undefined, ...(since ? { placedSince: since } : {}) };
    return {
      region,
      capacity,
      backlog: backlog(reading) + since,
      ...(since ? { placedSince: since } : {}),
      ...(reading.inFlight ? { inFlight: reading.inFlight } : {}),
      ...(reading.delayed ? { delayed: reading.delayed } : {}),
    };
  });
}

/** The original policy's probabilities (its worked example: depths 10/5/15 -> 0.33/0.61/0.06). */
export function seedInverseWeights(depths: readonly number[]): number[] {
  const maxDepth = Math.max(...depths);
  const weights = depths.map((depth) => Math.max(1, maxDepth - depth + 1));
  const total = weights.reduce((sum, w) => sum + w, 0);
  return weights.map((w) => w / total);
}

/** The depth the original system read: messages visible in the queue (ApproximateNumberOfMessages) only. */
export const visibleDepth = (r: RegionLoad): number =>
  Math.max(0, (r.backlog ?? 0) - (r.placedSince ?? 0) - (r.inFlight ?? 0) - (r.delayed ?? 0));

/** Regions the policies may use: read and under the threshold if any are; else read ones; else all. */
function eligible(input: PolicyInput, overloaded: (load: RegionLoad) => boolean): RegionLoad[] {
  const read = input.regions.filter((r) => r.backlog !== undefined);
  const underThreshold = read.filter((r) => !overloaded(r));
  if (underThreshold.length) return underThreshold;
  // Every read region is over the threshold: dispatch anyway (retrying from the master queue would
  // only burn receive counts into the DLQ), least loaded per unit of capacity.
  if (read.length) return read;
  return [...input.regions];
}

export const seedInverse: Policy = (count, input) => {
  const candidates = eligible(input, (r) => visibleDepth(r) >= input.maxQueueDepthThreshold);
  const probabilities = seedInverseWeights(candidates.map(visibleDepth));
  return Array.from({ length: count }, () => (candidates[weightedIndex(probabilities, input.random)] as RegionLoad).region);
};

/**
 * Workers per region, from the reading: a region with messages waiting has every worker busy, so its
 * in-flight count is its worker count; elsewhere capacity x workers per unit of capacity (learnt from
 * the busy regions, or the largest in-flight share: a lower bound), and never fewer than in flight.
 * Assumes a worker holds one message at a time. With nothing in flight anywhere: capacity itself.
 */
export function estimateWorkers(regions: readonly RegionLoad[]): number[] {
  const rows = regions.map((r) => {
    const inFlight = r.inFlight ?? 0;
    return { r, inFlight, waiting: (r.backlog ?? 0) - (r.placedSince ?? 0) - inFlight > 0 };
  });
  const saturated = rows.filter((x) => x.waiting && x.inFlight > 0);
  const perCapacity = Math.max(...(saturated.length ? saturated : rows).map((x) => x.inFlight / x.r.capacity));
  const scale = perCapacity > 0 ? perCapacity : 1;
  return rows.map((x) => x.r.workers ?? (x.waiting && x.inFlight > 0 ? x.inFlight : Math.max(x.inFlight, scale * x.r.capacity)));
}

/**
 * Messages placed since the queues were as read that this container did not place: arrivals per second
 * (busy workers / seconds per request) x (age of the reading + SQS's lag), less its own placements.
 */
export function unseenArrivals(regions: readonly RegionLoad[], workers: readonly number[], input: PolicyInput): number {
  const busy = regions.reduce((n, r, i) => n + Math.min(r.inFlight ?? 0, workers[i] as number), 0);
  const own = regions.reduce((n, r) => n + (r.placedSince ?? 0), 0);
  const window = Math.max(0, input.ageSeconds ?? 0) + Math.max(0, input.readingLagSeconds ?? READING_LAG_SECONDS);
  const seconds = input.serviceSeconds && input.serviceSeconds > 0 ? input.serviceSeconds : SERVICE_SECONDS;
  return Math.max(0, (busy / seconds) * window - own);
}

/**
 * How `budget` messages are best spread over queues holding `load` with `workers` each: water-filling
 * the per-worker levels (load - workers) / workers (below 0: idle workers), lowest first. Returns the
 * messages each region takes (they sum to budget).
 */
export function waterFill(load: readonly number[], workers: readonly number[], budget: number): number[] {
  const level = load.map((n, i) => (n - (workers[i] as number)) / (workers[i] as number));
  const order = level.map((_, i) => i).sort((a, b) => (level[a] as number) - (level[b] as number));
  let top = 0;
  let filledWorkers = 0;
  let filledLevels = 0;
  for (let j = 0; j < order.length; j++) {
    const i = order[j] as number;
    filledWorkers += workers[i] as number;
    filledLevels += (workers[i] as number) * (level[i] as number);
    top = (budget + filledLevels) / filledWorkers;
    const next = order[j + 1];
    if (next === undefined || top <= (level[next] as number)) break;
  }
  return level.map((l, i) => (workers[i] as number) * Math.max(0, top - l));
}

/**
 * The region where one more message waits least: expected wait (load + 1 - workers)+ / workers, in
 * request times. Ties (several with idle workers) are drawn in proportion to idle workers, else to workers.
 */
function shortestWait(load: readonly number[], workers: readonly number[], random: Random): number {
  const wait = load.map((n, i) => Math.max(0, n + 1 - (workers[i] as number)) / (workers[i] as number));
  const best = Math.min(...wait);
  const weights = wait.map((w, i) => {
    if (w > best + 1e-9) return 0;
    return best === 0 ? Math.max(1e-9, (workers[i] as number) - (load[i] as number)) : (workers[i] as number);
  });
  return weightedIndex(weights, random);
}

export const leastWait: Policy = (count, input) => {
  const candidates = eligible(input, (r) => (r.backlog ?? 0) >= input.maxQueueDepthThreshold);
  if (candidates.length === 1) return Array.from({ length: count }, () => (candidates[0] as RegionLoad).region);
  const workers = estimateWorkers(candidates);
  const load = candidates.map((r) => r.backlog ?? 0);
  const unseen = unseenArrivals(candidates, workers, input);
  const choices: string[] = [];
  for (let n = 0; n < count; n++) {
    // With few unseen placements the reading plus this container's own is close to the queues as they
    // are: the shortest wait wins. Beyond, every container reading alike would pick the same region.
    const i = unseen < HERD_THRESHOLD ? shortestWait(load, workers, input.random) : weightedIndex(waterFill(load, workers, unseen + 1), input.random);
    load[i] = (load[i] as number) + 1;
    choices.push((candidates[i] as RegionLoad).region);
  }
  return choices;
};

export const POLICY: Readonly<Record<PolicyName, Policy>> = { 'least-wait': leastWait, 'seed-inverse': seedInverse };

/** Regions ordered for failover: read before unread, then by estimated wait per unit of capacity. */
export function failoverOrder(regions: readonly RegionLoad[]): string[] {
  return [...regions]
    .sort((a, b) => {
      if ((a.backlog === undefined) !== (b.backlog === undefined)) return a.backlog === undefined ? 1 : -1;
      return (a.backlog ?? 0) / a.capacity - (b.backlog ?? 0) / b.capacity;
    })
    .map((r) => r.region);
}
