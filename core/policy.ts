/**
 * Selection policies: which region each message of a batch goes to. Pure code, no AWS import, with
 * injectable randomness so that tests and the simulation (bench/) replay exactly.
 *
 * - `seed-inverse`: the original system's policy, kept reproducible: weight = max(1, maxDepth - depth + 1),
 *   one independent weighted draw per message.
 * - `least-wait` (default): estimated wait = (visible + in flight + delayed + assigned in this batch) / capacity;
 *   regions over the depth threshold or without a reading are left out while others remain; each message
 *   takes the better of two random candidates (power of two choices), which spreads a batch and does not
 *   herd when many executions act on one stale snapshot.
 */
import type { PolicyName } from './config.js';
import { weightedIndex, type Random } from './random.js';
import { backlog, type Reading } from './snapshot.js';

export interface RegionLoad {
  readonly region: string;
  readonly capacity: number;
  /** Messages queued or in flight per the snapshot; undefined when the region could not be read. */
  readonly backlog: number | undefined;
}

export interface PolicyInput {
  /** Regions in configured order. */
  readonly regions: readonly RegionLoad[];
  readonly maxQueueDepthThreshold: number;
  readonly random: Random;
}

/** Chooses a region for each of `count` messages, in order. Never returns an empty choice if regions exist. */
export type Policy = (count: number, input: PolicyInput) => string[];

/** Joins configured regions with their readings; a region missing from the snapshot counts as unread. */
export function regionLoads(
  regions: ReadonlyArray<{ region: string; capacity: number }>,
  readings: readonly Reading[],
): RegionLoad[] {
  return regions.map(({ region, capacity }) => {
    const reading = readings.find((r) => r.region === region);
    return { region, capacity, backlog: reading?.known ? backlog(reading) : undefined };
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

export const leastWait: Policy = (count, input) => {
  const candidates = eligible(input, (r) => (r.backlog ?? 0) >= input.maxQueueDepthThreshold);
  const load = candidates.map((r) => r.backlog ?? 0);
  const capacities = candidates.map((r) => r.capacity);
  // Wait of the next message if it joined region i, counting what this batch already put there.
  const waitIfAdded = (i: number) => ((load[i] as number) + 1) / (capacities[i] as number);
  const choices: string[] = [];
  for (let n = 0; n < count; n++) {
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
