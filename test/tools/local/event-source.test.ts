/**
 * The SQS event source mapping emulation against a real (fauxqs) SQS server through the real
 * SQSClient: batch shape, batch size, deletion of exactly what succeeded, redrive to the DLQ.
 */
import { runScript } from '../../support/child-script.js';
import { fileURLToPath } from 'node:url';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
  SendMessageBatchCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { failedItems, startEventSource, type BatchStats } from '../../../tools/local/event-source.js';
import { startSqs, type SqsServer } from '../../../tools/local/emulators/servers.js';

const REGION = 'us-east-1';
let sqs: SqsServer;
let client: SQSClient;
let queueCount = 0;

beforeAll(async () => {
  sqs = await startSqs(REGION);
  client = new SQSClient({
    region: REGION,
    endpoint: sqs.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});

afterAll(async () => {
  client.destroy();
  await sqs.stop();
});

async function createQueue(attributes: Record<string, string> = {}) {
  const created = await client.send(new CreateQueueCommand({ QueueName: `q${++queueCount}`, Attributes: attributes }));
  const url = created.QueueUrl!;
  const arn = (await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  return { url, arn };
}

async function depth(url: string) {
  const { Attributes: a = {} } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return { visible: Number(a.ApproximateNumberOfMessages), inFlight: Number(a.ApproximateNumberOfMessagesNotVisible) };
}

async function sendBodies(url: string, bodies: string[]) {
  for (let i = 0; i < bodies.length; i += 10) {
    await client.send(
      new SendMessageBatchCommand({ QueueUrl: url, Entries: bodies.slice(i, i + 10).map((body, j) => ({ Id: String(j), MessageBody: body })) }),
    );
  }
}

const source = (queue: { url: string; arn: string }, handler: (event: SQSEvent) => Promise<SQSBatchResponse | void>, extra = {}) => {
  const batches: BatchStats[] = [];
  const mapping = startEventSource({
    client,
    queueUrl: queue.url,
    queueArn: queue.arn,
    region: REGION,
    handler,
    maximumBatchingWindowSeconds: 0.2,
    onBatch: (stats) => batches.push(stats),
    ...extra,
  });
  return { mapping, batches };
};

describe.concurrent('the event passed to the handler', () => {
  it('has real SQSRecords and a Lambda-like context, and succeeded records are deleted', async () => {
    const queue = await createQueue();
    const sent = await client.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: '{"request_id":"r1"}',
        MessageAttributes: {
          reason: { DataType: 'String', StringValue: 'schema' },
          size: { DataType: 'Number', StringValue: '42' },
          blob: { DataType: 'Binary', BinaryValue: Buffer.from('hi') },
        },
      }),
    );
    const seen: Array<{ record: SQSRecord; functionName: string; remaining: number; arn: string }> = [];
    const { mapping } = source(queue, async () => undefined, {
      functionName: 'intake',
      handler: async (event: SQSEvent, context: { functionName: string; getRemainingTimeInMillis(): number; invokedFunctionArn: string }) => {
        for (const record of event.Records) {
          seen.push({ record, functionName: context.functionName, remaining: context.getRemainingTimeInMillis(), arn: context.invokedFunctionArn });
        }
      },
    });
    await vi.waitFor(() => expect(seen).toHaveLength(1));
    await mapping.stop();

    const [{ record, functionName, remaining, arn }] = seen as [(typeof seen)[0]];
    expect(record).toMatchObject({
      messageId: sent.MessageId,
      body: '{"request_id":"r1"}',
      md5OfBody: sent.MD5OfMessageBody,
      eventSource: 'aws:sqs',
      eventSourceARN: queue.arn,
      awsRegion: REGION,
    });
    expect(record.receiptHandle).toBeTruthy();
    expect(record.attributes.ApproximateReceiveCount).toBe('1');
    expect(record.attributes.SenderId).toBeTruthy();
    expect(Number(record.attributes.SentTimestamp)).toBeGreaterThan(0);
    expect(Number(record.attributes.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(Number(record.attributes.SentTimestamp));
    expect(record.messageAttributes).toEqual({
      reason: { stringValue: 'schema', stringListValues: [], binaryListValues: [], dataType: 'String' },
      size: { stringValue: '42', stringListValues: [], binaryListValues: [], dataType: 'Number' },
      blob: { binaryValue: Buffer.from('hi').toString('base64'), stringListValues: [], binaryListValues: [], dataType: 'Binary' },
    });
    expect(functionName).toBe('intake');
    expect(arn).toBe('arn:aws:lambda:us-east-1:000000000000:function:intake');
    expect(remaining).toBeGreaterThan(0);
    expect(await depth(queue.url)).toEqual({ visible: 0, inFlight: 0 });
    expect(mapping.stats()).toEqual({ batches: 1, received: 1, succeeded: 1, failed: 0 });
  });
});

describe.concurrent('batching', () => {
  it('never exceeds batchSize and consumes everything', async () => {
    const queue = await createQueue();
    await sendBodies(queue.url, Array.from({ length: 10 }, (_, i) => `m${i}`));
    const bodies: string[] = [];
    const { mapping, batches } = source(queue, async (event) => void bodies.push(...event.Records.map((r) => r.body)), { batchSize: 3 });
    await vi.waitFor(() => expect(bodies).toHaveLength(10));
    await mapping.stop();
    expect(batches.every((b) => b.size >= 1 && b.size <= 3)).toBe(true);
    expect(batches.length).toBeGreaterThanOrEqual(4);
    expect(bodies.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`).sort());
    expect(await depth(queue.url)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('gathers more than one receive (10 messages) into a batch of up to batchSize', async () => {
    const queue = await createQueue();
    await sendBodies(queue.url, Array.from({ length: 30 }, (_, i) => `m${i}`));
    const sizes: number[] = [];
    const { mapping } = source(queue, async (event) => void sizes.push(event.Records.length), { batchSize: 25, pollers: 1 });
    await vi.waitFor(() => expect(sizes.reduce((a, b) => a + b, 0)).toBe(30));
    await mapping.stop();
    expect(sizes).toEqual([25, 5]);
  });
});

describe.concurrent('what is deleted', () => {
  it('with a partial batch response, deletes every record except the reported failures', async () => {
    const queue = await createQueue({ VisibilityTimeout: '30' });
    await sendBodies(queue.url, ['ok1', 'bad1', 'ok2', 'bad2', 'ok3']);
    const failedHandles: string[] = [];
    const { mapping, batches } = source(
      queue,
      async (event) => {
        const bad = event.Records.filter((r) => r.body.startsWith('bad'));
        failedHandles.push(...bad.map((r) => r.receiptHandle));
        return { batchItemFailures: bad.map((r) => ({ itemIdentifier: r.messageId })) };
      },
      { pollers: 1 },
    );
    await vi.waitFor(() => expect(mapping.stats().received).toBe(5));
    await mapping.stop();
    expect(mapping.stats()).toMatchObject({ received: 5, succeeded: 3, failed: 2 });
    expect(batches.some((b) => b.wholeBatchFailed)).toBe(false);
    expect(await depth(queue.url)).toEqual({ visible: 0, inFlight: 2 });

    // The two left in flight are exactly the failures.
    for (const handle of failedHandles) {
      await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queue.url, ReceiptHandle: handle, VisibilityTimeout: 0 }));
    }
    const back = await client.send(new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    expect(back.Messages?.map((m) => m.Body).sort()).toEqual(['bad1', 'bad2']);
  });

  it('keeps the whole batch when the handler throws', async () => {
    const queue = await createQueue({ VisibilityTimeout: '30' });
    await sendBodies(queue.url, ['a', 'b', 'c']);
    const { mapping, batches } = source(
      queue,
      async () => {
        throw new Error('downstream unavailable');
      },
      { pollers: 1 },
    );
    await vi.waitFor(() => expect(mapping.stats().received).toBe(3));
    await mapping.stop();
    expect(mapping.stats()).toMatchObject({ succeeded: 0, failed: 3 });
    expect(batches.every((b) => b.wholeBatchFailed)).toBe(true);
    expect(batches[0]?.reason).toContain('downstream unavailable');
    expect(await depth(queue.url)).toEqual({ visible: 0, inFlight: 3 });
  });

  it('keeps the whole batch when batchItemFailures names a message that is not in it', async () => {
    const queue = await createQueue({ VisibilityTimeout: '30' });
    await sendBodies(queue.url, ['a', 'b']);
    const { mapping, batches } = source(queue, async () => ({ batchItemFailures: [{ itemIdentifier: 'no-such-id' }] }), { pollers: 1 });
    await vi.waitFor(() => expect(mapping.stats().received).toBe(2));
    await mapping.stop();
    expect(batches.every((b) => b.wholeBatchFailed)).toBe(true);
    expect(await depth(queue.url)).toEqual({ visible: 0, inFlight: 2 });
  });

  it('ignores the response when ReportBatchItemFailures is off', async () => {
    const queue = await createQueue({ VisibilityTimeout: '30' });
    await sendBodies(queue.url, ['a', 'b']);
    const { mapping } = source(queue, async (event) => ({ batchItemFailures: [{ itemIdentifier: event.Records[0]!.messageId }] }), {
      pollers: 1,
      reportBatchItemFailures: false,
    });
    await vi.waitFor(() => expect(mapping.stats().received).toBe(2));
    await mapping.stop();
    expect(await depth(queue.url)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('judges partial batch responses as Lambda does', () => {
    const ids = ['m1', 'm2'];
    const kept = (response: unknown) => {
      const result = failedItems(response, ids);
      return 'failed' in result ? [...result.failed] : 'all';
    };
    // Success of every record.
    expect(kept(undefined)).toEqual([]);
    expect(kept(null)).toEqual([]);
    expect(kept({})).toEqual([]);
    expect(kept({ batchItemFailures: [] })).toEqual([]);
    expect(kept({ batchItemFailures: null })).toEqual([]);
    // Partial failure.
    expect(kept({ batchItemFailures: [{ itemIdentifier: 'm2' }] })).toEqual(['m2']);
    // The whole batch fails.
    expect(kept({ batchItemFailures: [{ itemIdentifier: '' }] })).toBe('all');
    expect(kept({ batchItemFailures: [{ itemIdentifier: null }] })).toBe('all');
    expect(kept({ batchItemFailures: [{ id: 'm1' }] })).toBe('all');
    expect(kept({ batchItemFailures: [{ itemIdentifier: 'm3' }] })).toBe('all');
    expect(kept({ batchItemFailures: 'm1' })).toBe('all');
    expect(kept('nonsense')).toBe('all');
  });
});

describe.concurrent('redrive', () => {
  it('a message that always fails reaches the DLQ after maxReceiveCount (3) receives', async () => {
    const dlq = await createQueue();
    const queue = await createQueue({
      VisibilityTimeout: '1',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 3 }),
    });
    await sendBodies(queue.url, ['poison', 'fine']);
    const receives: string[] = [];
    const { mapping } = source(queue, async (event) => {
      receives.push(...event.Records.map((r) => `${r.body}#${r.attributes.ApproximateReceiveCount}`));
      return { batchItemFailures: event.Records.filter((r) => r.body === 'poison').map((r) => ({ itemIdentifier: r.messageId })) };
    });
    await vi.waitFor(async () => expect((await depth(dlq.url)).visible).toBe(1), { timeout: 10_000, interval: 100 });
    await mapping.stop();

    expect(receives.filter((r) => r.startsWith('poison')).sort()).toEqual(['poison#1', 'poison#2', 'poison#3']);
    expect(receives.filter((r) => r.startsWith('fine'))).toEqual(['fine#1']);
    const dead = await client.send(new ReceiveMessageCommand({ QueueUrl: dlq.url, MaxNumberOfMessages: 10 }));
    expect(dead.Messages?.map((m) => m.Body)).toEqual(['poison']);
    expect(await depth(queue.url)).toEqual({ visible: 0, inFlight: 0 });
  });
});

describe.concurrent('stop()', () => {
  it('stops polling: nothing is received after it resolves', async () => {
    const queue = await createQueue();
    const { mapping } = source(queue, async () => undefined, { pollers: 3 });
    await sendBodies(queue.url, ['one']);
    await vi.waitFor(() => expect(mapping.stats().succeeded).toBe(1));
    await mapping.stop();

    // Nothing receives any more.
    await sendBodies(queue.url, ['after stop']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await depth(queue.url)).toEqual({ visible: 1, inFlight: 0 });
    expect(mapping.stats().received).toBe(1);
  });

  // No dangling timer, socket or poll: the process exits without process.exit().
  it('lets a process that used it exit on its own', async () => {
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const script = `
      import { SQSClient, CreateQueueCommand, SendMessageCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
      import { startSqs } from './tools/local/emulators/servers.ts';
      import { startEventSource } from './tools/local/event-source.ts';
      const sqs = await startSqs('us-east-1');
      const client = new SQSClient({ region: 'us-east-1', endpoint: sqs.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
      const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: 'exit' }));
      await client.send(new SendMessageCommand({ QueueUrl, MessageBody: 'x' }));
      let handled = 0;
      const source = startEventSource({ client, queueUrl: QueueUrl, queueArn: 'arn:aws:sqs:us-east-1:000000000000:exit', region: 'us-east-1',
        handler: async (event) => { handled += event.Records.length; } });
      while (handled === 0) await new Promise((r) => setTimeout(r, 20));
      await source.stop();
      client.destroy();
      await sqs.stop();
      console.log('handled', handled);
    `;
    const { code, signal, output } = await runScript(script, root);
    expect(signal, output).toBeNull();
    expect(code, output).toBe(0);
    expect(output).toContain('handled 1');
  }, 20_000);
});
