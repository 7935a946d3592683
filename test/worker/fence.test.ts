/**
 * The worker-side dispatch fence (worker/) against dynalite through the real DynamoDBClient: each
 * acceptance case of the one conditional write, the holder conditions of complete / release / extend,
 * a race of ten workers, and the three ways in (identity reading, the wrapper, the middy middleware).
 */
import { randomUUID } from 'node:crypto';
import { PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { Message } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import sqsPartialBatchFailure from '@middy/sqs-partial-batch-failure';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ATTR, MESSAGE_ATTRIBUTE, RECORD_STATUS, WORK_STATUS } from '../../core/record.js';
import {
  AcceptRefusedError,
  AlreadyAcceptedError,
  AlreadyCompletedError,
  DeadLetteredError,
  dispatchIdentity,
  Fence,
  FenceError,
  fenced,
  fenceMiddleware,
  NoDispatchIdentityError,
  NotHolderError,
  RECORD_TTL_SECONDS,
} from '../../worker/index.js';
import { startLocalAws, type LocalAws, claimRecord } from '../support/local-aws.js';
import { refusal } from '../support/refusal.js';
import { copyRecord } from '../support/sqs-event.js';

const NOW = 1_800_000_000;
const LEASE = 30;

let aws: LocalAws;
let fence: Fence;

beforeAll(async () => {
  aws = await startLocalAws();
  fence = Fence.dynamo(aws.dynamo, aws.resources.tableName);
});
afterAll(async () => {
  await aws?.stop();
});

const newId = () => `req-${randomUUID().slice(0, 12)}`;

const item = (requestId: string) => claimRecord(aws, requestId);

async function put(requestId: string, attributes: Record<string, AttributeValue>): Promise<void> {
  await aws.dynamo.send(new PutItemCommand({ TableName: aws.resources.tableName, Item: { request_id: { S: requestId }, ...attributes } }));
}

const dispatched = (extra: Record<string, AttributeValue> = {}): Record<string, AttributeValue> => ({
  status: { S: RECORD_STATUS.dispatched },
  region: { S: 'us-west-2' },
  token: { S: 'tok-dispatched' },
  expiresAt: { N: String(NOW + 100) },
  ...extra,
});


const accept = (requestId: string, token: string, workerId = 'w1', now = NOW, leaseSeconds = LEASE) =>
  fence.accept({ requestId, token, workerId, leaseSeconds, now });

