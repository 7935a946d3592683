/**
 * A worker's own acceptance write that DynamoDB applied but whose answer was lost (a 500 after the write,
 * at the wire through the fault proxy): retried, by the SDK or by the worker, the write meets a record
 * held at the very lease version this fence wrote. That lease is the worker's own: it is accepted, not
 * taken for another holder's (which would hand the copy back at every receive until SQS moved it to the
 * regional DLQ unprocessed).
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS } from '../../tools/local/resources.js';
import { AlreadyAcceptedError, Fence, Heartbeat } from '../../worker/index.js';
import { startLocalAws, type LocalAws, type LocalFaults } from '../support/local-aws.js';

let aws: LocalAws & { readonly faults: LocalFaults };
beforeAll(async () => {
  aws = await startLocalAws({ faults: true });
});
afterEach(() => aws.faults.dynamodb.rules.clear());
afterAll(async () => {
  await aws?.stop();
});

/** A worker's client through the DynamoDB fault proxy, with this many SDK attempts per call. */
const client = (maxAttempts: number) =>
  new DynamoDBClient({ region: 'us-east-1', endpoint: aws.codeEndpoints.dynamodb, credentials: LOCAL_CREDENTIALS, maxAttempts });

async function holder(requestId: string) {
  const { Item } = await aws.dynamo.send(new GetItemCommand({ TableName: aws.resources.tableName, Key: { request_id: { S: requestId } }, ConsistentRead: true }));
  return Item;
}

describe("an acceptance whose write landed and whose answer was lost", () => {
  it('is recognised when the SDK resends it: accepted, not reported IN_FLIGHT', async () => {
    const dynamo = client(3);
    const fence = Fence.dynamo(dynamo, aws.resources.tableName);
    const requestId = `req-own-write-sdk-${randomUUID()}`;
    aws.faults.dynamodb.rules.once('UpdateItem', { mode: 'lose-answer', then: 'error' });
    try {
      const record = await fence.accept({ requestId, token: 'tok-a', workerId: 'worker-a', leaseSeconds: 30 });
      expect(record.acceptedBy).toBe('worker-a');
    } finally {
      dynamo.destroy();
    }
    expect(aws.faults.dynamodb.stats.faults({ mode: 'lose-answer' })[0]?.applied).toBe(true);
    expect((await holder(requestId))?.acceptedBy?.S).toBe('worker-a');
  });

  it('is recognised when the worker calls accept again after the error: accepted, and its completion holds', async () => {
    const dynamo = client(1);
    const fence = Fence.dynamo(dynamo, aws.resources.tableName);
    const requestId = `req-own-write-again-${randomUUID()}`;
    const copy = { requestId, token: 'tok-a', workerId: 'worker-a' };
    aws.faults.dynamodb.rules.once('UpdateItem', { mode: 'lose-answer', then: 'error' });
    try {
      await expect(fence.accept({ ...copy, leaseSeconds: 30 })).rejects.toThrow();
      const record = await fence.accept({ ...copy, leaseSeconds: 30 });
      expect(record.acceptedBy).toBe('worker-a');
      expect((await fence.complete(copy)).workStatus).toBe('COMPLETED');
    } finally {
      dynamo.destroy();
    }
  });

  it('stays refused for another fence (another worker process) that never wrote that version', async () => {
    const dynamo = client(1);
    const mine = Fence.dynamo(dynamo, aws.resources.tableName);
    const other = Fence.dynamo(dynamo, aws.resources.tableName);
    const requestId = `req-own-write-other-${randomUUID()}`;
    aws.faults.dynamodb.rules.once('UpdateItem', { mode: 'lose-answer', then: 'error' });
    try {
      await expect(mine.accept({ requestId, token: 'tok-a', workerId: 'worker-a', leaseSeconds: 30 })).rejects.toThrow();
      const refused = await other.accept({ requestId, token: 'tok-a', workerId: 'worker-b', leaseSeconds: 30 }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(AlreadyAcceptedError);
      expect((refused as AlreadyAcceptedError).reason).toBe('IN_FLIGHT');
    } finally {
      dynamo.destroy();
    }
  });
});

describe('a heartbeat whose write landed and whose answer was lost', () => {
  it('keeps the lease when the SDK resends it: the resend meets its own new version', async () => {
    const dynamo = client(3);
    const fence = Fence.dynamo(dynamo, aws.resources.tableName);
    const requestId = `req-own-beat-${randomUUID()}`;
    try {
      const lease = await fence.acceptLease({ requestId, token: 'tok-a', workerId: 'worker-a', leaseSeconds: 30 });
      const heartbeat = new Heartbeat(fence, lease, { everyMs: 3_600_000 });
      aws.faults.dynamodb.rules.once('UpdateItem', { mode: 'lose-answer', then: 'error' });
      await heartbeat.beat();
      expect(heartbeat.lost).toBeUndefined();
      expect(aws.faults.dynamodb.stats.faults({ mode: 'lose-answer' })[0]?.applied).toBe(true);
      await heartbeat.stop();
      const done = await fence.complete({ requestId, token: 'tok-a', workerId: 'worker-a', versions: heartbeat.heldVersions });
      expect(done.workStatus).toBe('COMPLETED');
    } finally {
      dynamo.destroy();
    }
  });
});
