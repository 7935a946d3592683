/** The simulated situations and the policies compared in each. */
import { POLICY } from '../../core/policy.js';
import { capacityRandom, greedyStale, uniformRandom } from './baselines.js';
import type { Contender, SimRegion, SimSettings } from './model.js';

export const CONTENDERS: readonly Contender[] = [
  { name: 'seed-inverse', kind: 'real', policy: POLICY['seed-inverse'] },
  // The select function counts what it placed since the readings (functions/select.ts), per container:
  // with one warm container it sees every placement (+since), with many it sees few (the plain row).
  { name: 'least-wait', kind: 'real', policy: POLICY['least-wait'] },
  { name: 'least-wait+since', kind: 'real', policy: POLICY['least-wait'], countSinceSnapshot: true },
  { name: 'uniform-random', kind: 'baseline', policy: uniformRandom },
  { name: 'capacity-random', kind: 'baseline', policy: capacityRandom },
  { name: 'greedy-stale', kind: 'baseline', policy: greedyStale },
];

export interface ScenarioOptions {
  /** CACHE_TTL for scenarios that do not fix their own. */
  readonly cacheTtlSeconds: number;
  readonly maxQueueDepthThreshold: number;
  readonly seed: number;
  readonly durationSeconds: number;
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  /** Fraction of the real total throughput that arrives. */
  readonly load: number;
  readonly regions: readonly SimRegion[];
  /** Set when the scenario is about staleness itself: --cache-ttl does not change it. */
  readonly cacheTtlSeconds?: number;
}

const region = (name: string, workers: number, meanServiceSeconds = 2, extra: Partial<SimRegion> = {}): SimRegion => ({
  region: name,
  workers,
  meanServiceSeconds,
  capacity: workers,
  ...extra,
});

const EQUAL = [region('us-east-1', 10), region('us-west-2', 10), region('us-west-1', 10)];
const UNEQUAL = [region('us-east-1', 15), region('us-west-2', 10), region('us-west-1', 5)];

export const SCENARIOS: readonly Scenario[] = [
  { name: 'equal', description: 'three equal regions, 10 workers each, 2 s per request', load: 0.8, regions: EQUAL },
  { name: 'unequal', description: 'workers 15:10:5 (3:2:1), capacity configured to match', load: 0.8, regions: UNEQUAL },
  {
    name: 'slow-region',
    description: 'us-west-1 takes 6 s per request (x3) but is configured with the same capacity as the others',
    load: 0.8,
    regions: [region('us-east-1', 10), region('us-west-2', 10), region('us-west-1', 10, 6)],
  },
  {
    name: 'hot-start',
    description: 'equal regions; us-west-2 starts with 600 requests queued (2 minutes of its work)',
    load: 0.8,
    regions: [region('us-east-1', 10), region('us-west-2', 10, 2, { initialBacklog: 600 }), region('us-west-1', 10)],
  },
  { name: 'high-load', description: 'equal regions at 97% of total capacity', load: 0.97, regions: EQUAL },
  { name: 'stale', description: 'workers 15:10:5 at 90% load, snapshot cached 60 s (the deployed CACHE_TTL)', load: 0.9, regions: UNEQUAL, cacheTtlSeconds: 60 },
  { name: 'fresh', description: 'the same as stale, but a fresh snapshot for every tick (CACHE_TTL 0)', load: 0.9, regions: UNEQUAL, cacheTtlSeconds: 0 },
];

export const SCENARIO_NAMES = SCENARIOS.map((s) => s.name);

export function settingsFor(scenario: Scenario, options: ScenarioOptions): SimSettings {
  const throughput = scenario.regions.reduce((n, r) => n + r.workers / r.meanServiceSeconds, 0);
  return {
    regions: scenario.regions,
    arrivalsPerSecond: scenario.load * throughput,
    durationSeconds: options.durationSeconds,
    cacheTtlSeconds: scenario.cacheTtlSeconds ?? options.cacheTtlSeconds,
    maxQueueDepthThreshold: options.maxQueueDepthThreshold,
    seed: options.seed,
  };
}
