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
 * Claims are owned by the execution's unique id ($$.Execution.Id: one per run, even when the intake's
 * StartSyncExecution is retried under the same name), so a claim write that landed but whose answer
 * was lost is recognised as this run's own, and a second run of the same name sees "busy".
 *
 * Every message moves through the Forward branches as a "placement" (core/placement.ts):
 * { messageId, requestId, body, priority, status: pending|dispatched|unconfirmed, region?, token?, reason?, ... }.
 *
 * Retries and dead-lettering are here, not hidden in code. A region that refused a send (known not
 * delivered) is retried once and then failed over; a send without an answer (it may have arrived) is
 * retried once in the same region and then released for a later retry, never failed over or
 * dead-lettered, so that a message is in at most one region unless a send was ambiguous. Everything
 * after the first forward is caught, so a message once forwarded is always committed, never forwarded
 * again by this execution. Every Task has a TimeoutSeconds: the worst case is bounded by construction
 * (core/time-budget.ts).
 */
import { RECORD_STATUS } from '../core/record.js';
import { DEAD_LETTER_KEY } from '../core/select.js';
import { regionKey, TASK_TIMEOUTS, TIMEOUTS } from '../core/topology.js';

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
  /** Retry of a failing region (same region) before failing over or giving up; defaults 1 s, 1 attempt, x2, full jitter. */
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
  forwardAgain: (region: string) => `Forward ${region} again`,
  failover: (region: string) => `Failover from ${region}`,
  settle: (region: string) => `Settle ${region}`,
  markDispatched: (region: string) => `Mark dispatched ${region}`,
  deadLetter: (region: string) => `Dead-letter ${region}`,
  deadLetterAgain: (region: string) => `Dead-letter ${region} again`,
  markDeadLettered: (region: string) => `Mark dead-lettered ${region}`,
  releaseUnconfirmed: (region: string) => `Release unconfirmed ${region}`,
  releaseUndeliverable: (region: string) => `Release undeliverable ${region}`,
  releaseUnanswered: (region: string) => `Release unanswered ${region}`,
} as const;

/** The record's statuses as the definition writes them (core/record.ts). */
export const CLAIM_STATUS = {
  inProgress: RECORD_STATUS.inProgress,
  dispatched: RECORD_STATUS.dispatched,
  deadLettered: RECORD_STATUS.deadLettered,
  redriven: RECORD_STATUS.redriven,
} as const;

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

/**
 * Lambda errors that prove the function never ran (the invocation was throttled before it started).
 * Every other Lambda error (a service exception, an SDK client error, a runtime that died) may come
 * after the function did its work.
 */
export const LAMBDA_NOT_RUN = ['Lambda.TooManyRequestsException'];
/** Lambda errors of the invocation itself, which may come before or after the function ran. */
const LAMBDA_ANSWER_LOST = LAMBDA_TRANSIENT.filter((name) => !LAMBDA_NOT_RUN.includes(name));

/** Errors the forward function throws when a region took nothing (see functions/forward.ts). */
export const REGION_UNAVAILABLE = 'RegionUnavailable';
export const REGION_UNCONFIRMED = 'RegionUnconfirmed';

/** Retries of a function without side effects: any transient Lambda error. */
const lambdaRetry = (maxAttempts: number, errors: readonly string[] = LAMBDA_TRANSIENT) =>
  maxAttempts ? [{ ErrorEquals: errors, IntervalSeconds: 1, MaxAttempts: maxAttempts, BackoffRate: 2, JitterStrategy: 'FULL' }] : [];

/** Retry any error of a service integration except the named ones, which are answers, not faults. */
function serviceRetry(answers: readonly string[] = [], maxAttempts = 2) {
  return [
    ...(answers.length ? [{ ErrorEquals: answers, MaxAttempts: 0 }] : []),
    { ErrorEquals: ['States.ALL'], IntervalSeconds: 1, MaxAttempts: maxAttempts, BackoffRate: 2, JitterStrategy: 'FULL' },
  ];
}

const CONDITION_FAILED = 'DynamoDB.ConditionalCheckFailedException';

