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

/**
 * The time budget, in the order that must hold by construction (workflows/time-budget.ts checks it, the
 * deployment refuses to synthesize otherwise): worst-case execution (every Retry and every Task
 * timeout of workflows/dispatch.ts added up) < execution timeout < intake timeout < claim lease <
 * master visibility timeout, and claim lease >= intake timeout + execution timeout.
 */
export const TIMEOUTS = {
  /**
   * The master queue's visibility timeout (seed: 600 s). Also >= 6 x the intake timeout + the batching
   * window (AWS advice for SQS event sources: a message is invisible while its batch gathers, too).
   */
  masterVisibilitySeconds: 600,
  /** Intake Lambda timeout: above the synchronous Express execution it waits for. */
  intakeTimeoutSeconds: 95,
  /** Express executions are cut at 5 minutes; the dispatch state machine gives up earlier. */
  dispatchTimeoutSeconds: 90,
  /**
   * A claim outlives any execution that could hold it: a StartSyncExecution that the SDK retries under
   * the same name may start a second execution as late as the intake's end (95 + 90 = 185 s).
   */
  claimLeaseSeconds: 300,
  /** Regional queues (seed: 3600 s visibility, 14 days retention). */
  regionalVisibilitySeconds: 3600,
  regionalRetentionSeconds: 1_209_600,
} as const;

const DAY = 86_400;

/** SQS keeps no message longer than this. */
export const SQS_MAX_RETENTION_SECONDS = 14 * DAY;

/**
 * How long each kind of queue that can hold a copy of a request keeps it (stacks/queues.ts deploys
 * these). SQS counts retention from a message's first enqueue, also after a move to a DLQ, so a copy
 * lives at most as long as the longest of these after it was sent.
 */
export const RETENTION = {
  /** The master queue and its high lane: SQS's default, stated; a request nobody takes in 4 days has long gone to the master DLQ. */
  masterSeconds: 4 * DAY,
  /** Every DLQ (master, master high, dispatch, each regional lane's): the SQS maximum, longer than any source queue (AWS advice). */
  deadLetterSeconds: SQS_MAX_RETENTION_SECONDS,
  /** The regional lanes (seed: 14 days): a backlog may wait that long for a GPU. */
  regionalSeconds: TIMEOUTS.regionalRetentionSeconds,
} as const;

export const LONGEST_RETENTION_SECONDS = Math.max(...Object.values(RETENTION));

/**
 * The redrive window: how long past the longest retention a request's record is still kept, for copies
 * that left the queues and come back (an operator's saved DLQ listing sent again, a client's resend of
 * the same request_id) and for the days an operator takes to act on an alarm. The functions read it as
 * REDRIVE_WINDOW_SECONDS, the deployment as DISPATCH_REDRIVE_WINDOW_SECONDS.
 */
export const REDRIVE_WINDOW_SECONDS = 7 * DAY;

/** The names of the two lifetime settings in the functions' environment (core/config.ts). */
export const RECORD_LIFETIME_SETTINGS = { recordLifetime: 'IDEMPOTENCY_TTL_SECONDS', redriveWindow: 'REDRIVE_WINDOW_SECONDS' } as const;

/** The shortest lifetime a record may have: it must outlive every copy that can refer to it (docs/architecture.md, invariant 11). */
export function recordLifetimeFloor(retentionSeconds: readonly number[], redriveWindowSeconds: number): number {
  if (retentionSeconds.length === 0) throw new Error('recordLifetimeFloor: at least one queue retention is required');
  return Math.max(...retentionSeconds) + redriveWindowSeconds;
}

/**
 * How long a record lives after its last refresh (the claim, a worker's acceptance, a redrive): 21 days.
 * The original system said 7 days while its DLQs and regional queues kept messages 14: a redrive on
 * day 8 of a request already dispatched and completed found its record expired, the claim took the
 * copy as new, and a worker processed the request a second time.
 */
export const DEFAULT_RECORD_LIFETIME_SECONDS = recordLifetimeFloor(Object.values(RETENTION), REDRIVE_WINDOW_SECONDS);

/**
 * Each Task's TimeoutSeconds in the dispatch definition. A function's own timeout (stacks/) sits below
 * its Task's, so a function is stopped before the state machine stops waiting for it.
 */
export const TASK_TIMEOUTS = {
  /** DynamoDB service integrations (claims, marks, releases). */
  dynamodbSeconds: 2,
  /** The dead-letter send (SQS service integration). */
  sqsSeconds: 2,
  snapshotSeconds: 4,
  selectSeconds: 4,
  /** Forward and failover: the function starts no send after FORWARD_SEND_WINDOW_MS, each send <= SQS_REQUEST_TIMEOUT_MS. */
  forwardSeconds: 9,
} as const;