describe.concurrent('accept', () => {
  it('accepts an absent record and creates it with the acceptance and a 7-day TTL', async () => {
    const id = newId();
    const record = await accept(id, 'tok-a');
    expect(record).toMatchObject({
      request_id: id,
      acceptedToken: 'tok-a',
      acceptedBy: 'w1',
      acceptedAt: NOW,
      acceptedUntil: NOW + LEASE,
      workStatus: WORK_STATUS.accepted,
      expiresAt: NOW + RECORD_TTL_SECONDS,
    });
    expect(record.status).toBeUndefined();
    const stored = await item(id);
    expect(stored?.[ATTR.acceptedToken]).toEqual({ S: 'tok-a' });
    expect(stored?.[ATTR.expiresAt]).toEqual({ N: String(NOW + RECORD_TTL_SECONDS) });
  });

  it.each([RECORD_STATUS.dispatched, RECORD_STATUS.inProgress, RECORD_STATUS.redriven])('accepts a %s record and keeps its dispatch fields', async (status) => {
    const id = newId();
    await put(id, dispatched({ status: { S: status }, owner: { S: 'exec-1' }, leaseUntil: { N: String(NOW + 60) } }));
    const record = await accept(id, 'tok-a');
    expect(record).toMatchObject({ status, region: 'us-west-2', token: 'tok-dispatched', owner: 'exec-1', acceptedToken: 'tok-a', workStatus: 'ACCEPTED' });
    // The TTL moves on so that the record outlives the work.
    expect(record.expiresAt).toBe(NOW + RECORD_TTL_SECONDS);
  });

  it('refuses a second token with AlreadyAcceptedError carrying the record (the copy is dropped)', async () => {
    const id = newId();
    await put(id, dispatched());
    await accept(id, 'tok-a', 'w1');
    const error = await refusal(accept(id, 'tok-b', 'w2', NOW + 5));
    expect(error).toBeInstanceOf(AlreadyAcceptedError);
    const refused = error as AlreadyAcceptedError;
    expect(refused.reason).toBe('ALREADY_ACCEPTED');
    expect(refused.dropCopy).toBe(true);
    expect(refused.sameCopy).toBe(false);
    expect(refused.record).toMatchObject({ request_id: id, acceptedToken: 'tok-a', acceptedBy: 'w1', acceptedUntil: NOW + LEASE, status: 'DISPATCHED' });
    // Still refused after the first acceptance's lease has run out: only the same copy may take it back.
    expect(await refusal(accept(id, 'tok-b', 'w2', NOW + LEASE + 100))).toBeInstanceOf(AlreadyAcceptedError);
    expect((await item(id))?.[ATTR.acceptedToken]).toEqual({ S: 'tok-a' });
  });

  it('refuses the same token while its lease is held (IN_FLIGHT, not dropped), whatever time the caller gives, and takes it over once it watched the lease', async () => {
    const id = newId();
    const first = await accept(id, 'tok-a', 'w1', NOW, 1);
    // Another worker's fence: its own watch, its own clock.
    const watcher = Fence.dynamo(aws.dynamo, aws.resources.tableName);
    for (const now of [NOW, NOW + 10, NOW + LEASE + 1000]) {
      const error = await refusal(watcher.accept({ requestId: id, token: 'tok-a', workerId: 'w2', leaseSeconds: 1, now }));
      expect(error).toBeInstanceOf(AlreadyAcceptedError);
      expect(error).toMatchObject({ reason: 'IN_FLIGHT', sameCopy: true, dropCopy: false });
      // Look again after the lease (1 s), as counted from this fence's first look.
      expect((error as AlreadyAcceptedError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect((error as AlreadyAcceptedError).retryAfterSeconds).toBeLessThanOrEqual(2);
    }
    const record = await vi.waitFor(() => watcher.accept({ requestId: id, token: 'tok-a', workerId: 'w2', leaseSeconds: LEASE, now: NOW + 5 }), { timeout: 10_000, interval: 200 });
    expect(record).toMatchObject({ acceptedToken: 'tok-a', acceptedBy: 'w2', acceptedAt: NOW + 5, acceptedUntil: NOW + 5 + LEASE, leaseSeconds: LEASE });
    expect(record.leaseVersion).toBeDefined();
    expect(record.leaseVersion).not.toBe(first.leaseVersion);
  });

  it('refuses every copy, even the same token after its lease, once the request is completed', async () => {
    const id = newId();
    await accept(id, 'tok-a', 'w1');
    await fence.complete({ requestId: id, token: 'tok-a', workerId: 'w1', now: NOW + 3 });
    for (const [token, now] of [['tok-a', NOW + 1000], ['tok-b', NOW + 4]] as const) {
      const error = await refusal(accept(id, token, 'w2', now));
      expect(error).toBeInstanceOf(AlreadyCompletedError);
      expect(error).toMatchObject({ reason: 'ALREADY_COMPLETED', dropCopy: true });
      expect((error as AlreadyCompletedError).record).toMatchObject({ workStatus: 'COMPLETED', completedAt: NOW + 3, acceptedBy: 'w1' });
    }
  });

  it('refuses a DEAD_LETTERED request, with or without an acceptance on it', async () => {
    const id = newId();
    await put(id, { status: { S: RECORD_STATUS.deadLettered }, reason: { S: 'no region took it' } });
    const error = await refusal(accept(id, 'tok-a'));
    expect(error).toBeInstanceOf(DeadLetteredError);
    expect(error).toMatchObject({ reason: 'DEAD_LETTERED', dropCopy: true });
    expect((error as DeadLetteredError).record).toMatchObject({ status: 'DEAD_LETTERED', reason: 'no region took it' });
    expect((await item(id))?.[ATTR.acceptedToken]).toBeUndefined();

    const held = newId();
    await put(held, { status: { S: RECORD_STATUS.deadLettered }, acceptedToken: { S: 'tok-a' }, acceptedUntil: { N: String(NOW - 10) } });
    expect(await refusal(accept(held, 'tok-a'))).toBeInstanceOf(DeadLetteredError);
  });

  it('a release lets another token in', async () => {
    const id = newId();
    await put(id, dispatched());
    await accept(id, 'tok-a', 'w1');
    await fence.release({ requestId: id, token: 'tok-a', workerId: 'w1', now: NOW + 1 });
    const stored = await item(id);
    for (const name of [ATTR.acceptedToken, ATTR.acceptedBy, ATTR.acceptedAt, ATTR.acceptedUntil, ATTR.workStatus]) expect(stored?.[name]).toBeUndefined();
    expect(stored?.[ATTR.status]).toEqual({ S: 'DISPATCHED' });
    const record = await accept(id, 'tok-b', 'w2', NOW + 2);
    expect(record).toMatchObject({ acceptedToken: 'tok-b', acceptedBy: 'w2' });
  });

  it('ten workers with ten tokens race for one request: exactly one wins', async () => {
    const id = newId();
    await put(id, dispatched());
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => accept(id, `tok-${i}`, `w${i}`)));
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    expect(won).toHaveLength(1);
    const winner = won[0] as number;
    const losers = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(losers).toHaveLength(9);
    for (const loser of losers) {
      expect(loser.reason).toBeInstanceOf(AlreadyAcceptedError);
      expect((loser.reason as AlreadyAcceptedError).record.acceptedToken).toBe(`tok-${winner}`);
    }
    expect(await item(id)).toMatchObject({ acceptedToken: { S: `tok-${winner}` }, acceptedBy: { S: `w${winner}` } });
  });

  it('validates its input at the boundary and refuses an unreadable record with a FenceError', async () => {
    await expect(fence.accept({ requestId: 'x', token: 't', workerId: 'w', leaseSeconds: 0 })).rejects.toThrow(/leaseSeconds/);
    await expect(fence.accept({ requestId: '', token: 't', workerId: 'w', leaseSeconds: 5 })).rejects.toThrow(/requestId/);
    const id = newId();
    await put(id, { status: { S: 'SOMETHING_ELSE' } });
    const error = await refusal(accept(id, 'tok-a'));
    expect(error).toBeInstanceOf(FenceError);
    expect(error).not.toBeInstanceOf(AcceptRefusedError);
    expect(String((error as Error).message)).toMatch(/unreadable idempotency record/);
  });
});

