/**
 * The dead-letter path of a Settle iteration: the message goes to the dispatch DLQ with its reason, then
 * its record is marked DEAD_LETTERED. Refusals (nothing reached the DLQ) release the claim; a send without
 * an answer is sent once more, and from then on the message never goes to a region (invariant 10,
 * docs/architecture.md).
 */
import { TASK_TIMEOUTS } from '../core/topology.js';
import { serviceRetry, type State } from './asl.js';
import type { DispatchRefs } from './refs.js';
import { releaseClaim } from './release.js';
import { SETTLE as item } from './state-names.js';
import { CLAIM_STATUS, CONDITION_FAILED, dynamoTask, OWN_CLAIM } from './table.js';

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

/** The dead-letter send (first attempt and the one after an unanswered attempt share it). */
const deadLetterSend = (deadLetterQueueUrl: string) => ({
  Type: 'Task',
  Resource: 'arn:aws:states:::sqs:sendMessage',
  TimeoutSeconds: TASK_TIMEOUTS.sqsSeconds,
  Parameters: {
    QueueUrl: deadLetterQueueUrl,
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
});

/** The dead-letter states of the Settle map, in the order the map lists them; the first is `item.deadLetter`. */
export function deadLetterStates(refs: DispatchRefs): Record<string, State> {
  const send = deadLetterSend(refs.deadLetterQueueUrl);
  return {
    [item.deadLetter]: {
      ...send,
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
      ...send,
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
        ConditionExpression: OWN_CLAIM.ConditionExpression,
        ExpressionAttributeNames: OWN_CLAIM.names,
        ExpressionAttributeValues: {
          ...OWN_CLAIM.values,
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
    [item.releaseUndeliverable]: releaseClaim(refs.tableName, item.undeliverable, 'none'),
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
    [item.releaseDeadLetterUnanswered]: releaseClaim(refs.tableName, item.deadLetterUnanswered, 'dead-letter'),
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
  };
}
