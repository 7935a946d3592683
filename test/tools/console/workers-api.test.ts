/**
 * The console's worker and capacity API, without a browser: /api/workers lists the stack's simulated
 * workers and scales a region's (the workers then really consume its queue), bad input is a 4xx that
 * names the problem, and /api/regions says what each region is weighed by.
 */
import { DeleteItemCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { clearCapacity, writeCapacity } from '../../../aws/capacity.js';
import { presenceKey } from '../../../core/presence.js';
import { startConsole, type ConsoleServer } from '../../../tools/console/server.js';
import { workerFleet, type WorkerFleet } from '../../../tools/local/fleet/fleet.js';
import { LOCAL_CREDENTIALS, sqsAt } from '../../../tools/local/resources.js';
import { startLocalStack, type LocalStack } from '../../../tools/local/stack.js';
import { request } from '../../support/local-aws.js';

let stack: LocalStack;
let fleet: WorkerFleet;
let web: ConsoleServer;
/** A console of the same stack started without the fleet. */
let bare: ConsoleServer;
let dynamo: DynamoDBClient;

beforeAll(async () => {
  // No workers of the stack's own: every pool is the fleet's, started by the API.
  stack = await startLocalStack({ retryIntervalMs: 20, env: { regionHealthSeconds: 0 } });
  fleet = workerFleet(stack, { secondsPerRequest: 0.01 });
  web = await startConsole({ description: stack.description, sampleIntervalMs: 100, workers: fleet });
  bare = await startConsole({ description: stack.description, sampleIntervalMs: 1000 });
  const d = stack.description;
  dynamo = new DynamoDBClient({ region: d.homeRegion, endpoint: d.endpoints.dynamodb, credentials: LOCAL_CREDENTIALS });
}, 60_000);
afterAll(async () => {
  dynamo?.destroy();
  await bare?.stop();
  await web?.stop();
  await fleet?.stop();
  await stack?.stop();
});

async function api(server: ConsoleServer, path: string, init?: RequestInit) {
  const response = await fetch(new URL(path, server.url), init);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> & { error?: string } };
}
const put = (region: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  api(web, `/api/workers/${region}`, { method: 'PUT', headers, body });

type Listed = { regions: Array<{ region: string; workers: number; retiring: number; busy: number; processed: number }> };
const listed = async () => (await api(web, '/api/workers')).body as unknown as Listed;
const workersOf = async (region: string) => (await listed()).regions.find((r) => r.region === region);

describe('bad requests are 4xx with a message that names the problem', () => {
  it.each([
    ['{"count":-1}', 400, /count: must be at least 0/],
    ['{"count":1.5}', 400, /count: must be a whole number/],
    ['{"count":101}', 400, /count: must be at most 100/],
    ['{"count":"2"}', 400, /count: must be a number/],
    ['{}', 400, /count: is required: a whole number of workers/],
    ['{"count":1,"size":"xl"}', 400, /unknown body field: size/],
    ['count=1', 400, /not valid JSON/],
  ])('PUT %s -> %i', async (body, status, message) => {
    const answer = await put('us-west-2', body);
    expect(answer.status).toBe(status);
    expect(answer.body.error).toMatch(message);
  });

  it('refuses an unknown region, a body that is not JSON, a write from another site, and a GET of a region', async () => {
    expect(await put('eu-north-9', '{"count":1}')).toMatchObject({ status: 404, body: { error: 'no region eu-north-9: the stack has us-east-1, us-west-2, us-west-1' } });
    expect(await put('us-west-2', '{"count":1}', { 'content-type': 'text/plain' })).toMatchObject({ status: 415 });
    expect(await put('us-west-2', '{"count":1}', { 'content-type': 'application/json', origin: 'http://example.com' })).toMatchObject({
      status: 403,
      body: { error: 'cross-origin writes are refused' },
    });
    expect(await api(web, '/api/workers/us-west-2')).toMatchObject({ status: 405, body: { error: '/api/workers/us-west-2 takes PUT' } });
    expect(await api(web, '/api/workers', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"count":1}' })).toMatchObject({ status: 405 });
    expect(await api(web, '/api/workers?region=us-west-2')).toMatchObject({ status: 400, body: { error: 'unknown query parameter: region' } });
    // None of it changed anything.
    expect((await listed()).regions.map((r) => r.workers)).toEqual([0, 0, 0]);
  });

  it('says so when the console was started without the workers', async () => {
    expect(await api(bare, '/api/workers')).toMatchObject({ status: 404, body: { error: expect.stringMatching(/without control of the stack's workers/) } });
    expect(
      await api(bare, '/api/workers/us-west-2', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"count":1}' }),
    ).toMatchObject({ status: 404 });
  });
});

describe('scaling', () => {
  it('starts workers in a region that had none, which then drain its queue; scales them away again', async () => {
    const d = stack.description;
    const queueUrl = d.regions.find((r) => r.region === 'us-west-1')?.queueUrl as string;
    const sqs = sqsAt('us-west-1', d.endpoints.sqs['us-west-1'] as string);
    try {
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Array.from({ length: 5 }, (_, i) => ({ Id: `m${i}`, MessageBody: JSON.stringify(request(`req-workers-api-${i}`)) })),
        }),
      );
      expect(await workersOf('us-west-1')).toEqual({ region: 'us-west-1', workers: 0, retiring: 0, busy: 0, processed: 0 });

      const scaled = await put('us-west-1', '{"count":2}');
      expect(scaled).toMatchObject({ status: 200, body: { region: 'us-west-1', workers: 2 } });
      await vi.waitFor(async () => expect((await workersOf('us-west-1'))?.processed).toBe(5), { timeout: 15_000, interval: 100 });
      // The other regions were left alone.
      expect((await listed()).regions.filter((r) => r.region !== 'us-west-1').map((r) => r.workers)).toEqual([0, 0]);

      expect((await put('us-west-1', '{"count":0}')).body).toMatchObject({ workers: 0 });
      await vi.waitFor(async () => expect((await workersOf('us-west-1'))?.retiring).toBe(0), { timeout: 10_000 });
      // With no worker left, a new message stays in the queue (read back here, then made visible again).
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(request('req-workers-api-after')) }));
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1, VisibilityTimeout: 0 }));
      expect(Messages.map((m) => (JSON.parse(m.Body ?? '{}') as { request_id?: string }).request_id)).toEqual(['req-workers-api-after']);
      expect((await workersOf('us-west-1'))?.processed).toBe(5);
    } finally {
      sqs.destroy();
    }
  });
});

