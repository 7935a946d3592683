/** Select task: a region for every claimed message, by the configured policy. Pure: no AWS call. */
import { config } from '../core/config.js';
import { selectInputSchema } from '../core/placement.js';
import { POLICY } from '../core/policy.js';
import { selectRegions, type SelectOutput } from '../core/select.js';
import { DispatchedSince } from '../core/snapshot.js';
import { regionKey } from '../core/topology.js';

/** Lives as long as the container, like the snapshot function's cache of readings. */
const dispatchedSince = new DispatchedSince();

export const handler = async (event: unknown): Promise<SelectOutput> => {
  const cfg = config();
  const input = selectInputSchema.parse(event);
  const output = selectRegions(input, {
    regions: cfg.regions,
    maxQueueDepthThreshold: cfg.maxQueueDepthThreshold,
    policy: POLICY[cfg.selectionPolicy],
    random: Math.random,
    nowMs: Date.now(),
    dispatchedSince: dispatchedSince.for(input.snapshot),
  });
  for (const { region } of cfg.regions) {
    dispatchedSince.add(input.snapshot, (output.assignments[regionKey(region)] ?? []).map(() => region));
  }
  return output;
};
