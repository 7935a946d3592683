/**
 * Capacity that follows the fleet: the deployed scenario of tools/bench/sim/scenarios.ts (regions of 1, 2 and
 * 4 workers, configured capacity 1:2:4, 10 s per request, CACHE_TTL and batching as deployed, one
 * priority, no lanes), in which one region loses half its workers mid-run (Spot) and another gains.
 * The policy is told the configured capacity (static), what a hook sets `liveDelaySeconds` after each
 * change (live), or the effectiveCapacity estimate (estimated); the oracle places on exact waits.
 */
import { POLICY } from '../../../core/policy.js';
import { CAPACITY_MODES, type CapacityMode } from './capacity-modes.js';
import { ALL_NORMAL, type FleetContender, type FleetSettings } from './fleet-model.js';
import { SCENARIOS, settingsFor, type RunOptions, type Scenario } from './scenarios.js';

export interface CapacityScenario {
  readonly name: string;
  readonly description: string;
  /** Workers per region after the change (before: the deployed scenario's 1:2:4), configured order. */
  readonly after: readonly number[];
}

export const CAPACITY_SCENARIOS: readonly CapacityScenario[] = [
  {
    name: 'west-1-halved',
    description: 'us-west-1 loses half its workers (4 -> 2), us-west-2 gains 2 (2 -> 4): 1:2:4 -> 1:4:2, 7 workers before and after',
    after: [1, 4, 2],
  },
  {
    name: 'west-2-halved',
    description: 'us-west-2 loses half its workers (2 -> 1), us-west-1 gains 2 (4 -> 6): 1:2:4 -> 1:1:6, 7 workers then 8',
    after: [1, 1, 6],
  },
];

export const CAPACITY_SCENARIO_NAMES = CAPACITY_SCENARIOS.map((s) => s.name);

/** How long after a fleet change the live hook's `capacity set` takes effect (its reaction and any caching). */
export const LIVE_DELAY_SECONDS = 30;

export const CAPACITY_CONTENDERS = (liveDelaySeconds = LIVE_DELAY_SECONDS): readonly FleetContender[] => [
  { name: 'oracle', kind: 'oracle' },
  ...CAPACITY_MODES.map((capacity: CapacityMode): FleetContender => ({
    name: capacity === 'live' ? `live (set ${liveDelaySeconds} s late)` : capacity,
    kind: 'policy',
    policy: POLICY['least-wait'],
    capacity,
    ...(capacity === 'live' ? { liveDelaySeconds } : {}),
  })),
];

export interface CapacityRunOptions extends Omit<RunOptions, 'durationSeconds'> {
  /** When the fleet changes. */
  readonly changeAtSeconds: number;
  /** Simulated seconds of arrivals after the change. */
  readonly afterSeconds: number;
}

export function capacityRunSettings(scenario: CapacityScenario, options: CapacityRunOptions): FleetSettings {
  const deployed = SCENARIOS.find((s) => s.name === 'deployed') as Scenario;
  // Load: a fraction of the fleet's throughput BEFORE the change; durations are used as given.
  const base = settingsFor(deployed, { ...options, durationSeconds: 1 });
  const durationSeconds = options.changeAtSeconds + options.afterSeconds;
  if (scenario.after.length !== base.regions.length) throw new Error(`${scenario.name} names ${scenario.after.length} regions, not ${base.regions.length}`);
  return {
    ...base,
    durationSeconds,
    warmupSeconds: 0,
    mix: ALL_NORMAL,
    fleetChanges: [{ atSeconds: options.changeAtSeconds, workers: scenario.after }],
  };
}
