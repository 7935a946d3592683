/**
 * The idempotency table: one record per request_id (a claim with a lease, then DISPATCHED), written
 * by the state machine's DynamoDB tasks. Records expire through TTL on `expiresAt` (epoch seconds,
 * IDEMPOTENCY_TTL_SECONDS after the claim, a worker's acceptance or a redrive). That lifetime is at least
 * the longest retention of any queue that can hold a copy plus the redrive window, 21 days by default
 * (the original's 7 days let a copy outlive its record): checked here when the stage is built.
 *
 * Security (docs/deploy.md): encrypted at rest with the AWS managed key `aws/dynamodb` (DynamoDB
 * encrypts every table; without `serverSideEncryption` it uses an AWS owned key, invisible in the
 * account). The AWS managed key lives in the account, so every use of it by DynamoDB on the table's
 * behalf is recorded in CloudTrail; its key policy lets any principal of the account that may use the
 * table use it through DynamoDB, so the roles need no kms:* permission. A customer managed key is not
 * used: it would add a key policy to keep in step with the roles and a monthly key charge. And a
 * resource policy that denies any request not made over TLS (stacks/policies.ts).
 */
import type { resourceNames } from '../core/topology.js';
import { resolveRecordLifetime, type QueueRetention } from '../workflows/lifetime.js';
import { tlsOnlyTablePolicy } from './policies.js';
import { RECORD_LIFETIME_ENV, tableCapacity, type RecordLifetimeSettings, type TableCapacity } from './settings.js';

type Names = ReturnType<typeof resourceNames>;

/** The attribute the workflow writes as the record's expiry (workflows/dispatch.ts). */
export const TTL_ATTRIBUTE = 'expiresAt';

export interface RecordLifetime {
  readonly recordLifetimeSeconds: number;
  readonly redriveWindowSeconds: number;
}

/**
 * The stage's record lifetime: the one configured, once checked against every queue's retention plus
 * the redrive window, else derived from them. Throws RecordLifetimeError naming the settings: such a
 * stage does not synthesize (docs/architecture.md, invariant 11), as a broken time budget does not.
 */
export function recordLifetime(retentions: readonly QueueRetention[], settings: RecordLifetimeSettings): RecordLifetime {
  const recordLifetimeSeconds = resolveRecordLifetime({ ...settings, retentions, names: RECORD_LIFETIME_ENV });
  return { recordLifetimeSeconds, redriveWindowSeconds: settings.redriveWindowSeconds };
}

/**
 * The table's billing mode and capacity. On-demand by default: traffic follows the master queue's bursts
 * (a backlog drains at the intake's full concurrency), with no capacity to plan or throttle on. A stage
 * may take a fixed provisioned capacity from DISPATCH_TABLE_CAPACITY (stacks/settings.ts): cheaper at a
 * steady load, but a write above it is throttled, and a DISPATCHED mark throttled past its ~13 s of
 * retries is a lost commit (docs/cost.md "Table capacity": size it for the peak, not the mean).
 */
export function tableBilling(capacity: TableCapacity) {
  return capacity.mode === 'provisioned'
    ? { billingMode: 'PROVISIONED', readCapacity: capacity.readUnits, writeCapacity: capacity.writeUnits }
    : { billingMode: 'PAY_PER_REQUEST' };
}

/** `capacity`: read once from the deployer's environment unless given (a malformed value refuses the stage). */
export function createTable(names: Names, capacity: TableCapacity = tableCapacity(process.env)): aws.dynamodb.Table {
  const table = new aws.dynamodb.Table('IdempotencyTable', {
    name: names.idempotencyTable,
    ...tableBilling(capacity),
    hashKey: 'request_id',
    attributes: [{ name: 'request_id', type: 'S' }],
    ttl: { attributeName: TTL_ATTRIBUTE, enabled: true },
    pointInTimeRecovery: { enabled: true },
    // The records are what stops a duplicate forward: never drop the production table by accident.
    deletionProtectionEnabled: $app.stage === 'production',
    // Enabled without kmsKeyArn: the AWS managed key alias/aws/dynamodb (see above).
    serverSideEncryption: { enabled: true },
  });
  tlsOnlyTablePolicy('IdempotencyTable', table);
  return table;
}
