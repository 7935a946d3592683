/**
 * The Settle map ending every Forward iteration: per message, mark the record DISPATCHED; release an
 * unconfirmed or unanswered one for a later retry (recording where it may be); or dead-letter it with
 * its reason (workflows/dead-letter.ts). Each iteration is handed only its placement and the few fields
 * its states read: no snapshot, no other message. A dispatched or unconfirmed placement carries no body
 * (the forward drops it: core/failover.ts applyResults); a pending one keeps it, since the dead-letter
 * send needs it. On the two unanswered paths (a forward or a failover without an answer) the pending
 * placements still hold their bodies: JSONPath cannot drop one field of every item of a list, and those
 * are fault paths, where a state more per message would cost more log than the bodies do.
 */
import { UNANSWERED, type Placement } from '../core/placement.js';
import type { State } from './asl.js';
import { deadLetterStates } from './dead-letter.js';
import type { DispatchRefs } from './refs.js';
import { releaseClaim } from './release.js';
import { SETTLE as item } from './state-names.js';
import { CLAIM_STATUS, CONDITION_FAILED, dynamoTask } from './table.js';

/** Fields every path into the Settle map carries (see its ItemSelector), besides region, placements, unanswered and reason. */
export const branchContext = {
  'batchId.$': '$.batchId',
  'executionName.$': '$.executionName',
};

/** The outcome of a forwarded message, built from its placement inside a Settle iteration. */
const dispatchedOutcome = {
  'messageId.$': '$.placement.messageId',
  'requestId.$': '$.requestId',
  outcome: 'dispatched',
  'region.$': '$.placement.region',
  'failedOver.$': '$.placement.failedOver',
};

const placementIs = (status: Placement['status'], next: string) => ({ Variable: '$.placement.status', StringEquals: status, Next: next });

/** The Settle map of the Forward iteration (its input: batchId, executionName, region, placements, unanswered, reason). */
export function settleMap(refs: DispatchRefs): State {
  const deadLetterPath = deadLetterStates(refs);

  const states: Record<string, State> = {
    [item.path]: {
      Type: 'Choice',
      Choices: [
        placementIs('dispatched', item.mark),
        // The step that held these placements ended without an answer: any may have been sent.
        { Variable: '$.unanswered', StringEquals: UNANSWERED.forward, Next: item.releaseUnanswered },
        { Variable: '$.unanswered', StringEquals: UNANSWERED.failover, Next: item.releaseFailoverUnanswered },
        placementIs('unconfirmed', item.releaseUnconfirmed),
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
    [item.releaseUnconfirmed]: releaseClaim(refs.tableName, item.unconfirmed, 'placement'),
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
    ...deadLetterPath,
    [item.releaseUnanswered]: releaseClaim(refs.tableName, item.unanswered, 'branch'),
    [item.releaseFailoverUnanswered]: releaseClaim(refs.tableName, item.unanswered, 'none'),
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
      // The group's region (null for the dead-letter-again group): what a release after an unanswered forward records.
      'region.$': '$.region',
    },
    MaxConcurrency: 10,
    ItemProcessor: {
      ProcessorConfig: { Mode: 'INLINE' },
      StartAt: item.path,
      States: states,
    },
    // The iteration's output: one outcome per message of the group.
    End: true,
  };
}
