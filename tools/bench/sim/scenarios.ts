/** The simulated deployments, the policies compared in each, and the sweeps. */
import { envSchema } from '../../../core/config.js';
import { POLICY } from '../../../core/policy.js';
import { FUNCTION_SETTINGS } from '../../../stacks/settings.js';
import { DEPLOYED_BATCHING } from '../batching.js';
import { capacityRandom, leastWaitV1 } from './baselines.js';
import type { Contender, SimRegion, SimSettings } from './model.js';

/** What the deployment sets (stacks/settings.ts), which the `deployed` scenario follows. */
export const DEPLOYED = {
  cacheTtlSeconds: Number(FUNCTION_SETTINGS.CACHE_TTL),
  /** core/config.ts's default, for a deployment that does not set CACHE_TTL. */
  configDefaultCacheTtlSeconds: envSchema.shape.CACHE_TTL.parse(undefined),
  /** The intake's event source as deployed (tools/bench/batching.ts, shared with the cost model). */
  batchWindowSeconds: DEPLOYED_BATCHING.windowSeconds,
  batchSize: DEPLOYED_BATCHING.maxBatch,
  pollers: DEPLOYED_BATCHING.pollers,
  maxQueueDepthThreshold: Number(FUNCTION_SETTINGS.MAX_QUEUE_DEPTH_THRESHOLD),
} as const;

/** The clairvoyant oracle: knows the service times ahead (the lower bound). */
export const ORACLE: Contender = { name: 'oracle', kind: 'oracle' };
/** Perfect current information: every queue exactly as it is now, no foresight. */
export const INFORMED: Contender = { name: 'oracle@now', kind: 'informed' };

export const CONTENDERS: readonly Contender[] = [
  ORACLE,
  INFORMED,
  { name: 'least-wait', kind: 'real', policy: POLICY['least-wait'] },
  { name: 'seed-inverse', kind: 'real', policy: POLICY['seed-inverse'] },
  { name: 'least-wait-v1', kind: 'what-if', policy: leastWaitV1 },
  { name: 'capacity-random', kind: 'baseline', policy: capacityRandom },
  { name: 'least-wait@fresh', kind: 'reference', policy: POLICY['least-wait'], freshInformation: true },
];

export const CONTENDER_NAMES = CONTENDERS.map((c) => c.name);

/** Per-request service time of the main fleet (the example: 1:2:4 workers, 10 s). */
export const SERVICE_SECONDS = 10;

const region = (name: string, workers: number, meanServiceSeconds = SERVICE_SECONDS, capacity = workers): SimRegion => ({
  region: name,
  workers,
  meanServiceSeconds,
  capacity,
});

const fleet = (scale: number, serviceSeconds = SERVICE_SECONDS): SimRegion[] => [
  region('us-east-1', scale, serviceSeconds),
  region('us-west-2', 2 * scale, serviceSeconds),
  region('us-west-1', 4 * scale, serviceSeconds),
];

export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly regions: readonly SimRegion[];
  /** CACHE_TTL; undefined: the deployed value (or --cache-ttl). */
  readonly cacheTtlSeconds?: number;
  /** Readings exactly this old at every placement, instead of the cache (see SimSettings). */
  readonly readingAgeSeconds?: number;
  /** Dispatching containers; undefined: --dispatchers (default 2). */
  readonly dispatchers?: number;
  /** Part of the acceptance targets (the others test robustness). */
  readonly target: boolean;
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'deployed',
    description: 'the deployed defaults: CACHE_TTL and batching from stacks/settings.ts',
    regions: fleet(1),
    target: true,
  },
  {
    name: 'stale-30s-20',
    description:
      'readings 30 s old at every placement (the call made 30 s before, SQS lag on top), 20 dispatching containers each counting only its own placements since',
    regions: fleet(1),
    readingAgeSeconds: 30,
    dispatchers: 20,
    target: true,
  },
  {
    name: 'original-60s',
    description: "the original system's cache: CACHE_TTL 60 s",
    regions: fleet(1),
    cacheTtlSeconds: 60,
    target: true,
  },
  {
    name: 'slow-region',
    description: 'deployed defaults, but us-west-1 takes 20 s per request: half the capacity it is configured with',
    regions: [region('us-east-1', 1), region('us-west-2', 2), region('us-west-1', 4, 2 * SERVICE_SECONDS, 4)],
    target: false,
  },
  {
    name: 'big-fleet',
    description: 'deployed defaults, 10:20:40 workers (7 requests/s at 100%: batches of several messages)',
    regions: fleet(10),
    target: false,
  },
];

