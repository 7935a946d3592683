/**
 * Releasing a claim from a Settle iteration: ends the lease now (the record stays, with where a send may
 * have gone), so the redelivery of the message takes the claim over at once and prefers that region. A
 * claim that cannot be released expires with its lease.
 */
import { serviceRetry } from './asl.js';
import { CONDITION_FAILED, dynamoTask, OWN_CLAIM } from './table.js';

/**
 * What the record keeps of the send that may have arrived: the placement's region and token, the
 * group's region (the iteration's `region`), the dead-letter send with its reason, or nothing.
 */
export type Tried = 'placement' | 'branch' | 'none' | 'dead-letter';

export const releaseClaim = (tableName: string, next: string, tried: Tried) => ({
  ...dynamoTask('updateItem'),
  Comment:
    tried === 'none'
      ? 'Release only a claim this execution still holds, so the redelivery is not taken for a duplicate.'
      : 'Release, recording where the unanswered send went: the next run prefers that region.',
  Parameters: {
    TableName: tableName,
    Key: { request_id: { 'S.$': '$.requestId' } },
    UpdateExpression: {
      placement: 'SET leaseUntil = :zero, triedRegion = :region, triedToken = :token',
      branch: 'SET leaseUntil = :zero, triedRegion = :region',
      'dead-letter': 'SET leaseUntil = :zero, triedDeadLetter = :true, deadLetterReason = :reason',
      none: 'SET leaseUntil = :zero',
    }[tried],
    ConditionExpression: OWN_CLAIM.ConditionExpression,
    ExpressionAttributeNames: OWN_CLAIM.names,
    ExpressionAttributeValues: {
      ...OWN_CLAIM.values,
      ':zero': { N: '0' },
      ...(tried === 'placement' ? { ':region': { 'S.$': '$.placement.region' }, ':token': { 'S.$': '$.placement.token' } } : {}),
      ...(tried === 'branch' ? { ':region': { 'S.$': '$.region' } } : {}),
      ...(tried === 'dead-letter' ? { ':true': { BOOL: true }, ':reason': { 'S.$': '$.placement.reason' } } : {}),
    },
  },
  ResultPath: null,
  Retry: serviceRetry([CONDITION_FAILED]),
  Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.releaseError', Next: next }],
  Next: next,
});
