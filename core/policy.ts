/**
 * Selection policies: which region each message of a batch goes to. Pure code, no AWS import, with
 * injectable randomness so that tests and the simulation (bench/) replay exactly.
 *
 * - `seed-inverse`: the original system's policy, kept reproducible: weight = max(1, maxDepth - depth + 1),
 *   one independent weighted draw per message.
 * - `least-wait` (default): estimated wait = (visible + in flight + delayed + placed since the reading)
 *   / capacity. While the reading is fresh, each message takes the better of two random candidates
 *   (power of two choices) among regions that were read and are under the threshold, counting each
 *   assignment before the next. As the reading ages (it is cached for CACHE_TTL and shared by every
 *   execution), a growing share of messages is placed by capacity, damped only for a region far behind
 *   the others: acting hard on old news is what herds executions onto one region (bench/policy.ts).
 */
import type { PolicyName } from './config.js';
import { weightedIndex, type Random } from './random.js';
import { backlog, type Reading } from './snapshot.js';

export interface RegionLoad {
  readonly region: string;
  readonly capacity: number;
  /** Messages queued or in flight per the snapshot, plus those placed since; undefined when unread. */
  readonly backlog: number | undefined;
  /** Of which placed since the snapshot (an estimate that never sees work complete). */
  readonly placedSince?: number;
}

export interface PolicyInput {
  /** Regions in configured order. */
  readonly regions: readonly RegionLoad[];
  readonly maxQueueDepthThreshold: number;
  readonly random: Random;
  /** How old the readings are (the snapshot is cached for CACHE_TTL); 0 when unknown. */
  readonly ageSeconds?: number;
}

/**
 * How fast trust in a depth reading fades: a reading this many seconds old steers a message with
 * probability 1/e, and capacity alone places it otherwise. Queues move on the scale of one inference
 * (seconds); a minute-old reading acted on by every execution herds them onto one region (bench/policy.ts).
 */
export const READING_FRESHNESS_SECONDS = 5;

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
    return { region, capacity, backlog: reading?.known ? backlog(reading) + since : undefined, ...(since ? { placedSince: since } : {}) };
  });
}

/** The original policy's probabilities (its worked example: depths 10/5/15 -> 0.33/0.61/0.06). */
export function seedInverseWeights(depths: readonly number[]): number[] {
  const maxDepth = Math.max(...depths);
  const weights = depths.map((depth) => Math.max(1, maxDepth - depth + 1));
  const total = weights.reduce((sum, w) => sum + w, 0);
  return weights.map((w) => w / total);
}

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
  const candidates = eligible(input, (r) => (r.backlog ?? 0) >= input.maxQueueDepthThreshold);
  const probabilities = seedInverseWeights(candidates.map((r) => r.backlog ?? 0));
  return Array.from({ length: count }, () => (candidates[weightedIndex(probabilities, input.random)] as RegionLoad).region);
};

/**
 * Capacity weights damped by relative backlog: capacity / (1 + e^2), e = how far a region's wait is above
 * the mean, in means. Waits near the mean keep the capacity split (no herding on noise); a region at 3x
 * the mean gets a fifth of its share, so a backlog that grows (a slow region, a wrong capacity) lowers
 * its own share until it drains.
 */
export function dampedCapacity(regions: readonly RegionLoad[]): number[] {
  // The observed backlog only: placements since the reading inflate every region alike and would
  // hide a region that is really falling behind.
  const waits = regions.map((r) => Math.max(0, (r.backlog ?? 0) - (r.placedSince ?? 0)) / r.capacity);
  const mean = waits.reduce((a, b) => a + b, 0) / Math.max(1, waits.length);
  return regions.map((r, i) => {
    const excess = mean > 0 ? Math.max(0, (waits[i] as number) / mean - 1) : 0;
    return r.capacity / (1 + excess * excess);
  });
}

export const leastWait: Policy = (count, input) => {
  const candidates = eligible(input, (r) => (r.backlog ?? 0) >= input.maxQueueDepthThreshold);
  // Regions that answered: where a stale reading sends messages by capacity alone.
  const readable = input.regions.some((r) => r.backlog !== undefined) ? input.regions.filter((r) => r.backlog !== undefined) : [...input.regions];
  const trust = Math.exp(-Math.max(0, input.ageSeconds ?? 0) / READING_FRESHNESS_SECONDS);
  const staleWeights = dampedCapacity(readable);
  const load = candidates.map((r) => r.backlog ?? 0);
  const capacities = candidates.map((r) => r.capacity);
  // Wait of the next message if it joined region i, counting what this batch already put there.
  const waitIfAdded = (i: number) => ((load[i] as number) + 1) / (capacities[i] as number);
  const choices: string[] = [];
  for (let n = 0; n < count; n++) {
    if (input.random() >= trust) {
      // Too old to pick the best region by: every execution would pick the same one. Spread by capacity,
      // damped where the reading showed a backlog far above the others' (a slow or stuck region).
      choices.push((readable[weightedIndex(staleWeights, input.random)] as RegionLoad).region);
      continue;
    }
    let best: number;
    if (candidates.length === 1) {
      best = 0;
    } else {
      // Two distinct candidates drawn in proportion to capacity; the one with the shorter wait wins.
      const first = weightedIndex(capacities, input.random);
      const rest = capacities.map((c, i) => (i === first ? 0 : c));
      const second = weightedIndex(rest, input.random);
      const [a, b] = [waitIfAdded(first), waitIfAdded(second)];
      best = a < b ? first : b < a ? second : input.random() < 0.5 ? first : second;
    }
    load[best] = (load[best] as number) + 1;
    choices.push((candidates[best] as RegionLoad).region);
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