export const SCENARIO_NAMES = SCENARIOS.map((s) => s.name);

export interface RunOptions {
  readonly load: number;
  readonly seed: number;
  /** Simulated seconds of arrivals for the 7-worker fleet; larger fleets run proportionally shorter (same request count). */
  readonly durationSeconds: number;
  readonly dispatchers: number;
  readonly sqsLagSeconds: number;
  /** Overrides the deployed CACHE_TTL for scenarios that do not fix their own. */
  readonly cacheTtlSeconds?: number;
  /** Overrides every region's service time (the policy keeps assuming core/policy.ts SERVICE_SECONDS). */
  readonly serviceSeconds?: number;
}

export const realThroughput = (regions: readonly SimRegion[]) => regions.reduce((n, r) => n + r.workers / r.meanServiceSeconds, 0);

export function settingsFor(scenario: Scenario, options: RunOptions): SimSettings {
  const regions = options.serviceSeconds ? scenario.regions.map((r) => ({ ...r, meanServiceSeconds: (r.meanServiceSeconds / SERVICE_SECONDS) * (options.serviceSeconds as number) })) : scenario.regions;
  const throughput = realThroughput(regions);
  // Same number of requests per run whatever the fleet: 0.7 requests/s at 100% for the 1:2:4 x 10 s fleet.
  const durationSeconds = (options.durationSeconds * 0.7) / throughput;
  return {
    regions,
    arrivalsPerSecond: options.load * throughput,
    durationSeconds,
    warmupSeconds: durationSeconds / 100,
    cacheTtlSeconds: scenario.cacheTtlSeconds ?? options.cacheTtlSeconds ?? DEPLOYED.cacheTtlSeconds,
    ...(scenario.readingAgeSeconds === undefined ? {} : { readingAgeSeconds: scenario.readingAgeSeconds }),
    dispatchers: scenario.dispatchers ?? options.dispatchers,
    sqsLagSeconds: options.sqsLagSeconds,
    batchWindowSeconds: DEPLOYED.batchWindowSeconds,
    batchSize: DEPLOYED.batchSize,
    pollers: DEPLOYED.pollers,
    maxQueueDepthThreshold: DEPLOYED.maxQueueDepthThreshold,
    seed: options.seed,
  };
}

/** One-parameter sweeps of the `deployed` scenario. */
export const SWEEPS = {
  'cache-ttl': { label: 'CACHE_TTL s', values: [0, 1, 2, 5, 10, 30, 60], apply: (o: RunOptions, v: number): RunOptions => ({ ...o, cacheTtlSeconds: v }) },
  'sqs-lag': { label: 'SQS lag s', values: [0, 1, 2, 5, 10, 30], apply: (o: RunOptions, v: number): RunOptions => ({ ...o, sqsLagSeconds: v }) },
  dispatchers: { label: 'dispatchers', values: [1, 2, 4, 10, 20], apply: (o: RunOptions, v: number): RunOptions => ({ ...o, dispatchers: v }) },
  service: { label: 'service s', values: [2, 10, 60], apply: (o: RunOptions, v: number): RunOptions => ({ ...o, serviceSeconds: v }) },
} as const;
export type SweepName = keyof typeof SWEEPS;
export const SWEEP_NAMES = Object.keys(SWEEPS) as SweepName[];
