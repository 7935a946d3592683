/**
 * BASELINES for the policy simulation, written here in bench/ and NOT part of the dispatcher: they show
 * what the real policies (core/policy.ts) are measured against. Same signature as a real Policy.
 *
 * - capacity-random: each message drawn in proportion to configured capacity, ignoring load.
 * - least-wait-v1: the previous default `least-wait` (until this bench's oracle comparison), kept to
 *   show what the change bought: two choices on (backlog + 1) / capacity while the reading is fresh,
 *   and, with probability 1 - e^(-age / 5 s), a draw by capacity damped for a region far behind.
 */
import type { Policy, RegionLoad } from '../../../core/policy.js';
import { weightedIndex } from '../../../core/random.js';

const pick = (regions: readonly RegionLoad[], index: number) => (regions[index] as RegionLoad).region;

export const capacityRandom: Policy = (count, { regions, random }) => {
  const weights = regions.map((r) => r.capacity);
  return Array.from({ length: count }, () => pick(regions, weightedIndex(weights, random)));
};

/** least-wait-v1's trust in a reading: 1/e after this many seconds. */
const V1_FRESHNESS_SECONDS = 5;

/** least-wait-v1's capacity weights damped by relative backlog: capacity / (1 + e^2), e = excess over the mean wait, in means. */
function v1DampedCapacity(regions: readonly RegionLoad[]): number[] {
  const waits = regions.map((r) => Math.max(0, (r.backlog ?? 0) - (r.placedSince ?? 0)) / r.capacity);
  const mean = waits.reduce((a, b) => a + b, 0) / Math.max(1, waits.length);
  return regions.map((r, i) => {
    const excess = mean > 0 ? Math.max(0, (waits[i] as number) / mean - 1) : 0;
    return r.capacity / (1 + excess * excess);
  });
}

export const leastWaitV1: Policy = (count, input) => {
  const read = input.regions.filter((r) => r.backlog !== undefined);
  const under = read.filter((r) => (r.backlog ?? 0) < input.maxQueueDepthThreshold);
  const candidates = under.length ? under : read.length ? read : [...input.regions];
  const readable = read.length ? read : [...input.regions];
  const trust = Math.exp(-Math.max(0, input.ageSeconds ?? 0) / V1_FRESHNESS_SECONDS);
  const staleWeights = v1DampedCapacity(readable);
  const load = candidates.map((r) => r.backlog ?? 0);
  const capacities = candidates.map((r) => r.capacity);
  const waitIfAdded = (i: number) => ((load[i] as number) + 1) / (capacities[i] as number);
  const choices: string[] = [];
  for (let n = 0; n < count; n++) {
    if (input.random() >= trust) {
      choices.push(pick(readable, weightedIndex(staleWeights, input.random)));
      continue;
    }
    let best = 0;
    if (candidates.length > 1) {
      const first = weightedIndex(capacities, input.random);
      const second = weightedIndex(
        capacities.map((c, i) => (i === first ? 0 : c)),
        input.random,
      );
      const [a, b] = [waitIfAdded(first), waitIfAdded(second)];
      best = a < b ? first : b < a ? second : input.random() < 0.5 ? first : second;
    }
    load[best] = (load[best] as number) + 1;
    choices.push(pick(candidates, best));
  }
  return choices;
};
