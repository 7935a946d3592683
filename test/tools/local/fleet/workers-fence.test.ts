/**
 * Simulated workers behind the dispatch fence (tools/local/fleet/workers.ts with `fence`), against dynalite and one
 * fauxqs server per region: two copies of one request in two regions' queues are processed once and
 * dropped once; an interrupted worker releases what it held; a job longer than its lease is kept by its
 * heartbeat; a worker that dies stops beating and the pool takes the copy over after watching its lease;
 * in a fleet whose workers each have a fence of their own, the worker that starts watching a dead
 * worker's copy keeps it until its watch is ripe, so the copy never reaches the queue's DLQ.
 */
import { randomUUID } from 'node:crypto';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RECORD_STATUS } from '../../../../core/record.js';
import { startWorkers, type WorkerEvent, type Workers } from '../../../../tools/local/fleet/workers.js';
import { queueEmpty, request, startLocalAws, type LocalAws, sendCopy } from '../../../support/local-aws.js';

let aws: LocalAws;

beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => {
  await aws?.stop();
});

const regionQueue = (region: string) => {
  const queue = aws.resources.regions.find((r) => r.region === region);
  if (!queue) throw new Error(`no queue for ${region}`);
  return queue.queueUrl;
};

/** A copy in a region's queue; returns its body. */
async function sendRegionCopy(region: string, requestId: string, token: string): Promise<string> {
  await sendCopy(aws.sqs(region), regionQueue(region), requestId, token);
  return JSON.stringify(request(requestId));
}

const record = async (requestId: string) =>
  (await aws.dynamo.send(new GetItemCommand({ TableName: aws.resources.tableName, Key: { request_id: { S: requestId } }, ConsistentRead: true }))).Item;

const fenceOption = () => ({ tableName: aws.resources.tableName, client: aws.dynamo });

