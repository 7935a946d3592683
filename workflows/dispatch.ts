/**
 * The dispatch state machine, in Amazon States Language (JSONPath), as a typed function of the
 * resources it calls. The SAME object is deployed by stacks/ and executed by the tests and the local
 * stack (local/asl-runner.ts), so what is tested is what runs on AWS.
 *
 * Execution input (built by the intake, core/batching.ts):
 *   { batchId, executionName, now, leaseUntil, expiresAt, messages: [{ messageId, requestId, body, priority }] }
 * Execution output: { batchId, executionName, skipped: [outcome], forwarded: [[outcome] per region] }, where an
 * outcome is { messageId, requestId, outcome: dispatched|duplicate|dead-lettered|retry, region?, reason? }
 * (core/outcomes.ts flattens it to one outcome per message).
 *
 * Every message moves through the Forward branches as a "placement" (core/placement.ts):
 * { messageId, requestId, body, priority, status: pending|dispatched, region?, at?, reason?, failedOver }.
 *
 * Retries and dead-lettering are here, not hidden in code: every Forward branch retries its region,
 * fails over to the other regions, and dead-letters what no region took. Everything after the first
 * forward is caught, so a message once forwarded is always committed and never forwarded again.
 */
import { regionKey, TIMEOUTS } from '../core/topology.js';

export interface RetryPolicy {
  readonly intervalSeconds: number;
  readonly maxAttempts: number;
  readonly backoffRate: number;
}

export interface DispatchRefs {
  /** Regions in configured order: one Forward branch each. */
  readonly regions: readonly string[];
  /** Lambda function ARNs. */
  readonly functions: {
    readonly snapshot: string;
    readonly select: string;
    readonly forward: string;
  };
  /** The idempotency table (home region). */
  readonly tableName: string;
  /** The dispatch DLQ (home region) for messages no region would take. */
  readonly deadLetterQueueUrl: string;
  /** Retry of a failing region before failing over; defaults 1 s, 2 attempts, x2, full jitter. */
  readonly regionRetry?: RetryPolicy;
}

/** Names of the states that tests and the local runner refer to. Unique across the definition, as AWS requires. */
export const STATE = {
  claim: 'Claim requests',
  putClaim: 'Put claim',
  readClaim: 'Read claim',
  snapshot: 'Read queue depths',
  select: 'Choose regions',
  forwardAll: 'Forward to regions',
  report: 'Report outcomes',
  forward: (region: string) => `Forward ${region}`,
  failover: (region: string) => `Failover from ${region}`,
  settle: (region: string) => `Settle ${region}`,
  markDispatched: (region: string) => `Mark dispatched ${region}`,
  deadLetter: (region: string) => `Dead-letter ${region}`,
  releaseDeadLettered: (region: string) => `Release dead-lettered ${region}`,
  releaseUndeliverable: (region: string) => `Release undeliverable ${region}`,
} as const;

export const CLAIM_STATUS = { inProgress: 'IN_PROGRESS', dispatched: 'DISPATCHED' } as const;

type State = Record<string, unknown>;
export interface Definition {
  readonly Comment: string;
  readonly StartAt: string;
  readonly TimeoutSeconds: number;
  readonly States: Record<string, State>;
}

const LAMBDA_TRANSIENT = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

/** Errors the forward function throws when a region took nothing (see functions/forward.ts). */
export const REGION_UNAVAILABLE = 'RegionUnavailable';

const lambdaRetry = [{ ErrorEquals: LAMBDA_TRANSIENT, IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 2, JitterStrategy: 'FULL' }];

/** Retry any error of a service integration except the named ones, which are answers, not faults. */
function serviceRetry(answers: readonly string[] = []) {
  return [
    ...(answers.length ? [{ ErrorEquals: answers, MaxAttempts: 0 }] : []),
    { ErrorEquals: ['States.ALL'], IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 2, JitterStrategy: 'FULL' },
  ];
}

const numberText = (path: string) => ({ 'N.$': `States.Format('{}', ${path})` });

