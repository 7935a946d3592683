/**
 * BASELINES for the policy simulation, written here in bench/ and NOT part of the dispatcher: they show
 * what the real policies (core/policy.ts) are measured against. Same signature as a real Policy.
 *
 * - uniform-random: each message to a region drawn uniformly, ignoring load and capacity.
 * - capacity-random: each message drawn in proportion to configured capacity, ignoring load.
 * - greedy-stale: the whole batch to the region with the lowest backlog per unit of capacity in the
 *   (possibly stale) snapshot. Nothing counts what this or other executions just sent: it herds.
 */
import type { Policy, RegionLoad } from '../../core/policy.js';
import { weightedIndex } from '../../core/random.js';

const pick = (regions: readonly RegionLoad[], index: number) => (regions[index] as RegionLoad).region;

export const uniformRandom: Policy = (count, { regions, random }) =>
  Array.from({ length: count }, () => pick(regions, Math.min(regions.length - 1, Math.floor(random() * regions.length))));

export const capacityRandom: Policy = (count, { regions, random }) => {
  const weights = regions.map((r) => r.capacity);
  return Array.from({ length: count }, () => pick(regions, weightedIndex(weights, random)));
};

export const greedyStale: Policy = (count, { regions, random }) => {
  const score = (r: RegionLoad) => (r.backlog ?? Number.POSITIVE_INFINITY) / r.capacity;
  const best = Math.min(...regions.map(score));
  const tied = regions.filter((r) => score(r) === best);
  const chosen = pick(tied, Math.min(tied.length - 1, Math.floor(random() * tied.length)));
  return Array.from({ length: count }, () => chosen);
};
