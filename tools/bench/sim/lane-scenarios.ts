/**
 * The priority-lane comparison: the deployed scenario of tools/bench/sim/scenarios.ts (regions of 1, 2 and 4
 * workers, 10 s per request, CACHE_TTL and batching as deployed), requests of three priorities, run
 * without lanes (today) and with them.
 */
import { STARVATION_LIMIT } from '../../../core/lanes.js';
import { POLICY } from '../../../core/policy.js';
import type { FleetContender, FleetSettings, LaneSettings, PriorityMix } from './fleet-model.js';
import { SCENARIOS, settingsFor, type RunOptions, type Scenario } from './scenarios.js';

/** The mix of the comparison unless --mix says otherwise: 10% high, 80% normal, 10% low. */
export const DEFAULT_MIX: PriorityMix = { high: 0.1, normal: 0.8, low: 0.1 };

/**
 * The high lane's event source batching window, a deployment choice this bench assumes: short, so that
 * a high request does not wait for a batch of its own lane to fill (at 10% of the traffic a 20 s window
 * would hold nearly every high request the full 20 s). The normal lane keeps the deployed window.
 */
export const HIGH_BATCH_WINDOW_SECONDS = 1;

export const LANE_VARIANTS = ['without lanes', 'with lanes', 'lanes, one master queue'] as const;
export type LaneVariant = (typeof LANE_VARIANTS)[number];

export const LEAST_WAIT: FleetContender = { name: 'least-wait', kind: 'policy', policy: POLICY['least-wait'] };

export const deployedScenario = (): Scenario => SCENARIOS.find((s) => s.name === 'deployed') as Scenario;

export interface LaneRunOptions extends RunOptions {
  readonly mix: PriorityMix;
  readonly starvationLimit?: number;
  readonly highBatchWindowSeconds?: number;
}

export function laneSettingsOf(variant: LaneVariant, options: Pick<LaneRunOptions, 'starvationLimit' | 'highBatchWindowSeconds'>): LaneSettings | undefined {
  if (variant === 'without lanes') return undefined;
  return {
    starvationLimit: options.starvationLimit ?? STARVATION_LIMIT,
    masterQueues: variant === 'with lanes' ? 'per-lane' : 'one',
    highBatchWindowSeconds: options.highBatchWindowSeconds ?? HIGH_BATCH_WINDOW_SECONDS,
  };
}

export function laneRunSettings(variant: LaneVariant, options: LaneRunOptions): FleetSettings {
  const lanes = laneSettingsOf(variant, options);
  return { ...settingsFor(deployedScenario(), options), mix: options.mix, ...(lanes ? { lanes } : {}) };
}