describe.concurrent('complete, release, extend', () => {
  it('complete marks COMPLETED for the holder only', async () => {
    const id = newId();
    await accept(id, 'tok-a', 'w1');
    for (const [token, workerId] of [['tok-b', 'w1'], ['tok-a', 'w2']] as const) {
      const error = await refusal(fence.complete({ requestId: id, token, workerId, now: NOW + 1 }));
      expect(error).toBeInstanceOf(NotHolderError);
      expect((error as NotHolderError).record).toMatchObject({ acceptedToken: 'tok-a', acceptedBy: 'w1', workStatus: 'ACCEPTED' });
    }
    const record = await fence.complete({ requestId: id, token: 'tok-a', workerId: 'w1', now: NOW + 2 });
    expect(record).toMatchObject({ workStatus: 'COMPLETED', completedAt: NOW + 2, acceptedToken: 'tok-a' });
  });

  it('release by a non-holder, of a completed request, or of no record is refused and changes nothing', async () => {
    const id = newId();
    await accept(id, 'tok-a', 'w1');
    expect(await refusal(fence.release({ requestId: id, token: 'tok-a', workerId: 'w2' }))).toBeInstanceOf(NotHolderError);
    expect(await refusal(fence.release({ requestId: id, token: 'tok-b', workerId: 'w1' }))).toBeInstanceOf(NotHolderError);
    expect((await item(id))?.[ATTR.acceptedToken]).toEqual({ S: 'tok-a' });

    await fence.complete({ requestId: id, token: 'tok-a', workerId: 'w1', now: NOW + 1 });
    const completed = await refusal(fence.release({ requestId: id, token: 'tok-a', workerId: 'w1' }));
    expect(completed).toBeInstanceOf(AlreadyCompletedError);
    expect(await item(id)).toMatchObject({ workStatus: { S: 'COMPLETED' }, acceptedToken: { S: 'tok-a' } });

    const missing = newId();
    const none = await refusal(fence.complete({ requestId: missing, token: 'tok-a', workerId: 'w1' }));
    expect(none).toBeInstanceOf(NotHolderError);
    expect((none as NotHolderError).record).toBeUndefined();
    // A refused UpdateItem does not create the item.
    expect(await item(missing)).toBeUndefined();
  });

  it('extend writes a new lease version and duration: a watcher starts again and waits the new duration; a lost holder cannot extend', async () => {
    const id = newId();
    const accepted = await accept(id, 'tok-a', 'w1', NOW, 1);
    const watcher = Fence.dynamo(aws.dynamo, aws.resources.tableName);
    expect(await refusal(watcher.accept({ requestId: id, token: 'tok-a', workerId: 'w2', leaseSeconds: 1 }))).toMatchObject({ reason: 'IN_FLIGHT' });
    const record = await fence.extend({ requestId: id, token: 'tok-a', workerId: 'w1', seconds: 100, now: NOW + 20 });
    expect(record).toMatchObject({ acceptedUntil: NOW + 120, leaseSeconds: 100 });
    expect(record.leaseVersion).not.toBe(accepted.leaseVersion);
    // A new version: the watch starts again and lasts the new lease.
    const error = await refusal(watcher.accept({ requestId: id, token: 'tok-a', workerId: 'w2', leaseSeconds: 1 }));
    expect(error).toMatchObject({ reason: 'IN_FLIGHT' });
    expect((error as AlreadyAcceptedError).retryAfterSeconds).toBeGreaterThanOrEqual(100);

    await fence.extend({ requestId: id, token: 'tok-a', workerId: 'w1', seconds: 1 });
    expect(await vi.waitFor(() => watcher.accept({ requestId: id, token: 'tok-a', workerId: 'w2', leaseSeconds: LEASE }), { timeout: 10_000, interval: 200 })).toMatchObject({
      acceptedBy: 'w2',
    });
    // w1 no longer holds it: its heartbeat is refused.
    expect(await refusal(fence.extend({ requestId: id, token: 'tok-a', workerId: 'w1', seconds: 100 }))).toBeInstanceOf(NotHolderError);
  });
});