function claimStates(tableName: string): Record<string, State> {
  return {
    [STATE.putClaim]: {
      Type: 'Task',
      Comment: 'Claim the request_id with a lease; an expired claim or an expired record is taken over.',
      Resource: 'arn:aws:states:::dynamodb:putItem',
      Parameters: {
        TableName: tableName,
        Item: {
          request_id: { 'S.$': '$.message.requestId' },
          status: { S: CLAIM_STATUS.inProgress },
          owner: { 'S.$': '$.owner' },
          batchId: { 'S.$': '$.batchId' },
          messageId: { 'S.$': '$.message.messageId' },
          claimedAt: numberText('$.now'),
          leaseUntil: numberText('$.leaseUntil'),
          expiresAt: numberText('$.expiresAt'),
        },
        ConditionExpression:
          'attribute_not_exists(request_id) OR (#status = :inProgress AND leaseUntil < :now) OR expiresAt < :now',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':inProgress': { S: CLAIM_STATUS.inProgress }, ':now': numberText('$.now') },
      },
      ResultPath: null,
      Retry: serviceRetry(['DynamoDB.ConditionalCheckFailedException']),
      Catch: [
        { ErrorEquals: ['DynamoDB.ConditionalCheckFailedException'], ResultPath: '$.conflict', Next: STATE.readClaim },
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Claim unavailable' },
      ],
      Next: 'Claimed',
    },
    Claimed: {
      Type: 'Pass',
      Parameters: { 'messageId.$': '$.message.messageId', claim: 'claimed' },
      End: true,
    },
    [STATE.readClaim]: {
      Type: 'Task',
      Comment: 'The claim is held: find out by whom, to tell a duplicate from a busy request.',
      Resource: 'arn:aws:states:::dynamodb:getItem',
      Parameters: { TableName: tableName, Key: { request_id: { 'S.$': '$.message.requestId' } }, ConsistentRead: true },
      ResultPath: '$.record',
      Retry: serviceRetry(),
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Claim unavailable' }],
      Next: 'Record found?',
    },
    'Record found?': {
      Type: 'Choice',
      Choices: [{ Variable: '$.record.Item', IsPresent: true, Next: 'Who holds the claim?' }],
      Default: 'Claim released meanwhile',
    },
    'Who holds the claim?': {
      Type: 'Choice',
      Choices: [
        { Variable: '$.record.Item.status.S', StringEquals: CLAIM_STATUS.dispatched, Next: 'Already dispatched' },
        { Variable: '$.record.Item.owner.S', StringEqualsPath: '$.owner', Next: 'Claimed in this batch' },
      ],
      Default: 'Claim busy',
    },
    'Already dispatched': {
      Type: 'Pass',
      Parameters: {
        'messageId.$': '$.message.messageId',
        claim: 'duplicate',
        'reason.$': "States.Format('request_id already dispatched to {} by {}', $.record.Item.region.S, $.record.Item.owner.S)",
      },
      End: true,
    },
    'Claimed in this batch': {
      Type: 'Pass',
      Parameters: { 'messageId.$': '$.message.messageId', claim: 'duplicate', reason: 'request_id repeated within this batch' },
      End: true,
    },
    'Claim busy': {
      Type: 'Pass',
      Parameters: {
        'messageId.$': '$.message.messageId',
        claim: 'busy',
        'reason.$': "States.Format('request_id claimed by {} until {}', $.record.Item.owner.S, $.record.Item.leaseUntil.N)",
      },
      End: true,
    },
    'Claim released meanwhile': {
      Type: 'Pass',
      Parameters: { 'messageId.$': '$.message.messageId', claim: 'busy', reason: 'claim released by its holder meanwhile' },
      End: true,
    },
    'Claim unavailable': {
      Type: 'Pass',
      Parameters: {
        'messageId.$': '$.message.messageId',
        claim: 'error',
        'reason.$': "States.Format('idempotency table unavailable: {}', $.error.Error)",
      },
      End: true,
    },
  };
}