describe('/api/regions: the capacity each region is weighed by', () => {
  it('shows a setting with who set it, and the configured capacity elsewhere; and the workers', async () => {
    const table = { client: dynamo, tableName: stack.description.tableName };
    await writeCapacity(table, 'us-west-2', 0, 'api test', 1_800_000_000_000);
    try {
      const { status, body } = await api(web, '/api/regions');
      expect(status).toBe(200);
      const capacities = body.capacities as Array<{ region: string; configured: number; setting: unknown; effective: unknown }>;
      expect(capacities.map((c) => [c.region, c.effective])).toEqual([
        ['us-east-1', { capacity: 1, source: 'configured' }],
        ['us-west-2', { capacity: 0, source: 'set' }],
        ['us-west-1', { capacity: 1, source: 'configured' }],
      ]);
      expect(capacities[1]?.setting).toEqual({ region: 'us-west-2', capacity: 0, setAt: 1_800_000_000_000, setBy: 'api test' });
      expect(body.capacityWarning).toBeUndefined();
      expect((body.workers as Listed['regions']).map((w) => w.region)).toEqual(['us-east-1', 'us-west-2', 'us-west-1']);
      // The console without the fleet shows capacities, and no workers.
      const plain = await api(bare, '/api/regions');
      expect((plain.body.capacities as unknown[]).length).toBe(3);
      expect(plain.body.workers).toBeUndefined();
    } finally {
      await clearCapacity(table, 'us-west-2');
    }
    const after = await api(web, '/api/regions');
    expect((after.body.capacities as Array<{ setting: unknown }>).every((c) => c.setting === null)).toBe(true);
  });

  it("weighs a fleet that reports itself by its live workers, as the dispatch and `capacity list` do", async () => {
    const key = { request_id: { S: presenceKey('us-west-1') } };
    const now = Date.now();
    // Three live workers and one whose lease has passed, as worker/presence.ts writes them.
    await dynamo.send(
      new PutItemCommand({
        TableName: stack.description.tableName,
        Item: { ...key, w_a: { N: String(now + 60_000) }, w_b: { N: String(now + 60_000) }, w_c: { N: String(now + 60_000) }, w_gone: { N: String(now - 1_000) } },
      }),
    );
    try {
      const { body } = await api(web, '/api/regions');
      const west1 = (body.capacities as Array<{ region: string; presence: unknown; effective: unknown }>).find((c) => c.region === 'us-west-1');
      expect(west1?.effective).toEqual({ capacity: 3, source: 'present' });
      expect(west1?.presence).toMatchObject({ region: 'us-west-1', live: 3, lapsed: 1 });
    } finally {
      await dynamo.send(new DeleteItemCommand({ TableName: stack.description.tableName, Key: key }));
    }
  });
});