// ---- the three ways in ----------------------------------------------------------------------------

const sdkMessage = (requestId: string, token: string | undefined, body = JSON.stringify({ request_id: requestId })): Message => ({
  MessageId: randomUUID(),
  ReceiptHandle: randomUUID(),
  Body: body,
  MessageAttributes: {
    [MESSAGE_ATTRIBUTE.requestId]: { DataType: 'String', StringValue: requestId },
    ...(token ? { [MESSAGE_ATTRIBUTE.dispatchToken]: { DataType: 'String', StringValue: token } } : {}),
  },
});

const sqsRecord = (requestId: string, token: string, messageId?: string): SQSRecord => copyRecord(requestId, token, messageId ? { messageId } : {});

const lambdaContext = (awsRequestId: string = randomUUID()) => ({ functionName: 'gpu-worker', awsRequestId }) as unknown as Context;

describe.concurrent('dispatchIdentity', () => {
  it('reads request_id and dispatch_token from an SDK Message and from a Lambda SQSRecord', () => {
    expect(dispatchIdentity(sdkMessage('req-1', 'tok-1', 'not json'))).toEqual({ requestId: 'req-1', token: 'tok-1', fallbacks: [] });
    expect(dispatchIdentity(sqsRecord('req-2', 'tok-2'))).toEqual({ requestId: 'req-2', token: 'tok-2', fallbacks: [] });
  });

  it("falls back to the body's request_id and the message id, and says so", () => {
    const bare: Message = { MessageId: 'mid-1', Body: JSON.stringify({ request_id: 'req-body' }) };
    const identity = dispatchIdentity(bare);
    expect(identity).toMatchObject({ requestId: 'req-body', token: 'mid-1' });
    expect(identity.fallbacks).toHaveLength(2);
    expect(identity.fallbacks.join(' ')).toMatch(/request_id.*body.*dispatch_token.*message id/);
    const record = { ...sqsRecord('req-x', 'tok-x', 'mid-2'), messageAttributes: {} };
    expect(dispatchIdentity(record)).toMatchObject({ requestId: 'req-x', token: 'mid-2' });
  });

  it('refuses a message with no request_id anywhere', () => {
    expect(() => dispatchIdentity({ MessageId: 'm', Body: 'not json' })).toThrow(NoDispatchIdentityError);
    expect(() => dispatchIdentity({ MessageId: 'm', Body: '{"other":1}' })).toThrow(NoDispatchIdentityError);
  });
});