describe('workers with the dispatch fence', () => {
  it('two copies of one request in two regions: processed once, dropped once, both deleted', async () => {
    const id = `req-${randomUUID().slice(0, 8)}`;
    await aws.dynamo.send(
      new PutItemCommand({ TableName: aws.resources.tableName, Item: { request_id: { S: id }, status: { S: RECORD_STATUS.dispatched }, token: { S: 'tok-east' } } }),
    );
    const body = await sendRegionCopy('us-east-1', id, 'tok-east');
    await sendRegionCopy('us-west-2', id, 'tok-west');
    const processed: Array<[string, string]> = [];
    const dropped: Array<[string, string, string]> = [];
    const workers: Workers[] = ['us-east-1', 'us-west-2'].map((region) =>
      startWorkers({
        region,
        client: aws.sqs(region),
        queueUrl: regionQueue(region),
        workers: 2,
        secondsPerRequest: 0.2,
        fence: fenceOption(),
        onProcessed: (b, r) => processed.push([b, r]),
        onDropped: (b, r, reason) => dropped.push([b, r, reason]),
      }),
    );
    try {
      await vi.waitFor(() => expect(workers.reduce((n, w) => n + w.processed() + w.dropped(), 0)).toBe(2), { timeout: 10_000 });
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
    expect(workers.reduce((n, w) => n + w.processed(), 0)).toBe(1);
    expect(workers.reduce((n, w) => n + w.dropped(), 0)).toBe(1);
    expect(processed).toHaveLength(1);
    expect(dropped).toHaveLength(1);
    expect(processed[0]?.[0]).toBe(body);
    expect(dropped[0]?.[0]).toBe(body);
    // Both copies are taken at about the same time: the second is refused as held or as done.
    expect(['ALREADY_ACCEPTED', 'ALREADY_COMPLETED']).toContain(dropped[0]?.[2]);
    expect(dropped[0]?.[1]).not.toBe(processed[0]?.[1]);
    const stored = await record(id);
    expect(stored?.workStatus).toEqual({ S: 'COMPLETED' });
    expect(stored?.acceptedToken?.S).toBe(processed[0]?.[1] === 'us-east-1' ? 'tok-east' : 'tok-west');
    expect(await queueEmpty(aws.sqs('us-east-1'), regionQueue('us-east-1'))).toBe(true);
    expect(await queueEmpty(aws.sqs('us-west-2'), regionQueue('us-west-2'))).toBe(true);
  });

  it('stop() releases the request being processed and hands the copy back', async () => {
    const id = `req-${randomUUID().slice(0, 8)}`;
    await sendRegionCopy('us-west-1', id, 'tok-1');
    const workers = startWorkers({ region: 'us-west-1', client: aws.sqs('us-west-1'), queueUrl: regionQueue('us-west-1'), workers: 1, secondsPerRequest: 60, fence: fenceOption() });
    await vi.waitFor(async () => expect((await record(id))?.workStatus).toEqual({ S: 'ACCEPTED' }), { timeout: 10_000 });
    await workers.stop();
    expect(workers.processed()).toBe(0);
    expect(workers.dropped()).toBe(0);
    const stored = await record(id);
    expect(stored?.acceptedToken).toBeUndefined();
    expect(stored?.workStatus).toBeUndefined();
    // Handed back at once: another worker takes the same copy and completes it.
    const next = startWorkers({ region: 'us-west-1', client: aws.sqs('us-west-1'), queueUrl: regionQueue('us-west-1'), workers: 1, secondsPerRequest: 0, fence: fenceOption() });
    try {
      await vi.waitFor(() => expect(next.processed()).toBe(1), { timeout: 10_000 });
    } finally {
      await next.stop();
    }
    expect((await record(id))?.workStatus).toEqual({ S: 'COMPLETED' });
  });

  it('a copy of a completed request is deleted unprocessed; without a fence the same copy is processed', async () => {
    const id = `req-${randomUUID().slice(0, 8)}`;
    await aws.dynamo.send(
      new PutItemCommand({
        TableName: aws.resources.tableName,
        Item: { request_id: { S: id }, acceptedToken: { S: 'tok-done' }, acceptedBy: { S: 'w' }, workStatus: { S: 'COMPLETED' } },
      }),
    );
    await sendRegionCopy('us-west-1', id, 'tok-late');
    const fencedWorkers = startWorkers({ region: 'us-west-1', client: aws.sqs('us-west-1'), queueUrl: regionQueue('us-west-1'), workers: 1, secondsPerRequest: 0, fence: fenceOption() });
    try {
      await vi.waitFor(() => expect(fencedWorkers.dropped()).toBe(1), { timeout: 10_000 });
    } finally {
      await fencedWorkers.stop();
    }
    expect(fencedWorkers.processed()).toBe(0);
    expect(await queueEmpty(aws.sqs('us-west-1'), regionQueue('us-west-1'))).toBe(true);

    await sendRegionCopy('us-west-1', id, 'tok-late-2');
    const plain = startWorkers({ region: 'us-west-1', client: aws.sqs('us-west-1'), queueUrl: regionQueue('us-west-1'), workers: 1, secondsPerRequest: 0 });
    try {
      await vi.waitFor(() => expect(plain.processed()).toBe(1), { timeout: 10_000 });
    } finally {
      await plain.stop();
    }
    expect(plain.dropped()).toBe(0);
  });

  /** A queue of its own whose visibility timeout is 1 s, so that a copy left in hand comes back at once. */
  async function shortQueue(region: string): Promise<string> {
    const { QueueUrl } = await aws.sqs(region).send(new CreateQueueCommand({ QueueName: `fence-${randomUUID().slice(0, 8)}`, Attributes: { VisibilityTimeout: '1' } }));
    return QueueUrl as string;
  }

  const sendTo = (region: string, queueUrl: string, requestId: string, token: string) => sendCopy(aws.sqs(region), queueUrl, requestId, token);

  it('a job three times its lease and the queue visibility: the heartbeat keeps both, and two workers process it once', async () => {
    const id = `req-${randomUUID().slice(0, 8)}`;
    const queueUrl = await shortQueue('us-west-1');
    await sendTo('us-west-1', queueUrl, id, 'tok-1');
    const events: string[] = [];
    const workers = startWorkers({
      region: 'us-west-1',
      client: aws.sqs('us-west-1'),
      queueUrl,
      workers: 2,
      secondsPerRequest: 3,
      fence: { ...fenceOption(), leaseSeconds: 1 },
      onEvent: (event) => events.push(event.kind),
    });
    try {
      await vi.waitFor(() => expect(workers.processed()).toBe(1), { timeout: 15_000 });
      await new Promise((resolve) => setTimeout(resolve, 1500));
    } finally {
      await workers.stop();
    }
    expect(workers.processed()).toBe(1);
    expect(events.filter((kind) => kind === 'received')).toHaveLength(1);
    expect((await record(id))?.workStatus).toEqual({ S: 'COMPLETED' });
    expect(await queueEmpty(aws.sqs('us-west-1'), queueUrl)).toBe(true);
  });

  it('a worker that dies mid-job stops its heartbeat: the copy comes back and the pool takes it over after watching the lease', async () => {
    const id = `req-${randomUUID().slice(0, 8)}`;
    const queueUrl = await shortQueue('us-west-1');
    await sendTo('us-west-1', queueUrl, id, 'tok-1');
    let crashes = 0;
    const deferred: string[] = [];
    const workers = startWorkers({
      region: 'us-west-1',
      client: aws.sqs('us-west-1'),
      queueUrl,
      workers: 2,
      secondsPerRequest: 0.1,
      fence: { ...fenceOption(), leaseSeconds: 1 },
      crash: () => crashes++ === 0,
      onEvent: (event) => event.kind === 'deferred' && deferred.push(String(event.reason)),
    });
    try {
      await vi.waitFor(() => expect(workers.processed()).toBe(1), { timeout: 20_000 });
    } finally {
      await workers.stop();
    }
    expect(workers.crashed()).toBe(1);
    expect(workers.processed()).toBe(1);
    // Before the take-over, the copy came back while the dead worker's lease was still watched.
    expect(deferred).toContain('IN_FLIGHT');
    const stored = await record(id);
    expect(stored?.workStatus).toEqual({ S: 'COMPLETED' });
  });

  /** A queue as deployed (visibility 1 s here, maxReceiveCount 3 into a DLQ of its own). */
  async function redrivenQueue(region: string): Promise<{ queueUrl: string; dlqUrl: string }> {
    const name = `fence-${randomUUID().slice(0, 8)}`;
    const { QueueUrl: dlqUrl } = await aws.sqs(region).send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
    const { Attributes } = await aws.sqs(region).send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }));
    const { QueueUrl } = await aws.sqs(region).send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: { VisibilityTimeout: '1', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes?.QueueArn, maxReceiveCount: 3 }) },
      }),
    );
    return { queueUrl: QueueUrl as string, dlqUrl: dlqUrl as string };
  }

  /** Three workers, a fence each, on a redriven queue; `crash` decides which copies their worker dies on. */
  async function fleet(requests: number, crash: (token: string) => boolean) {
    const { queueUrl, dlqUrl } = await redrivenQueue('us-west-1');
    const ids = Array.from({ length: requests }, () => `req-${randomUUID().slice(0, 8)}`);
    for (const id of ids) await sendTo('us-west-1', queueUrl, id, `tok-${id}`);
    const events: WorkerEvent[] = [];
    const workers = startWorkers({
      region: 'us-west-1',
      client: aws.sqs('us-west-1'),
      queueUrl,
      workers: 3,
      secondsPerRequest: 0.1,
      fence: { ...fenceOption(), leaseSeconds: 1 },
      crash: (copy) => crash(copy.token ?? ''),
      onEvent: (event) => events.push(event),
    });
    try {
      await vi.waitFor(() => expect(workers.processed()).toBe(requests), { timeout: 20_000 });
      // Long enough for a copy left in the queue to come back and be received again.
      await new Promise((resolve) => setTimeout(resolve, 2500));
    } finally {
      await workers.stop();
    }
    return { ids, events, workers, queueUrl, dlqUrl };
  }

  it('a fleet of three workers, a fence each: one dies mid-job, another keeps its copy while watching and processes it once; nothing reaches the DLQ', async () => {
    let crashes = 0;
    const { ids, events, workers, queueUrl, dlqUrl } = await fleet(1, () => crashes++ === 0);
    expect(workers.crashed()).toBe(1);
    expect(workers.processed()).toBe(1);
    const died = events.find((e) => e.kind === 'crashed');
    const done = events.filter((e) => e.kind === 'processed');
    expect(done).toHaveLength(1);
    expect(done[0]?.workerId).not.toBe(died?.workerId);
    // The worker that found the copy held kept it while its own fence watched, then took it over.
    const kept = events.filter((e) => e.kind === 'deferred' && e.reason === 'IN_FLIGHT');
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.every((e) => e.kept === true && e.workerId === done[0]?.workerId)).toBe(true);
    // Kept, not handed back: no receive beyond the one after the death.
    expect(Math.max(...events.filter((e) => e.kind === 'received').map((e) => e.receiveCount))).toBe(2);
    const stored = await record(ids[0] as string);
    expect(stored?.workStatus).toEqual({ S: 'COMPLETED' });
    expect(stored?.acceptedBy?.S).toBe(done[0]?.workerId);
    expect(await queueEmpty(aws.sqs('us-west-1'), queueUrl)).toBe(true);
    expect(await queueEmpty(aws.sqs('us-west-1'), dlqUrl)).toBe(true);
  }, 40_000);

  it('a fleet of three workers, a fence each: every first acceptance dies, and every copy is processed once, none in the DLQ', async () => {
    const died = new Set<string>();
    const { ids, events, workers, queueUrl, dlqUrl } = await fleet(6, (token) => !died.has(token) && Boolean(died.add(token)));
    expect(workers.crashed()).toBe(6);
    expect(workers.processed()).toBe(6);
    const done = events.filter((e) => e.kind === 'processed').map((e) => e.requestId);
    expect(done.sort()).toEqual([...ids].sort());
    for (const id of ids) expect((await record(id))?.workStatus).toEqual({ S: 'COMPLETED' });
    expect(Math.max(...events.filter((e) => e.kind === 'received').map((e) => e.receiveCount))).toBeLessThanOrEqual(2);
    expect(await queueEmpty(aws.sqs('us-west-1'), queueUrl)).toBe(true);
    expect(await queueEmpty(aws.sqs('us-west-1'), dlqUrl)).toBe(true);
  }, 40_000);
});
