/** Select task: a region for every claimed message, by the configured policy. Pure: no AWS call. */
import { config } from '../core/config.js';
import { selectInputSchema } from '../core/placement.js';
import { POLICY } from '../core/policy.js';
import { selectRegions, type SelectOutput } from '../core/select.js';

export const handler = async (event: unknown): Promise<SelectOutput> => {
  const cfg = config();
  return selectRegions(selectInputSchema.parse(event), {
    regions: cfg.regions,
    maxQueueDepthThreshold: cfg.maxQueueDepthThreshold,
    policy: POLICY[cfg.selectionPolicy],
    random: Math.random,
  });
};