describe.concurrent('fenced(handler)', () => {
  it('accepts, runs the handler once with the holder context, completes', async () => {
    const id = newId();
    const handler = vi.fn(async (message: Message, context: { requestId: string; token: string; extend(seconds: number): Promise<void> }) => {
      await context.extend(500);
      return `done ${message.MessageId} ${context.requestId}`;
    });
    const run = fenced(handler, { fence, workerId: 'w1', leaseSeconds: LEASE });
    const message = sdkMessage(id, 'tok-a');
    const outcome = await run(message);
    expect(outcome).toEqual({ skipped: false, result: `done ${message.MessageId} ${id}`, requestId: id, token: 'tok-a', completed: true });
    expect(handler).toHaveBeenCalledTimes(1);
    const stored = await item(id);
    expect(stored).toMatchObject({ workStatus: { S: 'COMPLETED' }, acceptedBy: { S: 'w1' } });
    // The heartbeat reached the record: the lease ends 500 s after it was given.
    expect(Number(stored?.[ATTR.acceptedUntil]?.N) - Number(stored?.[ATTR.acceptedAt]?.N)).toBeGreaterThanOrEqual(500);
  });

  it('a handler that throws releases the request and the error propagates; the next copy is accepted', async () => {
    const id = newId();
    const failure = new Error('GPU fell over');
    const run = fenced(async () => Promise.reject(failure), { fence, workerId: 'w1', leaseSeconds: LEASE });
    await expect(run(sdkMessage(id, 'tok-a'))).rejects.toBe(failure);
    expect((await item(id))?.[ATTR.acceptedToken]).toBeUndefined();
    const again = fenced(async () => 'ok', { fence, workerId: 'w2', leaseSeconds: LEASE });
    expect(await again(sdkMessage(id, 'tok-b'))).toMatchObject({ skipped: false, result: 'ok' });
  });

  it('a copy whose acceptance fails is not passed to the handler and resolves as skipped with the record', async () => {
    const id = newId();
    const handler = vi.fn(async () => 'processed');
    const first = fenced(handler, { fence, workerId: 'w1', leaseSeconds: LEASE });
    await first(sdkMessage(id, 'tok-a'));
    const second = fenced(handler, { fence, workerId: 'w2', leaseSeconds: LEASE });
    const outcome = await second(sdkMessage(id, 'tok-b'));
    expect(outcome).toMatchObject({ skipped: true, reason: 'ALREADY_COMPLETED', requestId: id, token: 'tok-b' });
    expect(outcome.skipped && outcome.record).toMatchObject({ acceptedToken: 'tok-a', workStatus: 'COMPLETED' });
    expect(handler).toHaveBeenCalledTimes(1);
  });

  it('the same copy still leased elsewhere is neither run nor dropped: it rejects with IN_FLIGHT', async () => {
    const id = newId();
    await accept(id, 'tok-a', 'w1', Math.floor(Date.now() / 1000), 600);
    const handler = vi.fn(async () => 'processed');
    const run = fenced(handler, { fence, workerId: 'w2', leaseSeconds: LEASE });
    const error = await refusal(run(sdkMessage(id, 'tok-a')));
    expect(error).toBeInstanceOf(AlreadyAcceptedError);
    expect(error).toMatchObject({ reason: 'IN_FLIGHT', dropCopy: false });
    expect(handler).not.toHaveBeenCalled();
  });

  it('says so when a message has no dispatch attributes', async () => {
    const id = newId();
    const warnings: string[] = [];
    const run = fenced(async () => 'ok', { fence, workerId: 'w1', leaseSeconds: LEASE, onWarning: (message, detail) => warnings.push(`${detail.kind}: ${message}`) });
    const outcome = await run({ MessageId: 'mid-fallback', Body: JSON.stringify({ request_id: id }) });
    expect(outcome).toMatchObject({ skipped: false, requestId: id, token: 'mid-fallback' });
    expect(warnings).toHaveLength(2);
    expect(warnings.every((w) => w.startsWith('fallback: '))).toBe(true);
  });
});

