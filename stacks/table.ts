/**
 * The idempotency table: one record per request_id (a claim with a lease, then DISPATCHED), written
 * by the state machine's DynamoDB tasks. Records expire through TTL on `expiresAt` (epoch seconds,
 * IDEMPOTENCY_TTL_SECONDS after the claim, 7 days by default).
 */
import type { resourceNames } from '../core/topology.js';

type Names = ReturnType<typeof resourceNames>;

/** The attribute the workflow writes as the record's expiry (workflows/dispatch.ts). */
export const TTL_ATTRIBUTE = 'expiresAt';

export function createTable(names: Names): aws.dynamodb.Table {
  return new aws.dynamodb.Table('IdempotencyTable', {
    name: names.idempotencyTable,
    // On-demand: traffic follows the master queue's bursts; no capacity to plan or throttle on.
    billingMode: 'PAY_PER_REQUEST',
    hashKey: 'request_id',
    attributes: [{ name: 'request_id', type: 'S' }],
    ttl: { attributeName: TTL_ATTRIBUTE, enabled: true },
    pointInTimeRecovery: { enabled: true },
    // The records are what stops a duplicate forward: never drop the production table by accident.
    deletionProtectionEnabled: $app.stage === 'production',
  });
}