/** The outcome of a forwarded message, built from its placement inside a Settle iteration. */
const dispatchedOutcome = {
  'messageId.$': '$.placement.messageId',
  'requestId.$': '$.requestId',
  outcome: 'dispatched',
  'region.$': '$.placement.region',
  'failedOver.$': '$.placement.failedOver',
};

function forwardBranch(region: string, refs: DispatchRefs): State {
  const key = regionKey(region);
  const retry = refs.regionRetry ?? { intervalSeconds: 1, maxAttempts: 2, backoffRate: 2 };
  const names = {
    any: `Anything for ${region}?`,
    forward: STATE.forward(region),
    failed: `Region ${region} failed`,
    pending: `Anything pending ${region}?`,
    failover: STATE.failover(region),
    settle: STATE.settle(region),
    nothing: `Nothing for ${region}`,
  };
  const context = {
    'batchId.$': '$.batchId',
    'executionName.$': '$.executionName',
    'snapshot.$': '$.snapshot',
  };
  const item = {
    isDispatched: `Dispatched ${region}?`,
    mark: STATE.markDispatched(region),
    dispatched: `Dispatched via ${region}`,
    commitFailed: `Dispatched via ${region}, commit failed`,
    deadLetter: STATE.deadLetter(region),
    releaseDeadLettered: STATE.releaseDeadLettered(region),
    deadLettered: `Dead-lettered from ${region}`,
    releaseUndeliverable: STATE.releaseUndeliverable(region),
    undeliverable: `Undeliverable from ${region}`,
  };
  const releaseClaim = (next: string) => ({
    Type: 'Task',
    Resource: 'arn:aws:states:::dynamodb:deleteItem',
    Comment: 'Release only a claim this execution still holds, so the redelivery is not taken for a duplicate.',
    Parameters: {
      TableName: refs.tableName,
      Key: { request_id: { 'S.$': '$.requestId' } },
      ConditionExpression: '#owner = :owner AND #status = :inProgress',
      ExpressionAttributeNames: { '#owner': 'owner', '#status': 'status' },
      ExpressionAttributeValues: { ':owner': { 'S.$': '$.owner' }, ':inProgress': { S: CLAIM_STATUS.inProgress } },
    },
    ResultPath: null,
    Retry: serviceRetry(['DynamoDB.ConditionalCheckFailedException']),
    // A claim that cannot be released expires with its lease; the outcome stands.
    Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.releaseError', Next: next }],
    Next: next,
  });

  return {
    StartAt: names.any,
    States: {
      [names.any]: {
        Type: 'Choice',
        Choices: [{ Variable: `$.assignments.${key}[0]`, IsPresent: true, Next: names.forward }],
        Default: names.nothing,
      },
      [names.nothing]: { Type: 'Pass', Result: { outcomes: [] }, End: true },
      [names.forward]: {
        Type: 'Task',
        Resource: refs.functions.forward,
        Parameters: { ...context, region, 'placements.$': `$.assignments.${key}` },
        TimeoutSeconds: 60,
        Retry: [
          ...lambdaRetry,
          {
            ErrorEquals: [REGION_UNAVAILABLE],
            IntervalSeconds: retry.intervalSeconds,
            MaxAttempts: retry.maxAttempts,
            BackoffRate: retry.backoffRate,
            JitterStrategy: 'FULL',
          },
        ],
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.forwardError', Next: names.failed }],
        Next: names.pending,
      },
      [names.failed]: {
        Type: 'Pass',
        Comment: 'The region took nothing: every message of this branch is pending, with the reason.',
        Parameters: {
          ...context,
          'placements.$': `$.assignments.${key}`,
          'reason.$': `States.Format('${region}: {}: {}', $.forwardError.Error, $.forwardError.Cause)`,
        },
        Next: names.failover,
      },
      [names.pending]: {
        Type: 'Choice',
        Choices: [{ Variable: '$.pendingCount', NumericGreaterThan: 0, Next: names.failover }],
        Default: names.settle,
      },
      [names.failover]: {
        Type: 'Task',
        Comment: 'Place what is pending in the other regions, least loaded first; what none takes stays pending.',
        Resource: refs.functions.forward,
        Parameters: {
          ...context,
          exclude: [region],
          'placements.$': '$.placements',
          'reason.$': '$.reason',
        },
        TimeoutSeconds: 60,
        Retry: lambdaRetry,
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failoverError', Next: names.settle }],
        Next: names.settle,
      },
      [names.settle]: {
        Type: 'Map',
        Comment: 'Per message: mark DISPATCHED, or dead-letter with the reason and release the claim.',
        ItemsPath: '$.placements',
        ItemSelector: {
          'placement.$': '$$.Map.Item.Value',
          'requestId.$': '$$.Map.Item.Value.requestId',
          'owner.$': '$.executionName',
          'batchId.$': '$.batchId',
        },
        MaxConcurrency: 10,
        ItemProcessor: {
          ProcessorConfig: { Mode: 'INLINE' },
          StartAt: item.isDispatched,
          States: {
            [item.isDispatched]: {
              Type: 'Choice',
              Choices: [{ Variable: '$.placement.status', StringEquals: 'dispatched', Next: item.mark }],
              Default: item.deadLetter,
            },
            [item.mark]: {
              Type: 'Task',
              Resource: 'arn:aws:states:::dynamodb:updateItem',
              Parameters: {
                TableName: refs.tableName,
                Key: { request_id: { 'S.$': '$.requestId' } },
                UpdateExpression: 'SET #status = :dispatched, #region = :region, dispatchedAt = :at REMOVE leaseUntil',
                ConditionExpression: '#owner = :owner',
                ExpressionAttributeNames: { '#status': 'status', '#region': 'region', '#owner': 'owner' },
                ExpressionAttributeValues: {
                  ':dispatched': { S: CLAIM_STATUS.dispatched },
                  ':region': { 'S.$': '$.placement.region' },
                  ':at': { 'S.$': '$.placement.at' },
                  ':owner': { 'S.$': '$.owner' },
                },
              },
              ResultPath: null,
              // Tried longer than other writes: a forward whose commit is lost leaves a claim that, once
              // its lease expires, would let a later duplicate through (about 30 s at most).
              Retry: [
                { ErrorEquals: ['DynamoDB.ConditionalCheckFailedException'], MaxAttempts: 0 },
                { ErrorEquals: ['States.ALL'], IntervalSeconds: 1, MaxAttempts: 5, BackoffRate: 2, MaxDelaySeconds: 8, JitterStrategy: 'FULL' },
              ],
              Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.commitError', Next: item.commitFailed }],
              Next: item.dispatched,
            },
            [item.dispatched]: { Type: 'Pass', Parameters: dispatchedOutcome, End: true },
            [item.commitFailed]: {
              Type: 'Pass',
              Comment: 'Forwarded all the same: the message is in its regional queue and must not be retried.',
              Parameters: {
                ...dispatchedOutcome,
                'reason.$': "States.Format('forwarded, but marking DISPATCHED failed: {}', $.commitError.Error)",
              },
              End: true,
            },
            [item.deadLetter]: {
              Type: 'Task',
              Resource: 'arn:aws:states:::sqs:sendMessage',
              Comment: 'The original body, untouched; the reason travels as a message attribute.',
              Parameters: {
                QueueUrl: refs.deadLetterQueueUrl,
                'MessageBody.$': '$.placement.body',
                MessageAttributes: {
                  reason: { DataType: 'String', 'StringValue.$': '$.placement.reason' },
                  request_id: { DataType: 'String', 'StringValue.$': '$.requestId' },
                  source_message_id: { DataType: 'String', 'StringValue.$': '$.placement.messageId' },
                  batch_id: { DataType: 'String', 'StringValue.$': '$.batchId' },
                  execution: { DataType: 'String', 'StringValue.$': '$.owner' },
                },
              },
              ResultPath: null,
              Retry: serviceRetry(),
              Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.deadLetterError', Next: item.releaseUndeliverable }],
              Next: item.releaseDeadLettered,
            },
            [item.releaseDeadLettered]: releaseClaim(item.deadLettered),
            [item.deadLettered]: {
              Type: 'Pass',
              Parameters: {
                'messageId.$': '$.placement.messageId',
                'requestId.$': '$.requestId',
                outcome: 'dead-lettered',
                'reason.$': '$.placement.reason',
              },
              End: true,
            },
            [item.releaseUndeliverable]: releaseClaim(item.undeliverable),
            [item.undeliverable]: {
              Type: 'Pass',
              Comment: 'Neither a region nor the DLQ took it: released, so the master queue delivers it again.',
              Parameters: {
                'messageId.$': '$.placement.messageId',
                'requestId.$': '$.requestId',
                outcome: 'retry',
                'reason.$': "States.Format('{}; dead-letter queue unavailable: {}', $.placement.reason, $.deadLetterError.Error)",
              },
              End: true,
            },
          },
        },
        ResultSelector: { 'outcomes.$': '$' },
        End: true,
      },
    },
  };
}

