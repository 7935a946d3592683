/**
 * The capacity a dispatcher gives the policy for each region (RegionLoad.capacity), three ways, all
 * through core/capacity.ts effectiveCapacity (an explicit setting wins; else max(configured, in flight)
 * when the region has messages waiting; else the configured number):
 * - static: the configured number (REGION_QUEUES capacity), whatever the fleet does (today);
 * - live: an operator or autoscaling hook sets the true worker count (`capacity set`), which the
 *   simulation does `liveDelaySeconds` after each fleet change: the setting wins;
 * - estimated: nothing set; the rule's estimate from the dispatcher's reading.
 */
import { effectiveCapacity } from '../../../core/capacity.js';

export const CAPACITY_MODES = ['static', 'live', 'estimated'] as const;
export type CapacityMode = (typeof CAPACITY_MODES)[number];

export interface CapacityFacts {
  readonly region: string;
  readonly configured: number;
  /** What the hook last set (live mode). */
  readonly setting: number;
  /** Per the dispatcher's reading: messages being processed, and messages waiting (visible + delayed). */
  readonly inFlight: number;
  readonly waiting: number;
}

/** The capacity the policy is given for one region under `mode`. */
export function capacityFor(mode: CapacityMode, facts: CapacityFacts): number {
  if (mode === 'static') return facts.configured;
  const { region, configured, setting, inFlight, waiting } = facts;
  return effectiveCapacity({
    configured,
    ...(mode === 'live' ? { setting: { region, capacity: setting, setAt: 0, setBy: 'bench/sim live hook' } } : {}),
    inFlight,
    waiting,
  }).capacity;
}
