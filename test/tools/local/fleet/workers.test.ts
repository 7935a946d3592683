/**
 * Simulated regional workers against a real (fauxqs) SQS server: they drain the queue, one message
 * per worker at a time, and stop cleanly.
 */
import { runScript } from '../../../support/child-script.js';
import { fileURLToPath } from 'node:url';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startWorkers } from '../../../../tools/local/fleet/workers.js';
import { startSqs, type SqsServer } from '../../../../tools/local/emulators/servers.js';

const REGION = 'us-west-2';
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

async function queueWith(bodies: string[]) {
  const url = (await client.send(new CreateQueueCommand({ QueueName: `w${++queueCount}`, Attributes: { VisibilityTimeout: '30' } }))).QueueUrl!;
  for (let i = 0; i < bodies.length; i += 10) {
    await client.send(
      new SendMessageBatchCommand({ QueueUrl: url, Entries: bodies.slice(i, i + 10).map((body, j) => ({ Id: String(j), MessageBody: body })) }),
    );
  }
  return url;
}

async function depth(url: string) {
  const { Attributes: a = {} } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return { visible: Number(a.ApproximateNumberOfMessages), inFlight: Number(a.ApproximateNumberOfMessagesNotVisible) };
}

describe.concurrent('workers', () => {
  it('consume every message exactly once and count them', async () => {
    const bodies = Array.from({ length: 12 }, (_, i) => `job-${i}`);
    const url = await queueWith(bodies);
    const seen: Array<[string, string]> = [];
    const workers = startWorkers({ region: REGION, client, queueUrl: url, workers: 2, secondsPerRequest: 0.05, onProcessed: (body, region) => seen.push([body, region]) });
    await vi.waitFor(() => expect(workers.processed()).toBe(12), { timeout: 10_000 });
    await workers.stop();
    expect(seen.map(([body]) => body).sort()).toEqual([...bodies].sort());
    expect(new Set(seen.map(([, region]) => region))).toEqual(new Set([REGION]));
    expect(await depth(url)).toEqual({ visible: 0, inFlight: 0 });
    expect(workers.processed()).toBe(12);
  });

  it('hold one message per worker at a time', async () => {
    const url = await queueWith(['a', 'b', 'c', 'd', 'e']);
    const workers = startWorkers({ region: REGION, client, queueUrl: url, workers: 2, secondsPerRequest: 0.3 });
    const observed: number[] = [];
    await vi.waitFor(
      async () => {
        const { inFlight } = await depth(url);
        observed.push(inFlight);
        expect(inFlight).toBe(2);
      },
      { timeout: 5_000, interval: 20 },
    );
    await vi.waitFor(() => expect(workers.processed()).toBe(5), { timeout: 10_000 });
    await workers.stop();
    expect(Math.max(...observed)).toBeLessThanOrEqual(2);
  });

  it('stop() interrupts work in progress and hands the message back at once', async () => {
    const url = await queueWith(['long job']);
    const workers = startWorkers({ region: REGION, client, queueUrl: url, workers: 1, secondsPerRequest: 60 });
    await vi.waitFor(async () => expect((await depth(url)).inFlight).toBe(1));
    await workers.stop(); // within the test timeout, so not after 60 s
    expect(workers.processed()).toBe(0);
    expect(await depth(url)).toEqual({ visible: 1, inFlight: 0 });
  });

  // No dangling timer, socket or poll: the process exits without process.exit().
  it('lets a process that used them exit on its own', async () => {
    const root = fileURLToPath(new URL('../../../../', import.meta.url));
    const script = `
      import { SQSClient, CreateQueueCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
      import { startSqs } from './tools/local/emulators/servers.ts';
      import { startWorkers } from './tools/local/fleet/workers.ts';
      const sqs = await startSqs('us-west-2');
      const client = new SQSClient({ region: 'us-west-2', endpoint: sqs.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
      const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: 'exit' }));
      for (let i = 0; i < 3; i++) await client.send(new SendMessageCommand({ QueueUrl, MessageBody: 'x' + i }));
      const workers = startWorkers({ region: 'us-west-2', client, queueUrl: QueueUrl, workers: 2, secondsPerRequest: 0.01 });
      while (workers.processed() < 3) await new Promise((r) => setTimeout(r, 20));
      await workers.stop();
      client.destroy();
      await sqs.stop();
      console.log('processed', workers.processed());
    `;
    const { code, signal, output } = await runScript(script, root);
    expect(signal, output).toBeNull();
    expect(code, output).toBe(0);
    expect(output).toContain('processed 3');
  }, 20_000);
});