export function dispatchDefinition(refs: DispatchRefs): Definition {
  if (refs.regions.length === 0) throw new Error('dispatchDefinition: at least one region is required');
  if (new Set(refs.regions.map(regionKey)).size !== refs.regions.length) {
    throw new Error(`dispatchDefinition: regions must be distinct: ${refs.regions.join(', ')}`);
  }
  return {
    Comment: 'Claim, place, forward and commit one batch of inference requests (workflows/dispatch.ts).',
    StartAt: STATE.claim,
    TimeoutSeconds: TIMEOUTS.dispatchTimeoutSeconds,
    States: {
      [STATE.claim]: {
        Type: 'Map',
        ItemsPath: '$.messages',
        ItemSelector: {
          'message.$': '$$.Map.Item.Value',
          'owner.$': '$.executionName',
          'batchId.$': '$.batchId',
          'now.$': '$.now',
          'leaseUntil.$': '$.leaseUntil',
          'expiresAt.$': '$.expiresAt',
        },
        MaxConcurrency: 10,
        ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: STATE.putClaim, States: claimStates(refs.tableName) },
        ResultPath: '$.claims',
        Next: STATE.snapshot,
      },
      [STATE.snapshot]: {
        Type: 'Task',
        Resource: refs.functions.snapshot,
        Parameters: { 'now.$': '$.now' },
        ResultPath: '$.snapshot',
        TimeoutSeconds: 30,
        Retry: lambdaRetry,
        // Without readings the policy still places by capacity: better than failing the batch.
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.snapshotError', Next: 'No depth readings' }],
        Next: STATE.select,
      },
      'No depth readings': {
        Type: 'Pass',
        Result: { readings: [] },
        ResultPath: '$.snapshot',
        Next: STATE.select,
      },
      [STATE.select]: {
        Type: 'Task',
        Resource: refs.functions.select,
        Parameters: {
          'batchId.$': '$.batchId',
          'executionName.$': '$.executionName',
          'messages.$': '$.messages',
          'claims.$': '$.claims',
          'snapshot.$': '$.snapshot',
        },
        TimeoutSeconds: 30,
        Retry: lambdaRetry,
        Next: STATE.forwardAll,
      },
      [STATE.forwardAll]: {
        Type: 'Parallel',
        Branches: refs.regions.map((region) => forwardBranch(region, refs)),
        ResultPath: '$.forwarded',
        Next: STATE.report,
      },
      [STATE.report]: {
        Type: 'Pass',
        Parameters: {
          'batchId.$': '$.batchId',
          'executionName.$': '$.executionName',
          'skipped.$': '$.skipped',
          'forwarded.$': '$.forwarded[*].outcomes',
        },
        End: true,
      },
    },
  };
}
