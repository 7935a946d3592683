/**
 * The Claim map: per message, claim its request_id with a lease in the idempotency table (one conditional
 * write), or find out who holds it (workflows/claim-held.ts). Claims are owned by the execution's unique id
 * ($$.Execution.Id: one per run, even when the intake's StartSyncExecution is retried under the same
 * name), so a claim write that landed but whose answer was lost is recognised as this run's own, and a
 * second run of the same name sees "busy". A claim taken carries forward what an earlier run's unanswered
 * send left on the record (core/record.ts): the DLQ or the region it may be in.
 */
import { serviceRetry, type State } from './asl.js';
import { heldClaimStates } from './claim-held.js';
import { STATE } from './state-names.js';
import { CLAIM_STATUS, CONDITION_FAILED, dynamoTask } from './table.js';

/** States of this map that the held-claim states (workflows/claim-held.ts) also lead to. */
const TRIED_BEFORE = 'Tried before?';
const CLAIM_UNAVAILABLE = 'Claim unavailable';

const numberText = (path: string) => ({ 'N.$': `States.Format('{}', ${path})` });

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
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: CLAIM_UNAVAILABLE },
      ],
      Next: TRIED_BEFORE,
    },
    [TRIED_BEFORE]: {
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
    ...heldClaimStates(tableName, { claimed: TRIED_BEFORE, unavailable: CLAIM_UNAVAILABLE }),
    [CLAIM_UNAVAILABLE]: {
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

/** The Claim map over the execution's messages; its results go to `$.claims` for the select step. */
export function claimMap(tableName: string): State {
  return {
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
    ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: STATE.putClaim, States: claimStates(tableName) },
    ResultPath: '$.claims',
    Next: STATE.snapshot,
  };
}
