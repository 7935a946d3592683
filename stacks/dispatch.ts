/**
 * The dispatcher: the three task functions, the state machine that calls them, the intake function
 * that starts one synchronous Express execution per batch, and the intake's subscription to the
 * master queue. Every function gets the same configuration (core/config.ts validates all of it at
 * start) and only the permissions its own calls need.
 */
import { presenceKey } from '../core/presence.js';
import { capacityKey, intakeDeadLetterKey, regionHealthKey } from '../core/record.js';
import { FUNCTION_TIMEOUTS, HOME_REGION, TIMEOUTS, type resourceNames } from '../core/topology.js';
import type { HomeContext } from './context.js';
import { dispatchFunction } from './functions.js';
import type { Queues } from './queues.js';
import { FUNCTION_MEMORY_MB, FUNCTION_SETTINGS, INTAKE_HIGH_SUBSCRIPTION, INTAKE_SUBSCRIPTION } from './settings.js';
import { createStateMachine, type DispatchStateMachine } from './state-machine.js';
import type { RecordLifetime } from './table.js';

type Names = ReturnType<typeof resourceNames>;

export interface Dispatch extends DispatchStateMachine {
  readonly functions: {
    readonly intake: sst.aws.Function;
    readonly snapshot: sst.aws.Function;
    readonly select: sst.aws.Function;
    readonly forward: sst.aws.Function;
  };
  readonly subscription: aws.lambda.EventSourceMapping;
  readonly highSubscription: aws.lambda.EventSourceMapping;
}

export interface DispatchArgs {
  readonly names: Names;
  readonly queues: Queues;
  readonly table: aws.dynamodb.Table;
  readonly home: HomeContext;
  /** The stage's record lifetime, checked against the queues (stacks/table.ts). */
  readonly lifetime: RecordLifetime;
}

/** REGION_QUEUES as core/config.ts reads it: {"us-west-2": {"url": "...", "capacity": 1, "highUrl": "..."}, ...}, in configured order. */
export function regionQueuesJson(queues: Queues): $util.Output<string> {
  return $jsonStringify(
    Object.fromEntries(queues.regional.map((r) => [r.region, { url: r.queue.url, capacity: r.capacity, highUrl: r.highQueue.url }])),
  );
}

/**
 * Items of the idempotency table that are not requests, by key prefix (core/record.ts): a function
 * that only needs those may touch nothing else (dynamodb:LeadingKeys).
 */
export function keysStartingWith(...prefixes: string[]): sst.aws.FunctionPermissionArgs['conditions'] {
  return [{ test: 'ForAllValues:StringLike', variable: 'dynamodb:LeadingKeys', values: prefixes.map((prefix) => `${prefix}*`) }];
}

