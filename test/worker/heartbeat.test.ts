/**
 * Jobs that outlive their lease (issue 16, case 7), against dynalite and fauxqs through the real SDK
 * clients: fenced() and fenceMiddleware() extend the lease (and, given the means, the message's
 * visibility) while the job runs, stop when it ends however it ends, tell the job when the lease is lost,
 * and refuse its completion then. Leases of 1 s; nothing asserts how long anything took.
 */
import { randomUUID } from 'node:crypto';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand, SendMessageCommand, type Message } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ATTR, MESSAGE_ATTRIBUTE } from '../../core/record.js';
import {
  AlreadyAcceptedError,
  DynamoFencePersistence,
  Fence,
  fenced,
  fenceMiddleware,
  LeaseLostError,
  sqsVisibility,
  type FencePersistence,
} from '../../worker/index.js';
import { runScript } from '../support/child-script.js';
import { startLocalAws, type LocalAws, claimRecord } from '../support/local-aws.js';
import { refusal } from '../support/refusal.js';
import { copyRecord } from '../support/sqs-event.js';

const REGION = 'us-west-2';
let aws: LocalAws;
let queueUrl: string;

beforeAll(async () => {
  aws = await startLocalAws();
  queueUrl = aws.resources.regions.find((r) => r.region === REGION)?.queueUrl as string;
});
afterAll(async () => {
  await aws?.stop();
});

