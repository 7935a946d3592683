/**
 * The deployment's shape, shared by the infrastructure (stacks/), the functions and the local stack:
 * which regions take work, how much each can take, what every resource is called, and the timeouts
 * that must agree with each other. Pure data, no AWS import.
 */

export interface RegionSpec {
  /** AWS region name, e.g. us-west-2. */
  readonly region: string;
  /** Relative inference capacity (GPU workers); the default policy divides queue depth by it. */
  readonly capacity: number;
}

export const HOME_REGION = 'us-east-1';

/** The original system's three regions, equal capacity until told otherwise. */
export const DEFAULT_REGIONS: readonly RegionSpec[] = [
  { region: 'us-east-1', capacity: 1 },
  { region: 'us-west-2', capacity: 1 },
  { region: 'us-west-1', capacity: 1 },
];

export const TIMEOUTS = {
  /** The master queue's visibility timeout (seed: 600 s). Must be >= 6 x the intake timeout (AWS advice for SQS event sources). */
  masterVisibilitySeconds: 600,
  /** Intake Lambda timeout: the synchronous Express execution (<= 300 s by definition) plus margin is capped by this. */
  intakeTimeoutSeconds: 100,
  /** Express executions are cut at 5 minutes; the dispatch state machine gives up earlier. */
  dispatchTimeoutSeconds: 90,
  /** Regional queues (seed: 3600 s visibility, 14 days retention). */
  regionalVisibilitySeconds: 3600,
  regionalRetentionSeconds: 1_209_600,
} as const;

/** Deliveries of one master message before SQS moves it to the master DLQ (seed: 3). */
export const MAX_RECEIVE_COUNT = 3;

/** Batch size of the intake's event source mapping and of every SendMessageBatch (SQS maximum: 10). */
export const SQS_BATCH_SIZE = 10;

/** Stage-scoped resource names (the original's names with "dev" replaced by the stage). */
export function resourceNames(stage: string) {
  return {
    masterQueue: `inference-master-queue-${stage}`,
    masterDeadLetterQueue: `inference-master-dlq-${stage}`,
    dispatchDeadLetterQueue: `inference-dispatch-dlq-${stage}`,
    regionalQueue: (region: string) => `inference-queue-${region}-${stage}`,
    regionalDeadLetterQueue: (region: string) => `inference-queue-${region}-dlq-${stage}`,
    idempotencyTable: `inference-idempotency-${stage}`,
    stateMachine: `inference-dispatch-${stage}`,
  } as const;
}

/** A region name as a JSON key safe for JSONPath dot notation: us-west-2 -> us_west_2. */
export function regionKey(region: string): string {
  return region.replace(/-/g, '_');
}