/**
 * Answers of the dead-letter send that prove the DLQ took nothing (a rejection of the request). Any other
 * failure (a 5xx, a timeout, an SDK client error) may come after the message was stored.
 */
export const DEAD_LETTER_REFUSED = [
  'SQS.QueueDoesNotExistException',
  'SQS.QueueDoesNotExist',
  'SQS.AWS.SimpleQueueService.NonExistentQueue',
  'SQS.InvalidMessageContentsException',
  'SQS.InvalidMessageContents',
  'SQS.InvalidParameterValueException',
  'SQS.InvalidParameterValue',
  'SQS.InvalidAttributeValue',
  'SQS.AccessDeniedException',
  'SQS.AccessDenied',
  'SQS.RequestThrottled',
  'SQS.ThrottlingException',
  'SQS.KmsAccessDeniedException',
  'SQS.KmsDisabledException',
  'SQS.KmsThrottledException',
  'SQS.UnsupportedOperation',
];

/** The extra Forward branch's label and its key in the select step's assignments. */
export const DEAD_LETTER_AGAIN = { label: 'again', key: DEAD_LETTER_KEY } as const;
const numberText = (path: string) => ({ 'N.$': `States.Format('{}', ${path})` });
const dynamoTask = (action: 'putItem' | 'getItem' | 'updateItem' | 'deleteItem') => ({
  Type: 'Task',
  Resource: `arn:aws:states:::dynamodb:${action}`,
  TimeoutSeconds: TASK_TIMEOUTS.dynamodbSeconds,
});

/** Attributes a claim taking a record over starts without (a record past its TTL is a new request). */
const CLEARED_ON_CLAIM = [
  '#region',
  'dispatchedAt',
  '#token',
  'reason',
  'deadLetteredAt',
  'acceptedToken',
  'acceptedBy',
  'acceptedAt',
  'acceptedUntil',
  'workStatus',
  'completedAt',
  // The fence's lease (worker/record.ts): a record taken over as new starts with none.
  'leaseVersion',
  'leaseSeconds',
];