const newId = () => `req-${randomUUID().slice(0, 12)}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const persistence = () => new DynamoFencePersistence(aws.dynamo, aws.resources.tableName);
const newFence = () => Fence.dynamo(aws.dynamo, aws.resources.tableName);

const item = (requestId: string) => claimRecord(aws, requestId);


const copy = (requestId: string, token: string): Message => ({
  MessageId: randomUUID(),
  ReceiptHandle: randomUUID(),
  Body: JSON.stringify({ request_id: requestId }),
  MessageAttributes: {
    [MESSAGE_ATTRIBUTE.requestId]: { DataType: 'String', StringValue: requestId },
    [MESSAGE_ATTRIBUTE.dispatchToken]: { DataType: 'String', StringValue: token },
  },
});

/** A persistence whose chosen operations fail as if DynamoDB were unreachable. */
function failing(operations: ReadonlyArray<'extend' | 'release' | 'complete'>): FencePersistence {
  const real = persistence();
  const unreachable = async () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { name: 'NetworkingError' }));
  return {
    accept: (write, takeOver) => real.accept(write, takeOver),
    get: (requestId) => real.get(requestId),
    extend: operations.includes('extend') ? unreachable : (write) => real.extend(write),
    release: operations.includes('release') ? unreachable : (write) => real.release(write),
    complete: operations.includes('complete') ? unreachable : (write) => real.complete(write),
  };
}

/** Tries the same copy through another worker every 250 ms until `done`; the refusals' reasons. */
async function keepTrying(run: () => Promise<unknown>, done: () => boolean): Promise<string[]> {
  const reasons: string[] = [];
  while (!done()) {
    const error = await refusal(run()).catch(() => 'processed');
    reasons.push(error instanceof AlreadyAcceptedError ? error.reason : String(error));
    await sleep(250);
  }
  return reasons;
}

describe('heartbeat under fenced()', () => {
  it('a job three times its lease, with a second worker trying the same copy meanwhile: processed once, the message kept invisible', async () => {
    const id = newId();
    const sqs = aws.sqs(REGION);
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify({ request_id: id }),
        MessageAttributes: {
          [MESSAGE_ATTRIBUTE.requestId]: { DataType: 'String', StringValue: id },
          [MESSAGE_ATTRIBUTE.dispatchToken]: { DataType: 'String', StringValue: 'tok-a' },
        },
      }),
    );
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MessageAttributeNames: ['All'], VisibilityTimeout: 1, WaitTimeSeconds: 1 }));
    const message = Messages[0] as Message;
    expect(message).toBeDefined();

    let runs = 0;
    let finished = false;
    const job = async (_: Message, context: { signal: AbortSignal }) => {
      runs += 1;
      await sleep(3500);
      return context.signal.aborted ? 'aborted' : 'done';
    };
    const first = fenced(job, { fence: newFence(), workerId: 'A', leaseSeconds: 1, extendVisibility: sqsVisibility(sqs, queueUrl) });
    const second = fenced(job, { fence: newFence(), workerId: 'B', leaseSeconds: 1 });
    const received: number[] = [];
    const running = first(message).finally(() => (finished = true));
    const [outcome, reasons] = await Promise.all([
      running,
      keepTrying(async () => {
        // SQS does not hand the copy out while its visibility is extended...
        const again = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MessageAttributeNames: ['All'], VisibilityTimeout: 1 }));
        received.push(again.Messages?.length ?? 0);
        // ...and the same copy delivered twice anyway is refused by the fence.
        return second(message);
      }, () => finished),
    ]);
    expect(outcome).toMatchObject({ skipped: false, result: 'done', completed: true });
    expect(runs).toBe(1);
    expect(reasons.length).toBeGreaterThanOrEqual(8);
    // While A works, B is told IN_FLIGHT; a try that lands between A's completion and the loop's end is told
    // the request was processed (dropped), never anything else, and never before an IN_FLIGHT.
    const firstProcessed = reasons.indexOf('processed');
    const whileHeld = firstProcessed === -1 ? reasons : reasons.slice(0, firstProcessed);
    expect(new Set(whileHeld)).toEqual(new Set(['IN_FLIGHT']));
    expect(reasons.slice(whileHeld.length).every((r) => r === 'processed')).toBe(true);
    expect(received.every((n) => n === 0)).toBe(true);
    expect(await item(id)).toMatchObject({ [ATTR.workStatus]: { S: 'COMPLETED' }, [ATTR.acceptedBy]: { S: 'A' } });
  });

  it('no heartbeat gets through: the job is told when its lease runs out, a watcher takes over, and the late completion is refused', async () => {
    const id = newId();
    const holder = new Fence({ persistence: failing(['extend']) });
    const watcher = newFence();
    let told: unknown;
    const warnings: string[] = [];
    const run = fenced(
      async (_: Message, context: { signal: AbortSignal }) => {
        await new Promise((resolve) => context.signal.addEventListener('abort', resolve, { once: true }));
        told = context.signal.reason;
        // Ignores the signal and finishes once the watcher holds the copy.
        await vi.waitFor(async () => expect((await item(id))?.[ATTR.acceptedBy]).toEqual({ S: 'B' }), { timeout: 10_000, interval: 100 });
        return 'late';
      },
      { fence: holder, workerId: 'A', leaseSeconds: 1, onWarning: (message, detail) => warnings.push(detail.kind) },
    );
    const running = run(copy(id, 'tok-a'));
    await vi.waitFor(() => watcher.accept({ requestId: id, token: 'tok-a', workerId: 'B', leaseSeconds: 30 }), { timeout: 10_000, interval: 200 });
    const error = await refusal(running);
    expect(told).toBeInstanceOf(LeaseLostError);
    expect(told).toMatchObject({ reason: 'EXPIRED' });
    expect(error).toBeInstanceOf(LeaseLostError);
    expect(error).toMatchObject({ reason: 'NOT_HOLDER' });
    expect(warnings).toContain('heartbeat-failed');
    expect(await item(id)).toMatchObject({ [ATTR.workStatus]: { S: 'ACCEPTED' }, [ATTR.acceptedBy]: { S: 'B' } });
  });

  it('a heartbeat that finds the lease taken aborts the job, and its completion is refused', async () => {
    const id = newId();
    const run = fenced(
      async (_: Message, context: { signal: AbortSignal }) => {
        // Someone else's acceptance replaces this one (an older worker that trusted its clock, say).
        await aws.dynamo.send(
          new PutItemCommand({
            TableName: aws.resources.tableName,
            Item: { request_id: { S: id }, acceptedToken: { S: 'tok-a' }, acceptedBy: { S: 'intruder' }, workStatus: { S: 'ACCEPTED' } },
          }),
        );
        await new Promise((resolve) => context.signal.addEventListener('abort', resolve, { once: true }));
        expect(context.signal.reason).toMatchObject({ reason: 'NOT_HOLDER' });
        return 'ignored';
      },
      { fence: newFence(), workerId: 'A', leaseSeconds: 1 },
    );
    expect(await refusal(run(copy(id, 'tok-a')))).toMatchObject({ name: 'LeaseLostError', reason: 'NOT_HOLDER' });
    expect(await item(id)).toMatchObject({ [ATTR.workStatus]: { S: 'ACCEPTED' }, [ATTR.acceptedBy]: { S: 'intruder' } });
  });

  it('a job that throws stops the heartbeat: with its release lost too, the lease lapses and a watcher takes over', async () => {
    const id = newId();
    const failure = new Error('GPU fell over');
    const run = fenced(
      async () => {
        await sleep(600); // at least one heartbeat first
        throw failure;
      },
      { fence: new Fence({ persistence: failing(['release']) }), workerId: 'A', leaseSeconds: 1, onWarning: () => undefined },
    );
    expect(await refusal(run(copy(id, 'tok-a')))).toBe(failure);
    const after = (await item(id))?.leaseVersion;
    await sleep(1200);
    // Not one beat since the job ended.
    expect((await item(id))?.leaseVersion).toEqual(after);
    const watcher = newFence();
    expect(await vi.waitFor(() => watcher.accept({ requestId: id, token: 'tok-a', workerId: 'B', leaseSeconds: 30 }), { timeout: 10_000, interval: 200 })).toMatchObject({
      acceptedBy: 'B',
    });
  });

  it('a worker that dies mid-job (stopHeartbeat, never returns) leaves the lease to lapse; a watcher then takes over', async () => {
    const id = newId();
    const run = fenced(
      async (_: Message, context: { stopHeartbeat(): void }) => {
        context.stopHeartbeat();
        return new Promise<never>(() => undefined);
      },
      { fence: newFence(), workerId: 'A', leaseSeconds: 1 },
    );
    void run(copy(id, 'tok-a'));
    const watcher = newFence();
    await vi.waitFor(async () => expect((await item(id))?.[ATTR.acceptedBy]).toEqual({ S: 'A' }), { timeout: 5_000, interval: 50 });
    expect(await refusal(watcher.accept({ requestId: id, token: 'tok-a', workerId: 'B', leaseSeconds: 30 }))).toMatchObject({ reason: 'IN_FLIGHT' });
    expect(await vi.waitFor(() => watcher.accept({ requestId: id, token: 'tok-a', workerId: 'B', leaseSeconds: 30 }), { timeout: 10_000, interval: 200 })).toMatchObject({
      acceptedBy: 'B',
    });
  });

  it.each([
    ['completes', 'return "ok";'],
    ['throws', 'throw new Error("boom");'],
  ])('the heartbeat never keeps a process alive: a child whose job %s after several beats exits on its own', async (_, end) => {
    const id = newId();
    const script = `
      import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
      import { Fence, fenced } from './worker/index.ts';
      const client = new DynamoDBClient({ region: 'us-east-1', endpoint: ${JSON.stringify(aws.endpoints.dynamodb)}, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
      const run = fenced(async () => { await new Promise((r) => setTimeout(r, 1200)); ${end} }, { fence: Fence.dynamo(client, ${JSON.stringify(aws.resources.tableName)}), workerId: 'child', leaseSeconds: 1, onWarning: () => {} });
      const message = { MessageId: 'm', Body: '{}', MessageAttributes: { request_id: { DataType: 'String', StringValue: ${JSON.stringify(id)} }, dispatch_token: { DataType: 'String', StringValue: 'tok-a' } } };
      await run(message).then((o) => console.log('outcome', o.skipped ? 'skipped' : o.completed), (e) => console.log('error', e.message));
      client.destroy();
    `;
    const result = await runScript(script, process.cwd(), 20_000);
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    expect(result.output).toMatch(end.startsWith('return') ? /outcome true/ : /error boom/);
    const stored = await item(id);
    if (end.startsWith('return')) expect(stored?.[ATTR.workStatus]).toEqual({ S: 'COMPLETED' });
    else expect(stored?.[ATTR.acceptedToken]).toBeUndefined();
  });
});

const sqsRecord = (requestId: string, token: string): SQSRecord => copyRecord(requestId, token, { region: REGION });

describe('heartbeat under fenceMiddleware()', () => {
  it('a batch three times its lease, with another worker trying the same copy meanwhile: processed once', async () => {
    const id = newId();
    let runs = 0;
    let finished = false;
    const handler = middy(async () => {
      runs += 1;
      await sleep(3500);
    }).use(fenceMiddleware({ fence: newFence(), leaseSeconds: 1 }));
    const record = sqsRecord(id, 'tok-a');
    const other = fenced(async () => (runs += 1), { fence: newFence(), workerId: 'B', leaseSeconds: 1 });
    const [response, reasons] = await Promise.all([
      (handler({ Records: [record] } as SQSEvent, { functionName: 'gpu', awsRequestId: 'inv-1' } as unknown as Context) as Promise<unknown>).finally(() => (finished = true)),
      keepTrying(() => other(copy(id, 'tok-a')), () => finished),
    ]);
    expect(response as SQSBatchResponse).toEqual({ batchItemFailures: [] });
    expect(runs).toBe(1);
    // While A works, B is told IN_FLIGHT; a try that lands between A's completion and the loop's end is told
    // the request was processed (dropped), never anything else, and never before an IN_FLIGHT.
    const firstProcessed = reasons.indexOf('processed');
    const whileHeld = firstProcessed === -1 ? reasons : reasons.slice(0, firstProcessed);
    expect(new Set(whileHeld)).toEqual(new Set(['IN_FLIGHT']));
    expect(reasons.slice(whileHeld.length).every((r) => r === 'processed')).toBe(true);
    expect(await item(id)).toMatchObject({ [ATTR.workStatus]: { S: 'COMPLETED' }, [ATTR.acceptedBy]: { S: 'gpu:inv-1' } });
  });
});