/** Lambda timeouts of the task functions, each a second below its Task's. */
export const FUNCTION_TIMEOUTS = {
  snapshotSeconds: TASK_TIMEOUTS.snapshotSeconds - 1,
  selectSeconds: TASK_TIMEOUTS.selectSeconds - 1,
  forwardSeconds: TASK_TIMEOUTS.forwardSeconds - 1,
} as const;

/** The forward function starts no SQS call later than this after it started (aws/send-batch.ts deadline). */
export const FORWARD_SEND_WINDOW_MS = 3000;

/** Each depth reading: one attempt, this long at most (a reading is advice). */
export const SNAPSHOT_READ_TIMEOUT_MS = 1500;

/** Room kept in the forward function for a health write and the runtime's own overhead. */
export const FORWARD_OVERHEAD_MS = 1500;

/** The longest SQS request timeout the forward function's budget allows (core/config.ts refuses more). */
export const MAX_SQS_REQUEST_TIMEOUT_MS = FUNCTION_TIMEOUTS.forwardSeconds * 1000 - FORWARD_SEND_WINDOW_MS - FORWARD_OVERHEAD_MS;

/** Deliveries of one master message before SQS moves it to the master DLQ (seed: 3). */
export const MAX_RECEIVE_COUNT = 3;

/** Batch size of the intake's event source mapping and of every SendMessageBatch (SQS maximum: 10). */
export const SQS_BATCH_SIZE = 10;

/**
 * The app's default name (sst.config.ts reads DISPATCH_APP_NAME, else this): the first part of every
 * resource name, so two apps, or two copies of this one, never collide in one account.
 */
export const APP_NAME = 'inference-dispatch';
export const APP_NAME_ENV = 'DISPATCH_APP_NAME';

export const QUEUE_ALARM_KINDS = ['not-empty', 'age'] as const;
export type QueueAlarmKind = (typeof QUEUE_ALARM_KINDS)[number];

/** AWS's limits on the names this app makes: SQS queues 80 characters, Lambda functions 64. */
const NAME_LIMITS = { queue: 80, function: 64 } as const;

/**
 * Resource names, scoped by app and stage (the original's names, prefixed by the app's, with "dev"
 * replaced by the stage): two apps, or two stages of one, in one account never share a name.
 */
export function resourceNames(stage: string, app: string = APP_NAME) {
  const names = {
    app,
    stage,
    masterQueue: `${app}-master-queue-${stage}`,
    masterDeadLetterQueue: `${app}-master-dlq-${stage}`,
    /** The master queue's high-priority lane (core/lanes.ts), and its DLQ. */
    masterHighQueue: `${app}-master-high-queue-${stage}`,
    masterHighDeadLetterQueue: `${app}-master-high-dlq-${stage}`,
    dispatchDeadLetterQueue: `${app}-dlq-${stage}`,
    regionalQueue: (region: string) => `${app}-queue-${region}-${stage}`,
    regionalDeadLetterQueue: (region: string) => `${app}-queue-${region}-dlq-${stage}`,
    /** A region's high-priority lane, and its DLQ. */
    regionalHighQueue: (region: string) => `${app}-queue-${region}-high-${stage}`,
    regionalHighDeadLetterQueue: (region: string) => `${app}-queue-${region}-high-dlq-${stage}`,
    idempotencyTable: `${app}-idempotency-${stage}`,
    stateMachine: `${app}-${stage}`,
    /** A Lambda function: intake, snapshot, select, forward. */
    function: (role: string) => `${app}-${role}-${stage}`,
    alarmTopic: `${app}-alarms-${stage}`,
    /** An alarm of the home region; a queue's alarms are named after their queue. */
    alarm: (what: string) => `${app}-${what}-${stage}`,
    /** A queue's alarm: not-empty (a DLQ), depth, age (a regional queue). */
    queueAlarm: (queueName: string, kind: QueueAlarmKind) => `${queueName}-${kind}`,
    dashboard: `${app}-${stage}`,
    /** The SSM parameter holding the stage's outputs: how the CLI finds any stage, deployed last or not. */
    outputsParameter: `/${app}/${stage}/outputs`,
  } as const;
  const longest = (...values: string[]) => values.reduce((a, b) => (b.length > a.length ? b : a), '');
  const queue = longest(names.regionalHighDeadLetterQueue('ap-southeast-1'), names.masterHighDeadLetterQueue, names.dispatchDeadLetterQueue);
  if (queue.length > NAME_LIMITS.queue) throw new Error(`app "${app}" and stage "${stage}" make a queue name too long for SQS (${queue.length} > 80): ${queue}`);
  const fn = names.function('snapshot');
  if (fn.length > NAME_LIMITS.function) throw new Error(`app "${app}" and stage "${stage}" make a function name too long for Lambda (${fn.length} > 64): ${fn}`);
  return names;
}

/** A region name as a JSON key safe for JSONPath dot notation: us-west-2 -> us_west_2. */
export function regionKey(region: string): string {
  return region.replace(/-/g, '_');
}
