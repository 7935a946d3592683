/**
 * The idempotency record as the definition's DynamoDB tasks write it: the statuses, the Task itself,
 * and the condition that only the claim's owner may write.
 */
import { RECORD_STATUS } from '../core/record.js';
import { TASK_TIMEOUTS } from '../core/topology.js';
import { task } from './asl.js';

/** The record's statuses as the definition writes them (core/record.ts). */
export const CLAIM_STATUS = {
  inProgress: RECORD_STATUS.inProgress,
  dispatched: RECORD_STATUS.dispatched,
  deadLettered: RECORD_STATUS.deadLettered,
  redriven: RECORD_STATUS.redriven,
} as const;

/** A condition that did not hold: an answer about the record, not a fault, so never retried. */
export const CONDITION_FAILED = 'DynamoDB.ConditionalCheckFailedException';

export const dynamoTask = (action: 'putItem' | 'getItem' | 'updateItem' | 'deleteItem') =>
  task(`arn:aws:states:::dynamodb:${action}`, TASK_TIMEOUTS.dynamodbSeconds);

/** A write only the execution that still holds the claim may make. */
export const OWN_CLAIM = {
  ConditionExpression: '#owner = :owner AND #status = :inProgress',
  names: { '#owner': 'owner', '#status': 'status' },
  values: { ':owner': { 'S.$': '$.owner' }, ':inProgress': { S: CLAIM_STATUS.inProgress } },
};