function claimStates(tableName: string): Record<string, State> {
  const status = (value: string) => ({ And: [{ Variable: '$.record.Item.status.S', IsPresent: true }, { Variable: '$.record.Item.status.S', StringEquals: value }] });
  return {
    [STATE.putClaim]: {
      ...dynamoTask('updateItem'),
      Comment:
        'Claim the request_id with a lease. Taken over: an absent record, one past its TTL, an expired or released claim, ' +
        'or a redriven one; never one a worker has accepted.',
      Parameters: {
        TableName: tableName,
        Key: { request_id: { 'S.$': '$.message.requestId' } },
        UpdateExpression:
          'SET #status = :inProgress, #owner = :owner, executionName = :executionName, batchId = :batchId, messageId = :messageId, ' +
          `claimedAt = :now, leaseUntil = :leaseUntil, expiresAt = :expiresAt ADD attempts :one REMOVE ${CLEARED_ON_CLAIM.join(', ')}`,
        ConditionExpression:
          'attribute_not_exists(request_id) OR expiresAt < :now OR (attribute_not_exists(acceptedToken) AND ' +
          '(#status = :redriven OR (#status = :inProgress AND leaseUntil < :now)))',
        ExpressionAttributeNames: { '#status': 'status', '#owner': 'owner', '#region': 'region', '#token': 'token' },
        ExpressionAttributeValues: {
          ':inProgress': { S: CLAIM_STATUS.inProgress },
          ':redriven': { S: CLAIM_STATUS.redriven },
          ':owner': { 'S.$': '$.owner' },
          ':executionName': { 'S.$': '$.executionName' },
          ':batchId': { 'S.$': '$.batchId' },
          ':messageId': { 'S.$': '$.message.messageId' },
          ':now': numberText('$.now'),
          ':leaseUntil': numberText('$.leaseUntil'),
          ':expiresAt': numberText('$.expiresAt'),
          ':one': { N: '1' },
        },
        ReturnValues: 'ALL_NEW',
      },
      ResultSelector: { 'Attributes.$': '$.Attributes' },
      ResultPath: '$.claimed',
      Retry: serviceRetry([CONDITION_FAILED]),
      Catch: [
        { ErrorEquals: [CONDITION_FAILED], ResultPath: '$.conflict', Next: STATE.readClaim },
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Claim unavailable' },
      ],
      Next: 'Tried before?',
    },
    'Tried before?': {
      Type: 'Choice',
      Comment:
        'A send of an earlier run had no answer: a dead-letter send means the message may be in the DLQ, so it goes ' +
        'there again, never to a region; a regional send means the copy may be in that region, so prefer it.',
      Choices: [
        { Variable: '$.claimed.Attributes.triedDeadLetter.BOOL', IsPresent: true, Next: 'Claimed, dead-letter again' },
        { Variable: '$.claimed.Attributes.triedRegion.S', IsPresent: true, Next: 'Claimed, prefer tried region' },
      ],
      Default: 'Claimed',
    },
    'Claimed, dead-letter again': {
      Type: 'Pass',
      Parameters: {
        'messageId.$': '$.message.messageId',
        claim: 'claimed',
        deadLetter: true,
        'reason.$': '$.claimed.Attributes.deadLetterReason.S',
        'attempt.$': '$.claimed.Attributes.attempts.N',
      },
      End: true,
    },
    'Claimed, prefer tried region': {
      Type: 'Pass',
      Parameters: {
        'messageId.$': '$.message.messageId',
        claim: 'claimed',
        'preferRegion.$': '$.claimed.Attributes.triedRegion.S',
        'attempt.$': '$.claimed.Attributes.attempts.N',
      },
      End: true,
    },
    Claimed: {
      Type: 'Pass',
      Parameters: { 'messageId.$': '$.message.messageId', claim: 'claimed', 'attempt.$': '$.claimed.Attributes.attempts.N' },
      End: true,
    },
    [STATE.readClaim]: {
      ...dynamoTask('getItem'),
      Comment: 'The claim is held: find out by whom, to tell a duplicate from a busy request or from our own landed write.',
      Parameters: { TableName: tableName, Key: { request_id: { 'S.$': '$.message.requestId' } }, ConsistentRead: true },
      ResultPath: '$.record',
      Retry: serviceRetry([], 1),
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
        { ...status(CLAIM_STATUS.dispatched), Next: 'Already dispatched' },
        { ...status(CLAIM_STATUS.deadLettered), Next: 'Already dead-lettered' },
        {
          And: [
            { Variable: '$.record.Item.owner.S', IsPresent: true },
            { Variable: '$.record.Item.owner.S', StringEqualsPath: '$.owner' },
            { Variable: '$.record.Item.messageId.S', IsPresent: true },
            { Variable: '$.record.Item.messageId.S', StringEqualsPath: '$.message.messageId' },
          ],
          Next: 'Claim landed before',
        },
        {
          And: [
            { Variable: '$.record.Item.owner.S', IsPresent: true },
            { Variable: '$.record.Item.owner.S', StringEqualsPath: '$.owner' },
          ],
          Next: 'Claimed in this batch',
        },
        { Variable: '$.record.Item.acceptedToken.S', IsPresent: true, Next: 'Already accepted' },
        {
          And: [
            { Variable: '$.record.Item.owner.S', IsPresent: true },
            { Variable: '$.record.Item.leaseUntil.N', IsPresent: true },
          ],
          Next: 'Claim busy',
        },
      ],
      Default: 'Claim busy, holder unknown',
    },
    'Claim landed before': {
      Type: 'Pass',
      Comment: 'An earlier attempt of this very write was applied and its answer lost: the claim is ours.',
      Parameters: { 'Attributes.$': '$.record.Item' },
      ResultPath: '$.claimed',
      Next: 'Tried before?',
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
      Comment: 'Another message of this execution holds it (the intake drops such repeats; this keeps the workflow safe alone).',
      Parameters: { 'messageId.$': '$.message.messageId', claim: 'duplicate', reason: 'request_id repeated within this batch' },
      End: true,
    },
    'Already dead-lettered': {
      Type: 'Pass',
      Comment: 'It is in the dispatch DLQ with its reason; only a redrive (status REDRIVEN) dispatches it again.',
      Parameters: {
        'messageId.$': '$.message.messageId',
        claim: 'duplicate',
        reason: 'request_id already dead-lettered (in the dispatch DLQ with its reason; redrive it to dispatch it again)',
      },
      End: true,
    },
    'Already accepted': {
      Type: 'Pass',
      Parameters: {
        'messageId.$': '$.message.messageId',
        claim: 'duplicate',
        'reason.$': "States.Format('request_id already accepted by worker {}', $.record.Item.acceptedBy.S)",
      },
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
    'Claim busy, holder unknown': {
      Type: 'Pass',
      Parameters: { 'messageId.$': '$.message.messageId', claim: 'busy', reason: 'request_id held by a record this execution cannot take over' },
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

/** Fields every path into a Settle map carries (see its ItemSelector). */
const branchContext = {
  'batchId.$': '$.batchId',
  'executionName.$': '$.executionName',
  'snapshot.$': '$.snapshot',
};

/**
 * The Settle map of a branch. `deadLetterOnly`: the branch of messages that go to the DLQ again, whose
 * placements are never dispatched, unconfirmed or unanswered: only the dead-letter states, so that the
 * graph and the log hold no state that no execution can enter.
 */
function settleMap(region: string, refs: DispatchRefs, deadLetterOnly = false): State {
  const item = {
    path: `Settle path ${region}`,
    mark: STATE.markDispatched(region),
    dispatched: `Dispatched via ${region}`,
    commitFailed: `Dispatched via ${region}, commit failed`,
    deadLetter: STATE.deadLetter(region),
    deadLetterAgain: STATE.deadLetterAgain(region),
    markDeadLettered: STATE.markDeadLettered(region),
    deadLettered: `Dead-lettered from ${region}`,
    releaseUnconfirmed: STATE.releaseUnconfirmed(region),
    unconfirmed: `Unconfirmed from ${region}`,
    releaseUndeliverable: STATE.releaseUndeliverable(region),
    undeliverable: `Undeliverable from ${region}`,
    releaseUnanswered: STATE.releaseUnanswered(region),
    releaseFailoverUnanswered: `Release failover unanswered ${region}`,
    releaseDeadLetterUnanswered: `Release dead-letter unanswered ${region}`,
    deadLetterUnanswered: `Dead-letter unanswered from ${region}`,
    unanswered: `Unanswered from ${region}`,
  };
  const ownClaim = {
    ConditionExpression: '#owner = :owner AND #status = :inProgress',
    names: { '#owner': 'owner', '#status': 'status' },
    values: { ':owner': { 'S.$': '$.owner' }, ':inProgress': { S: CLAIM_STATUS.inProgress } },
  };
  /**
   * Ends the lease now (the record stays, with where a send may have gone), so the redelivery of the
   * message takes the claim over at once and prefers that region. A claim that cannot be released
   * expires with its lease.
   */
  const release = (next: string, tried: 'placement' | 'branch' | 'none' | 'dead-letter') => ({
    ...dynamoTask('updateItem'),
    Comment:
      tried === 'none'
        ? 'Release only a claim this execution still holds, so the redelivery is not taken for a duplicate.'
        : 'Release, recording where the unanswered send went: the next run prefers that region.',
    Parameters: {
      TableName: refs.tableName,
      Key: { request_id: { 'S.$': '$.requestId' } },
      UpdateExpression: {
        placement: 'SET leaseUntil = :zero, triedRegion = :region, triedToken = :token',
        branch: 'SET leaseUntil = :zero, triedRegion = :region',
        'dead-letter': 'SET leaseUntil = :zero, triedDeadLetter = :true, deadLetterReason = :reason',
        none: 'SET leaseUntil = :zero',
      }[tried],
      ConditionExpression: ownClaim.ConditionExpression,
      ExpressionAttributeNames: ownClaim.names,
      ExpressionAttributeValues: {
        ...ownClaim.values,
        ':zero': { N: '0' },
        ...(tried === 'placement' ? { ':region': { 'S.$': '$.placement.region' }, ':token': { 'S.$': '$.placement.token' } } : {}),
        ...(tried === 'branch' ? { ':region': { S: region } } : {}),
        ...(tried === 'dead-letter' ? { ':true': { BOOL: true }, ':reason': { 'S.$': '$.placement.reason' } } : {}),
      },
    },
    ResultPath: null,
    Retry: serviceRetry([CONDITION_FAILED]),
    Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.releaseError', Next: next }],
    Next: next,
  });

  /** The dead-letter send (first attempt and the one after an unanswered attempt share it). */
  const deadLetterSend = {
    Type: 'Task',
    Resource: 'arn:aws:states:::sqs:sendMessage',
    TimeoutSeconds: TASK_TIMEOUTS.sqsSeconds,
    Parameters: {
      QueueUrl: refs.deadLetterQueueUrl,
      'MessageBody.$': '$.placement.body',
      MessageAttributes: {
        reason: { DataType: 'String', 'StringValue.$': '$.placement.reason' },
        request_id: { DataType: 'String', 'StringValue.$': '$.requestId' },
        source_message_id: { DataType: 'String', 'StringValue.$': '$.placement.messageId' },
        batch_id: { DataType: 'String', 'StringValue.$': '$.batchId' },
        execution: { DataType: 'String', 'StringValue.$': '$.executionName' },
      },
    },
    ResultPath: null,
  };

  const states: Record<string, State> = {
    [item.path]: {
      Type: 'Choice',
      Choices: [
        { Variable: '$.placement.status', StringEquals: 'dispatched', Next: item.mark },
        // The step that held these placements ended without an answer: any may have been sent.
        { Variable: '$.unanswered', StringEquals: 'forward', Next: item.releaseUnanswered },
        { Variable: '$.unanswered', StringEquals: 'failover', Next: item.releaseFailoverUnanswered },
        { Variable: '$.placement.status', StringEquals: 'unconfirmed', Next: item.releaseUnconfirmed },
      ],
      Default: item.deadLetter,
    },
    [item.mark]: {
      ...dynamoTask('updateItem'),
      Parameters: {
        TableName: refs.tableName,
        Key: { request_id: { 'S.$': '$.requestId' } },
        UpdateExpression:
          'SET #status = :dispatched, #region = :region, dispatchedAt = :at, #token = :token ' +
          'REMOVE leaseUntil, triedDeadLetter, deadLetterReason ADD tokens :tokens',
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { '#status': 'status', '#region': 'region', '#owner': 'owner', '#token': 'token' },
        ExpressionAttributeValues: {
          ':dispatched': { S: CLAIM_STATUS.dispatched },
          ':region': { 'S.$': '$.placement.region' },
          ':at': { 'S.$': '$.placement.at' },
          ':token': { 'S.$': '$.placement.token' },
          ':tokens': { 'SS.$': '$.placement.tokens' },
          ':owner': { 'S.$': '$.owner' },
        },
      },
      ResultPath: null,
      // Tried longer than any other write, as long as the time budget allows (AWS advises retrying a
      // throttled write for about a minute; the budget leaves 13 s of backoff here). No jitter: full
      // jitter could give up within a second of a throttle, and a commit must outlast the throttle, not
      // spread it. A lost commit leaves a claim that, once its lease expires, lets a later duplicate
      // through (README, the guarantee: a lost commit).
      Retry: [
        { ErrorEquals: [CONDITION_FAILED], MaxAttempts: 0 },
        { ErrorEquals: ['States.ALL'], IntervalSeconds: 1, MaxAttempts: 4, BackoffRate: 2, MaxDelaySeconds: 6, JitterStrategy: 'NONE' },
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
    [item.releaseUnconfirmed]: release(item.unconfirmed, 'placement'),
    [item.unconfirmed]: {
      Type: 'Pass',
      Comment: 'The master queue delivers it again; the next run sends it to the same region (the fence drops a second copy).',
      Parameters: {
        'messageId.$': '$.placement.messageId',
        'requestId.$': '$.requestId',
        outcome: 'retry',
        'reason.$': '$.placement.reason',
      },
      End: true,
    },
    [item.deadLetter]: {
      ...deadLetterSend,
      Comment: 'The original body, untouched; the reason travels as a message attribute. Only refusals are retried here.',
      // Refusals only: Step Functions hands a Catch the LAST attempt's error, so a retrier that also took
      // unanswered sends could report "refused" for a message an earlier attempt put in the DLQ.
      Retry: [{ ErrorEquals: DEAD_LETTER_REFUSED, IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 2, JitterStrategy: 'FULL' }],
      Catch: [
        // Refused every time: nothing reached the DLQ, so a later delivery may still go to a region.
        { ErrorEquals: DEAD_LETTER_REFUSED, ResultPath: '$.deadLetterError', Next: item.releaseUndeliverable },
        // No answer: it may be in the DLQ; sent once more, and from here on never to a region.
        { ErrorEquals: ['States.ALL'], ResultPath: '$.deadLetterError', Next: item.deadLetterAgain },
      ],
      Next: item.markDeadLettered,
    },
    [item.deadLetterAgain]: {
      ...deadLetterSend,
      Comment: 'An earlier send had no answer, so the message may be in the DLQ: whatever this attempt answers, it never goes to a region.',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.deadLetterError', Next: item.releaseDeadLetterUnanswered }],
      Next: item.markDeadLettered,
    },
    [item.markDeadLettered]: {
      ...dynamoTask('updateItem'),
      Comment: 'Kept, not deleted: a redelivery of the message is then recognised, and only a redrive reopens it.',
      Parameters: {
        TableName: refs.tableName,
        Key: { request_id: { 'S.$': '$.requestId' } },
        UpdateExpression: 'SET #status = :deadLettered, reason = :reason REMOVE leaseUntil, triedDeadLetter, deadLetterReason',
        ConditionExpression: ownClaim.ConditionExpression,
        ExpressionAttributeNames: ownClaim.names,
        ExpressionAttributeValues: {
          ...ownClaim.values,
          ':deadLettered': { S: CLAIM_STATUS.deadLettered },
          ':reason': { 'S.$': '$.placement.reason' },
        },
      },
      ResultPath: null,
      Retry: serviceRetry([CONDITION_FAILED]),
      // In the DLQ all the same: the outcome stands.
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.markError', Next: item.deadLettered }],
      Next: item.deadLettered,
    },
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
    [item.releaseUndeliverable]: release(item.undeliverable, 'none'),
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
    [item.releaseDeadLetterUnanswered]: release(item.deadLetterUnanswered, 'dead-letter'),
    [item.deadLetterUnanswered]: {
      Type: 'Pass',
      Comment: 'It may be in the DLQ: the next delivery sends it to the DLQ again (a second DLQ copy at worst), never to a region.',
      Parameters: {
        'messageId.$': '$.placement.messageId',
        'requestId.$': '$.requestId',
        outcome: 'retry',
        'reason.$': "States.Format('{}; the dead-letter send had no answer ({}): it goes to the dead-letter queue again on the next delivery', $.placement.reason, $.deadLetterError.Error)",
      },
      End: true,
    },
    [item.releaseUnanswered]: release(item.unanswered, 'branch'),
    [item.releaseFailoverUnanswered]: release(item.unanswered, 'none'),
    [item.unanswered]: {
      Type: 'Pass',
      Comment: 'The step that held it gave no answer, so it may be in a queue: released for a later retry, never dead-lettered.',
      Parameters: {
        'messageId.$': '$.placement.messageId',
        'requestId.$': '$.requestId',
        outcome: 'retry',
        'reason.$': '$.branchReason',
      },
      End: true,
    },
  };
  const deadLetterPath = [
    item.deadLetter,
    item.deadLetterAgain,
    item.markDeadLettered,
    item.deadLettered,
    item.releaseUndeliverable,
    item.undeliverable,
    item.releaseDeadLetterUnanswered,
    item.deadLetterUnanswered,
  ];

  return {
    Type: 'Map',
    Comment: 'Per message: mark DISPATCHED; release an unconfirmed one for a later retry; or dead-letter with the reason.',
    ItemsPath: '$.placements',
    ItemSelector: {
      'placement.$': '$$.Map.Item.Value',
      'requestId.$': '$$.Map.Item.Value.requestId',
      'owner.$': '$$.Execution.Id',
      'executionName.$': '$.executionName',
      'batchId.$': '$.batchId',
      'unanswered.$': '$.unanswered',
      'branchReason.$': '$.reason',
    },
    MaxConcurrency: 10,
    ItemProcessor: {
      ProcessorConfig: { Mode: 'INLINE' },
      StartAt: deadLetterOnly ? item.deadLetter : item.path,
      States: deadLetterOnly ? Object.fromEntries(deadLetterPath.map((name) => [name, states[name] as State])) : states,
    },
    ResultSelector: { 'outcomes.$': '$' },
    End: true,
  };
}

function forwardBranch(region: string, refs: DispatchRefs): State {
  const key = regionKey(region);
  const retry = refs.regionRetry ?? { intervalSeconds: 1, maxAttempts: 1, backoffRate: 2 };
  const names = {
    any: `Anything for ${region}?`,
    forward: STATE.forward(region),
    pause: `Back off ${region}`,
    again: STATE.forwardAgain(region),
    failed: `Region ${region} refused`,
    unanswered: `Region ${region} unanswered`,
    pending: `Anything pending ${region}?`,
    failover: STATE.failover(region),
    failoverUnanswered: `Failover from ${region} unanswered`,
    settle: STATE.settle(region),
    nothing: `Nothing for ${region}`,
  };
  const forwardTask = {
    Type: 'Task',
    Resource: refs.functions.forward,
    TimeoutSeconds: TASK_TIMEOUTS.forwardSeconds,
  };

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
        ...forwardTask,
        Parameters: { ...branchContext, region, 'placements.$': `$.assignments.${key}` },
        // Refusals only (known not delivered). Step Functions hands a Catch the LAST attempt's error: one
        // retrier for refusals and unanswered sends would fail over a message an earlier attempt left in
        // the queue whenever the retry was refused (docs/architecture.md, invariant 10).
        Retry: [
          {
            ErrorEquals: [REGION_UNAVAILABLE, ...LAMBDA_NOT_RUN],
            IntervalSeconds: retry.intervalSeconds,
            MaxAttempts: retry.maxAttempts,
            BackoffRate: retry.backoffRate,
            JitterStrategy: 'FULL',
          },
        ],
        Catch: [
          { ErrorEquals: [REGION_UNAVAILABLE, ...LAMBDA_NOT_RUN], ResultPath: '$.forwardError', Next: names.failed },
          // SQS or Lambda left an answer out: sent once more to the same region.
          { ErrorEquals: [REGION_UNCONFIRMED, ...LAMBDA_ANSWER_LOST], ResultPath: '$.forwardError', Next: names.pause },
          // Anything else (a timeout, a runtime that died after it ran) may have sent: released as it is.
          { ErrorEquals: ['States.ALL'], ResultPath: '$.forwardError', Next: names.unanswered },
        ],
        Next: names.pending,
      },
      [names.pause]: {
        Type: 'Wait',
        Comment: 'A send may have arrived: back off, then send once more to the same region, never to another.',
        Seconds: retry.intervalSeconds,
        Next: names.again,
      },
      [names.again]: {
        ...forwardTask,
        Comment:
          'The same region once more, after an attempt without an answer: what it takes is dispatched; what it refuses or ' +
          'leaves unanswered is released for a later delivery (never failed over nor dead-lettered in this execution).',
        Parameters: { ...branchContext, region, afterUnanswered: true, 'placements.$': `$.assignments.${key}` },
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.forwardError', Next: names.unanswered }],
        Next: names.settle,
      },
      [names.failed]: {
        Type: 'Pass',
        Comment: 'The region refused every send: nothing is there, so every message of this branch fails over.',
        Parameters: {
          ...branchContext,
          'placements.$': `$.assignments.${key}`,
          'reason.$': `States.Format('${region}: {}', $.forwardError.Error)`,
          'failure.$': '$.forwardError',
        },
        Next: names.failover,
      },
      [names.unanswered]: {
        Type: 'Pass',
        Comment: 'Some sends may have arrived: never failed over nor dead-lettered; released for a later retry.',
        Parameters: {
          ...branchContext,
          'placements.$': `$.assignments.${key}`,
          unanswered: 'forward',
          'reason.$': `States.Format('${region}: no answer from the forward ({}); the messages may be in the queue', $.forwardError.Error)`,
        },
        Next: names.settle,
      },
      [names.pending]: {
        Type: 'Choice',
        Choices: [{ Variable: '$.pendingCount', NumericGreaterThan: 0, Next: names.failover }],
        Default: names.settle,
      },
      [names.failover]: {
        ...forwardTask,
        Comment: 'Place what is pending in the other regions, least loaded first; what none takes stays pending.',
        Parameters: {
          ...branchContext,
          exclude: [region],
          'placements.$': '$.placements',
          'reason.$': '$.reason',
          'failure.$': '$.failure',
        },
        // Only an invocation that never ran is retried: a failover that ran may have sent, and its retry could
        // place the same messages in another region, or dead-letter them.
        Retry: lambdaRetry(1, LAMBDA_NOT_RUN),
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failoverError', Next: names.failoverUnanswered }],
        Next: names.settle,
      },
      [names.failoverUnanswered]: {
        Type: 'Pass',
        Comment: 'The failover may have sent before it failed: its placements are released for a later retry.',
        Parameters: {
          ...branchContext,
          'placements.$': '$.placements',
          unanswered: 'failover',
          'reason.$': `States.Format('failover from ${region}: no answer ({})', $.failoverError.Error)`,
        },
        Next: names.settle,
      },
      [names.settle]: settleMap(region, refs),
    },
  };
}

/**
 * Messages whose earlier dead-letter send had no answer: sent to the DLQ again (never to a region, so a
 * request is never both dead-lettered and dispatched), then marked DEAD_LETTERED.
 */
function deadLetterAgainBranch(refs: DispatchRefs): State {
  const { label, key } = DEAD_LETTER_AGAIN;
  const names = { any: 'Anything to dead-letter again?', take: 'Messages to dead-letter again', nothing: 'Nothing to dead-letter again' };
  return {
    StartAt: names.any,
    States: {
      [names.any]: {
        Type: 'Choice',
        Choices: [{ Variable: `$.assignments.${key}[0]`, IsPresent: true, Next: names.take }],
        Default: names.nothing,
      },
      [names.nothing]: { Type: 'Pass', Result: { outcomes: [] }, End: true },
      [names.take]: {
        Type: 'Pass',
        Parameters: { ...branchContext, 'placements.$': `$.assignments.${key}`, unanswered: 'none', reason: 'dead-letter again' },
        Next: STATE.settle(label),
      },
      [STATE.settle(label)]: settleMap(label, refs, true),
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
          // Ids only: the claim needs no body, and every state of an iteration logs what it holds.
          message: { 'messageId.$': '$$.Map.Item.Value.messageId', 'requestId.$': '$$.Map.Item.Value.requestId' },
          // Unique per run, even for a rerun under the same name: what tells our own claim from another's.
          'owner.$': '$$.Execution.Id',
          'executionName.$': '$.executionName',
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
        TimeoutSeconds: TASK_TIMEOUTS.snapshotSeconds,
        // Not retried: without readings the policy still places by capacity, better than waiting.
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.snapshotError', Next: 'No depth readings' }],
        Next: STATE.select,
      },
      'No depth readings': {
        Type: 'Pass',
        Result: { readings: [], health: [] },
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
        TimeoutSeconds: TASK_TIMEOUTS.selectSeconds,
        Retry: lambdaRetry(1),
        Next: STATE.forwardAll,
      },
      [STATE.forwardAll]: {
        Type: 'Parallel',
        Branches: [...refs.regions.map((region) => forwardBranch(region, refs)), deadLetterAgainBranch(refs)],
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
