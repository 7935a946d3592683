/**
 * Scaling the simulated workers while they run (tools/local/fleet/workers.ts setCount), seen where it matters, on
 * a real (fauxqs) SQS server: more workers hold more messages in flight at once, fewer hold fewer, and a
 * worker scaled away finishes the message it holds instead of handing it back.
 */
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startSqs, type SqsServer } from '../../../../tools/local/emulators/servers.js';
import { startWorkers, type WorkerEvent } from '../../../../tools/local/fleet/workers.js';

const REGION = 'us-west-1';
let sqs: SqsServer;
let client: SQSClient;
let queueCount = 0;

beforeAll(async () => {
  sqs = await startSqs(REGION);
  client = new SQSClient({ region: REGION, endpoint: sqs.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
});
afterAll(async () => {
  client.destroy();
  await sqs.stop();
});

async function queueWith(count: number) {
  const url = (await client.send(new CreateQueueCommand({ QueueName: `scale${++queueCount}`, Attributes: { VisibilityTimeout: '60' } }))).QueueUrl!;
  const bodies = Array.from({ length: count }, (_, i) => `job-${i}`);
  for (let i = 0; i < bodies.length; i += 10) {
    await client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: bodies.slice(i, i + 10).map((body, j) => ({ Id: String(j), MessageBody: body })) }));
  }
  return { url, bodies };
}

async function inFlight(url: string) {
  const { Attributes: a = {} } = await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessagesNotVisible'] }));
  return Number(a.ApproximateNumberOfMessagesNotVisible);
}

describe.concurrent('scaling the workers while they run', () => {
  it('up: new workers start at once, and more messages are in flight together', async () => {
    const { url } = await queueWith(8);
    // Long requests: what is in flight is what the workers hold (stop() hands them back).
    const workers = startWorkers({ region: REGION, client, queueUrl: url, workers: 1, secondsPerRequest: 60 });
    try {
      await vi.waitFor(async () => expect(await inFlight(url)).toBe(1), { timeout: 10_000, interval: 25 });
      workers.setCount(4);
      expect(workers.counts().count).toBe(4);
      await vi.waitFor(async () => expect(await inFlight(url)).toBe(4), { timeout: 10_000, interval: 25 });
      expect(workers.counts()).toEqual({ count: 4, retiring: 0, busy: 4 });
    } finally {
      await workers.stop();
    }
    expect(await inFlight(url)).toBe(0);
  });

  it('up from none: a pool started with 0 workers consumes once scaled', async () => {
    const { url, bodies } = await queueWith(6);
    const seen: string[] = [];
    const workers = startWorkers({ region: REGION, client, queueUrl: url, workers: 0, secondsPerRequest: 0.01, onProcessed: (body) => seen.push(body) });
    try {
      expect(workers.counts()).toEqual({ count: 0, retiring: 0, busy: 0 });
      workers.setCount(2);
      await vi.waitFor(() => expect(workers.processed()).toBe(6), { timeout: 10_000 });
      expect([...seen].sort()).toEqual([...bodies].sort());
    } finally {
      await workers.stop();
    }
  });

  it('down: the workers scaled away finish what they hold (nothing handed back), then fewer messages are in flight', async () => {
    const { url, bodies } = await queueWith(10);
    const events: WorkerEvent[] = [];
    const seen: string[] = [];
    const workers = startWorkers({
      region: REGION,
      client,
      queueUrl: url,
      workers: 4,
      secondsPerRequest: 0.4,
      onEvent: (event) => events.push(event),
      onProcessed: (body) => seen.push(body),
    });
    try {
      await vi.waitFor(async () => expect(await inFlight(url)).toBe(4), { timeout: 10_000, interval: 10 });
      workers.setCount(1);
      // The messages held when the pool was told to shrink.
      const ended = new Set(events.filter((e) => e.kind !== 'received').map((e) => e.messageId));
      const held = new Set(events.filter((e) => e.kind === 'received' && !ended.has(e.messageId)).map((e) => e.messageId));
      expect(held.size).toBeGreaterThan(0);
      expect(workers.counts().count).toBe(1);

      await vi.waitFor(() => expect(workers.counts().retiring).toBe(0), { timeout: 10_000 });
      // From now on one worker: never more than one message in flight.
      const observed: number[] = [];
      await vi.waitFor(
        async () => {
          observed.push(await inFlight(url));
          expect(workers.processed()).toBe(10);
        },
        { timeout: 20_000, interval: 20 },
      );
      expect(Math.max(...observed)).toBeLessThanOrEqual(1);
      // Every message held at the scale-down was processed, none handed back; each message once.
      const processed = new Set(events.filter((e) => e.kind === 'processed').map((e) => e.messageId));
      for (const id of held) expect(processed.has(id)).toBe(true);
      expect(events.filter((e) => e.kind === 'deferred')).toEqual([]);
      expect([...seen].sort()).toEqual([...bodies].sort());
      // Four workers took part, one of them is left.
      expect(new Set(events.map((e) => e.workerId)).size).toBe(4);
      expect(workers.counts()).toMatchObject({ count: 1, retiring: 0 });
    } finally {
      await workers.stop();
    }
  });

  it('refuses a count that is not a whole number >= 0, and any change after stop()', async () => {
    const { url } = await queueWith(0);
    const workers = startWorkers({ region: REGION, client, queueUrl: url, workers: 1, secondsPerRequest: 0 });
    expect(() => workers.setCount(-1)).toThrow(RangeError);
    expect(() => workers.setCount(1.5)).toThrow(/whole number >= 0, got 1.5/);
    expect(workers.counts().count).toBe(1);
    await workers.stop();
    expect(() => workers.setCount(2)).toThrow(/stopped/);
  });
});