export function createDispatch({ names, queues, table, home, lifetime }: DispatchArgs): Dispatch {
  // No endpoint overrides (SQS_ENDPOINTS, DYNAMODB_ENDPOINT, SFN_ENDPOINT): on AWS the SDK's defaults are right.
  const environment = {
    HOME_REGION,
    REGION_QUEUES: regionQueuesJson(queues),
    IDEMPOTENCY_TABLE_NAME: table.name,
    ...FUNCTION_SETTINGS,
    IDEMPOTENCY_TTL_SECONDS: String(lifetime.recordLifetimeSeconds),
    REDRIVE_WINDOW_SECONDS: String(lifetime.redriveWindowSeconds),
  };
  // Both lanes of every region (core/lanes.ts).
  const regionalQueueArns = queues.regional.flatMap((r) => [r.queue.arn, r.highQueue.arn]);

  // Each task function's timeout is below its Task's TimeoutSeconds in the definition
  // (core/topology.ts): a forward that the state machine gave up on must not still be sending.
  const healthKeys = keysStartingWith(regionHealthKey(''));
  const snapshot = dispatchFunction(
    {
      role: 'snapshot',
      description: 'Reads the depth of every regional queue',
      // I/O-bound: one GetQueueAttributes per region, in parallel.
      memory: `${FUNCTION_MEMORY_MB.snapshot} MB`,
      timeoutSeconds: FUNCTION_TIMEOUTS.snapshotSeconds,
      environment,
      permissions: [
        { actions: ['sqs:GetQueueAttributes'], resources: regionalQueueArns },
        // The regions' health items (core/health.ts), nothing else of the table: read them, and take
        // the one probe of a half-open region.
        { actions: ['dynamodb:BatchGetItem', 'dynamodb:UpdateItem'], resources: [table.arn], conditions: healthKeys },
        // The capacities set at run time (core/capacity.ts) and the fleets' presence items
        // (core/presence.ts), read only. One statement for both: they are read in one BatchGetItem
        // (aws/presence.ts), whose every key must match one statement's condition.
        { actions: ['dynamodb:BatchGetItem'], resources: [table.arn], conditions: keysStartingWith(capacityKey(''), presenceKey('')) },
      ],
    },
    home,
  );
  const select = dispatchFunction(
    {
      role: 'select',
      description: 'Chooses a region per message (pure policy code, no AWS calls)',
      // A few milliseconds of CPU per batch.
      memory: `${FUNCTION_MEMORY_MB.select} MB`,
      timeoutSeconds: FUNCTION_TIMEOUTS.selectSeconds,
      environment,
      permissions: [],
    },
    home,
  );
  const forward = dispatchFunction(
    {
      role: 'forward',
      description: 'Sends a batch to a regional queue, failing over to the other regions',
      // I/O-bound: SendMessageBatch across regions, up to 10 bodies of 256 KiB in memory.
      memory: `${FUNCTION_MEMORY_MB.forward} MB`,
      timeoutSeconds: FUNCTION_TIMEOUTS.forwardSeconds,
      environment,
      permissions: [
        // SendMessageBatch is authorized by sqs:SendMessage.
        { actions: ['sqs:SendMessage'], resources: regionalQueueArns },
        // A region whose send fails is marked unhealthy, and cleared when a send succeeds again.
        { actions: ['dynamodb:UpdateItem', 'dynamodb:DeleteItem'], resources: [table.arn], conditions: healthKeys },
      ],
    },
    home,
  );

  const machine = createStateMachine({
    names,
    regions: queues.regional.map((r) => r.region),
    functions: { snapshot, select, forward },
    table,
    deadLetterQueue: queues.dispatchDeadLetter,
    home,
  });

  const intake = dispatchFunction(
    {
      role: 'intake',
      description: 'Validates a master-queue batch and dispatches it through one Express execution',
      // Validates up to 10 bodies of 256 KiB and holds the execution's input and output; mostly waits.
      memory: `${FUNCTION_MEMORY_MB.intake} MB`,
      // Covers the synchronous execution (cut at TIMEOUTS.dispatchTimeoutSeconds) plus DLQ sends;
      // below the claim lease, and 6 x this <= the master queue's visibility timeout.
      timeoutSeconds: TIMEOUTS.intakeTimeoutSeconds,
      environment: {
        ...environment,
        STATE_MACHINE_ARN: machine.stateMachine.arn,
        DISPATCH_DLQ_URL: queues.dispatchDeadLetter.url,
      },
      permissions: [
        // What the event source mappings need to poll both lanes of the master queue on the function's behalf.
        {
          actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
          resources: [queues.master.arn, queues.masterHigh.arn],
        },
        { actions: ['states:StartSyncExecution'], resources: [machine.stateMachine.arn] },
        // Invalid input goes straight to the dispatch DLQ with its reason, the copy sized against the
        // DLQ's own MaximumMessageSize (read once per container)...
        { actions: ['sqs:SendMessage', 'sqs:GetQueueAttributes'], resources: [queues.dispatchDeadLetter.arn] },
        // ...once: a marker per dead-lettered master message, read when a batch comes back.
        {
          actions: ['dynamodb:BatchGetItem', 'dynamodb:PutItem'],
          resources: [table.arn],
          conditions: keysStartingWith(intakeDeadLetterKey('')),
        },
      ],
    },
    home,
  );

  const subscription = new aws.lambda.EventSourceMapping('IntakeSubscription', {
    eventSourceArn: queues.master.arn,
    functionName: intake.arn,
    batchSize: INTAKE_SUBSCRIPTION.batchSize,
    maximumBatchingWindowInSeconds: INTAKE_SUBSCRIPTION.maximumBatchingWindowInSeconds,
    // Only the failed messages of a batch return to the queue.
    functionResponseTypes: ['ReportBatchItemFailures'],
    scalingConfig: { maximumConcurrency: INTAKE_SUBSCRIPTION.maximumConcurrency },
  });
  // The high lane: pollers and concurrency of its own, so it never waits behind normal batches.
  const highSubscription = new aws.lambda.EventSourceMapping('IntakeHighSubscription', {
    eventSourceArn: queues.masterHigh.arn,
    functionName: intake.arn,
    batchSize: INTAKE_HIGH_SUBSCRIPTION.batchSize,
    maximumBatchingWindowInSeconds: INTAKE_HIGH_SUBSCRIPTION.maximumBatchingWindowInSeconds,
    functionResponseTypes: ['ReportBatchItemFailures'],
    scalingConfig: { maximumConcurrency: INTAKE_HIGH_SUBSCRIPTION.maximumConcurrency },
  });

  return { ...machine, functions: { intake, snapshot, select, forward }, subscription, highSubscription };
}
