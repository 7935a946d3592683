/**
 * Deployment settings that are choices, not contracts: the functions' tunables (read through
 * core/config.ts) and the intake subscription's throttles. Pure data, no AWS import.
 */
import { SQS_BATCH_SIZE, TIMEOUTS } from '../core/topology.js';

/** Environment values shared by the four functions (names as core/config.ts reads them). */
export const FUNCTION_SETTINGS = {
  CACHE_TTL: '5',
  MAX_QUEUE_DEPTH_THRESHOLD: '5000',
  IDEMPOTENCY_TTL_SECONDS: String(7 * 24 * 3600),
  // Longer than the intake and any execution it starts, shorter than the master visibility timeout,
  // so the redelivery of a crashed batch can take its claims over (core/topology.ts TIMEOUTS).
  CLAIM_LEASE_SECONDS: String(TIMEOUTS.claimLeaseSeconds),
  LOG_LEVEL: 'INFO',
  SELECTION_POLICY: 'least-wait',
} as const;

/**
 * Memory of each function (MB). The task functions are I/O-bound; the intake and the forward hold up to
 * 10 bodies of 256 KiB. The cost model (bench/cost.ts) reads these.
 */
export const FUNCTION_MEMORY_MB = {
  intake: 512,
  snapshot: 256,
  select: 256,
  forward: 512,
} as const;

export const INTAKE_SUBSCRIPTION = {
  batchSize: SQS_BATCH_SIZE,
  // Wait up to 20 s to fill a batch. Every batch pays an execution, four invocations and ~20 log records
  // whatever its size, so at 100,000 requests a day (about 1 a second over 5 pollers) a 1 s window makes
  // batches of 1.2 and a 20 s one of 5.6: $45 a month less at log level ALL, for 11.6 s of latency on
  // average (20 s at most) before a request that then waits minutes for a GPU (docs/cost.md).
  maximumBatchingWindowInSeconds: 20,
  // Caps intake concurrency (each instance drives one execution that invokes ~5 task functions),
  // well below the account's default 1000 concurrent Lambdas; 20 x 10 messages per ~0.5 s batch is
  // ~400 messages/s, far above the original system's 100,000 a day.
  maximumConcurrency: 20,
} as const;

export const ALARM_SETTINGS = {
  intakeErrors: { threshold: 5, periodSeconds: 300 },
  /** Oldest message in a regional queue: workers are behind by more than this. */
  regionalAgeSeconds: 900,
  /** Depth above which a region counts as overloaded (same value the selection policy uses). */
  regionalDepth: Number(FUNCTION_SETTINGS.MAX_QUEUE_DEPTH_THRESHOLD),
} as const;

/** Log retention of the functions and the state machine. */
export const LOG_RETENTION_DAYS = 30;

/**
 * The state machine's execution log per stage (docs/cost.md): development stages log every state with
 * its data (each dispatch inspectable in the console, input and output a click away); production stages
 * log failures only (ERROR), which the bill at 100,000 requests a day needs ($104 against $27 a month).
 * The CLI's `executions`/`inspect --stage` then see only failed executions there.
 */
export const PRODUCTION_STAGES: readonly string[] = ['prod', 'production'];

export interface StateMachineLogging {
  readonly level: 'ALL' | 'ERROR' | 'FATAL' | 'OFF';
  readonly includeExecutionData: boolean;
}

export function stateMachineLogging(stage: string): StateMachineLogging {
  return PRODUCTION_STAGES.includes(stage) ? { level: 'ERROR', includeExecutionData: false } : { level: 'ALL', includeExecutionData: true };
}