describe.concurrent('fenceMiddleware (middy, SQS event)', () => {
  it('the handler sees only accepted records; dropped copies are reported done; processed ones are completed', async () => {
    const [a, b] = [newId(), newId()];
    await accept(b, 'tok-other', 'elsewhere', Math.floor(Date.now() / 1000), 600); // another copy holds b
    const records = [sqsRecord(a, 'tok-a'), sqsRecord(b, 'tok-b')];
    const event: SQSEvent = { Records: records };
    const seen: string[] = [];
    const dropped: string[] = [];
    const handler = middy(async (e: SQSEvent) => {
      seen.push(...e.Records.map((r) => r.messageId));
    }).use(fenceMiddleware({ fence, leaseSeconds: LEASE, onDropped: (record, reason) => dropped.push(`${record.messageId} ${reason}`) }));
    const response = (await handler(event, lambdaContext())) as unknown as SQSBatchResponse;
    expect(seen).toEqual([records[0]?.messageId]);
    expect(dropped).toEqual([`${records[1]?.messageId} ALREADY_ACCEPTED`]);
    expect(response).toEqual({ batchItemFailures: [] });
    expect(event.Records).toHaveLength(2); // the caller's event is not mutated
    expect((await item(a))?.[ATTR.workStatus]).toEqual({ S: 'COMPLETED' });
    expect((await item(b))?.[ATTR.acceptedToken]).toEqual({ S: 'tok-other' });
  });

  it('a handler that throws releases every accepted record and the error stands', async () => {
    const [a, b] = [newId(), newId()];
    const handler = middy(async () => {
      throw new Error('batch failed');
    }).use(fenceMiddleware({ fence, leaseSeconds: LEASE }));
    await expect(handler({ Records: [sqsRecord(a, 'tok-a'), sqsRecord(b, 'tok-b')] }, lambdaContext())).rejects.toThrow('batch failed');
    for (const id of [a, b]) {
      const stored = await item(id);
      expect(stored?.[ATTR.acceptedToken]).toBeUndefined();
      expect(stored?.[ATTR.workStatus]).toBeUndefined();
    }
  });

  it("releases the records the handler reports failed, completes the others, and adds the fence's own failures", async () => {
    const [a, b, c] = [newId(), newId(), newId()];
    await accept(c, 'tok-c', 'elsewhere', Math.floor(Date.now() / 1000), 600); // this very copy is leased elsewhere
    const records = [sqsRecord(a, 'tok-a'), sqsRecord(b, 'tok-b'), sqsRecord(c, 'tok-c')];
    const handler = middy(async (e: SQSEvent): Promise<SQSBatchResponse> => ({
      batchItemFailures: e.Records.filter((r) => r.messageId === records[1]?.messageId).map((r) => ({ itemIdentifier: r.messageId })),
    })).use(fenceMiddleware({ fence, leaseSeconds: LEASE }));
    const response = (await handler({ Records: records }, lambdaContext())) as unknown as SQSBatchResponse;
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual([records[1]?.messageId, records[2]?.messageId].sort());
    expect((await item(a))?.[ATTR.workStatus]).toEqual({ S: 'COMPLETED' });
    expect((await item(b))?.[ATTR.acceptedToken]).toBeUndefined();
    expect((await item(c))?.[ATTR.acceptedBy]).toEqual({ S: 'elsewhere' });
  });

  it('works with @middy/sqs-partial-batch-failure inside it (settled results, and a thrown error)', async () => {
    const [a, b] = [newId(), newId()];
    const records = [sqsRecord(a, 'tok-a'), sqsRecord(b, 'tok-b')];
    const handler = middy(async (e: SQSEvent) =>
      Promise.allSettled(e.Records.map(async (r) => (r.messageId === records[0]?.messageId ? 'ok' : Promise.reject(new Error('bad'))))),
    )
      .use(fenceMiddleware({ fence, leaseSeconds: LEASE }))
      .use(sqsPartialBatchFailure({ logger: false as never }));
    const response = (await handler({ Records: records }, lambdaContext())) as unknown as SQSBatchResponse;
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: records[1]?.messageId }] });
    expect((await item(a))?.[ATTR.workStatus]).toEqual({ S: 'COMPLETED' });
    expect((await item(b))?.[ATTR.acceptedToken]).toBeUndefined();

    const c = newId();
    const throwing = middy(async () => {
      throw new Error('everything failed');
    })
      .use(fenceMiddleware({ fence, leaseSeconds: LEASE }))
      .use(sqsPartialBatchFailure({ logger: false as never }));
    const record = sqsRecord(c, 'tok-c');
    expect(await throwing({ Records: [record] }, lambdaContext())).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
    expect((await item(c))?.[ATTR.acceptedToken]).toBeUndefined();
  });

  it('when every copy is dropped the handler is not called and the batch is reported done', async () => {
    const id = newId();
    await put(id, { status: { S: RECORD_STATUS.deadLettered } });
    const inner = vi.fn(async () => undefined);
    const handler = middy(inner).use(fenceMiddleware({ fence, leaseSeconds: LEASE }));
    expect(await handler({ Records: [sqsRecord(id, 'tok-a'), sqsRecord(id, 'tok-b')] }, lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(inner).not.toHaveBeenCalled();
  });

  it('two copies of one request in one batch: one is processed, the other dropped', async () => {
    const id = newId();
    const records = [sqsRecord(id, 'tok-a'), sqsRecord(id, 'tok-b')];
    const seen: string[] = [];
    const handler = middy(async (e: SQSEvent) => {
      seen.push(...e.Records.map((r) => r.messageId));
    }).use(fenceMiddleware({ fence, leaseSeconds: LEASE }));
    expect(await handler({ Records: records }, lambdaContext('invocation-1'))).toEqual({ batchItemFailures: [] });
    expect(seen).toHaveLength(1);
    const winner = records.find((r) => r.messageId === seen[0]);
    expect(await item(id)).toMatchObject({
      workStatus: { S: 'COMPLETED' },
      acceptedBy: { S: 'gpu-worker:invocation-1' },
      acceptedToken: { S: winner?.messageAttributes[MESSAGE_ATTRIBUTE.dispatchToken]?.stringValue },
    });
  });
});
