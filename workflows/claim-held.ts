/**
 * A claim the Claim map's write could not take: read the record, with a consistent read, to tell whose
 * claim it is. This run's own write whose answer was lost goes on as claimed; a request dispatched,
 * dead-lettered or accepted by a worker is a duplicate; a claim another execution holds is busy (a batch
 * item failure, never dropped).
 */
import { serviceRetry, type State } from './asl.js';
import { STATE } from './state-names.js';
import { CLAIM_STATUS, dynamoTask } from './table.js';

/** Where a held claim's states lead outside them: back to the claimed path, or to the table's failure. */
export interface HeldClaimExits {
  readonly claimed: string;
  readonly unavailable: string;
}

/** The states from the read of a held claim to its outcome, in the Claim map's order. */
export function heldClaimStates(tableName: string, exits: HeldClaimExits): Record<string, State> {
  const status = (value: string) => ({ And: [{ Variable: '$.record.Item.status.S', IsPresent: true }, { Variable: '$.record.Item.status.S', StringEquals: value }] });
  return {
    [STATE.readClaim]: {
      ...dynamoTask('getItem'),
      Comment: 'The claim is held: find out by whom, to tell a duplicate from a busy request or from our own landed write.',
      Parameters: { TableName: tableName, Key: { request_id: { 'S.$': '$.message.requestId' } }, ConsistentRead: true },
      ResultPath: '$.record',
      Retry: serviceRetry([], 1),
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: exits.unavailable }],
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
      Next: exits.claimed,
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
  };
}
