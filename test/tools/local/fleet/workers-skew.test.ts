/**
 * Simulated workers with skewed clocks (tools/local/fleet/workers.ts `clockSkewSeconds`), against dynalite and
 * fauxqs: each worker has a fence of its own on its own wall clock (the times it writes show it), and a
 * copy held by a worker 5 minutes slow, handed by SQS to a worker 5 minutes fast while the first still
 * works, is refused IN_FLIGHT and processed once: the fence compares no two clocks.
 */
import { randomUUID } from 'node:crypto';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { clockSkewOf, startWorkers, type WorkerEvent } from '../../../../tools/local/fleet/workers.js';
import { startLocalAws, type LocalAws, sendCopy } from '../../../support/local-aws.js';

let aws: LocalAws;

beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => {
  await aws?.stop();
});

const REGION = 'us-west-1';
const fenceOption = () => ({ tableName: aws.resources.tableName, client: aws.dynamo });

const record = async (requestId: string) =>
  (await aws.dynamo.send(new GetItemCommand({ TableName: aws.resources.tableName, Key: { request_id: { S: requestId } }, ConsistentRead: true }))).Item;

/** A queue of its own, without a redrive policy, whose visibility timeout is 1 s unless told. */
async function queue(visibilitySeconds = 1): Promise<string> {
  const { QueueUrl } = await aws
    .sqs(REGION)
    .send(new CreateQueueCommand({ QueueName: `skew-${randomUUID().slice(0, 8)}`, Attributes: { VisibilityTimeout: String(visibilitySeconds) } }));
  return QueueUrl as string;
}

const sendTo = (queueUrl: string, requestId: string, token: string) => sendCopy(aws.sqs(REGION), queueUrl, requestId, token);

describe('workers with skewed clocks', () => {
  it('worker n takes entry n modulo the list; none without a list', () => {
    expect([0, 1, 2, 3, 4].map((n) => clockSkewOf([300, -300, 0], n))).toEqual([300, -300, 0, 300, -300]);
    expect(clockSkewOf(undefined, 3)).toBeUndefined();
    expect(clockSkewOf([], 3)).toBeUndefined();
  });

  it('refuses a skew that is not whole seconds', () => {
    expect(() =>
      startWorkers({ region: REGION, client: aws.sqs(REGION), queueUrl: 'http://unused', workers: 1, secondsPerRequest: 0, fence: { ...fenceOption(), clockSkewSeconds: [1.5] } }),
    ).toThrow(RangeError);
  });

  it("each worker's fence writes its own clock's time", async () => {
    const queueUrl = await queue(30);
    const ids = [0, 1, 2].map(() => `req-${randomUUID().slice(0, 8)}`);
    for (const id of ids) await sendTo(queueUrl, id, `tok-${id}`);
    const prefix = `skew-${randomUUID().slice(0, 4)}`;
    const skews = [300, -300, 0];
    const events: WorkerEvent[] = [];
    const workers = startWorkers({
      region: REGION,
      client: aws.sqs(REGION),
      queueUrl,
      workers: 3,
      secondsPerRequest: 0.5,
      fence: { ...fenceOption(), workerIdPrefix: prefix, clockSkewSeconds: skews },
      onEvent: (event) => events.push(event),
    });
    try {
      await vi.waitFor(() => expect(workers.processed()).toBe(3), { timeout: 15_000 });
    } finally {
      await workers.stop();
    }
    const now = Date.now() / 1000;
    for (const id of ids) {
      const stored = await record(id);
      const worker = String(stored?.acceptedBy?.S);
      const index = Number(worker.slice(prefix.length + 1));
      const skew = skews[index % skews.length] as number;
      // Written by that worker's fence: its clock, within the test's few seconds.
      expect(Math.abs(Number(stored?.acceptedAt?.N) - (now + skew))).toBeLessThan(15);
      expect(Math.abs(Number(stored?.completedAt?.N) - (now + skew))).toBeLessThan(15);
    }
    for (const event of events) {
      expect(event.clockSkewSeconds).toBe(skews[Number(event.workerId.slice(prefix.length + 1)) % skews.length]);
    }
  });

  it('a copy held by a worker 5 minutes slow, redelivered to one 5 minutes fast, is refused IN_FLIGHT and processed once', async () => {
    const id = `req-${randomUUID().slice(0, 8)}`;
    const queueUrl = await queue(1);
    await sendTo(queueUrl, id, 'tok-1');
    const events: WorkerEvent[] = [];
    // The job (3 s) outlives the queue's visibility (1 s) and the first heartbeat comes after it (at 2 s):
    // SQS hands the copy to the other worker while the first holds it, and only the fence stands between.
    const workers = startWorkers({
      region: REGION,
      client: aws.sqs(REGION),
      queueUrl,
      workers: 2,
      secondsPerRequest: 3,
      fence: { ...fenceOption(), leaseSeconds: 6, clockSkewSeconds: [-300, 300] },
      onEvent: (event) => events.push(event),
    });
    try {
      await vi.waitFor(() => expect(workers.processed()).toBe(1), { timeout: 15_000 });
      // The redelivered copy comes back after the watcher's wait and is dropped: the request is done.
      await vi.waitFor(() => expect(events.some((e) => e.kind === 'dropped')).toBe(true), { timeout: 15_000 });
    } finally {
      await workers.stop();
    }
    expect(workers.processed()).toBe(1);
    const processed = events.filter((e) => e.kind === 'processed');
    expect(processed).toHaveLength(1);
    const holder = processed[0] as WorkerEvent;
    const refused = events.filter((e) => e.kind === 'deferred' && e.reason === 'IN_FLIGHT');
    expect(refused.length).toBeGreaterThan(0);
    for (const e of refused) {
      expect(e.workerId).not.toBe(holder.workerId);
      expect(Math.abs((e.clockSkewSeconds ?? 0) - (holder.clockSkewSeconds ?? 0))).toBe(600);
    }
    expect((await record(id))?.workStatus).toEqual({ S: 'COMPLETED' });
  }, 40_000);
});
