/**
 * A fence acceptance that fails transiently (a throttle, DynamoDB unreachable) is tried again in process
 * with the copy's visibility extended, by `fenced` and by `fenceMiddleware` (worker/transient.ts): never
 * left to the visibility timeout, which would spend one of the copy's receives. Past the retry window the
 * copy is handed back (visibility 0). Errors that are not transient are not retried.
 */
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import type { Message } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { MESSAGE_ATTRIBUTE } from '../../core/record.js';
import { AlreadyCompletedError, InvalidRequestIdError } from '../../worker/errors.js';
import { Fence } from '../../worker/fence.js';
import { fenceMiddleware } from '../../worker/middleware.js';
import type { AcceptWrite, FencePersistence } from '../../worker/persistence.js';
import type { FenceRecord } from '../../worker/record.js';
import { isTransientAcceptError } from '../../worker/transient.js';
import { fenced } from '../../worker/wrapper.js';

/** DynamoDB's answer to a malformed request (400, not a throttle). */
class ValidationException extends Error {
  override name = 'ValidationException';
  readonly $metadata: { httpStatusCode: number };
  constructor(options: { message: string; $metadata: { httpStatusCode: number } }) {
    super(options.message);
    this.$metadata = options.$metadata;
  }
}

const throttle = () => new ProvisionedThroughputExceededException({ message: 'Rate of requests exceeds the allowed throughput', $metadata: { httpStatusCode: 400 } });
const unreachable = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), { code: 'ECONNREFUSED' });

const accepted = (write: AcceptWrite): FenceRecord =>
  ({
    request_id: write.requestId,
    status: 'DISPATCHED',
    acceptedToken: write.token,
    acceptedBy: write.workerId,
    acceptedAt: write.now,
    acceptedUntil: write.acceptedUntil,
    leaseVersion: write.leaseVersion,
    leaseSeconds: write.leaseSeconds,
    workStatus: 'ACCEPTED',
  }) as unknown as FenceRecord;

/** A persistence whose accept throws `failures` in turn, then accepts. */
function persistence(failures: ReadonlyArray<() => unknown>) {
  const queue = [...failures];
  const accept = vi.fn(async (write: AcceptWrite) => {
    const next = queue.shift();
    if (next) throw next();
    return accepted(write);
  });
  const store: FencePersistence = {
    accept,
    complete: vi.fn(async (w) => ({ ...accepted({ ...w, acceptedUntil: 0, expiresAt: 0, leaseVersion: 'v', leaseSeconds: 1 }), workStatus: 'COMPLETED' }) as unknown as FenceRecord),
    release: vi.fn(async () => undefined),
    extend: vi.fn(async (w) => accepted({ ...w, expiresAt: 0 })),
    get: vi.fn(async () => undefined),
  };
  return { store, accept };
}

const message = (requestId = 'req-1'): Message => ({
  MessageId: 'm-1',
  ReceiptHandle: 'rh-1',
  Body: '{}',
  MessageAttributes: {
    [MESSAGE_ATTRIBUTE.requestId]: { DataType: 'String', StringValue: requestId },
    [MESSAGE_ATTRIBUTE.dispatchToken]: { DataType: 'String', StringValue: 'tok-1' },
  },
});

const quick = { baseMs: 5, capMs: 20, marginSeconds: 5 };

describe('fenced: a transient acceptance failure', () => {
  it('a throttled acceptance is tried again, the copy kept invisible meanwhile, and processed once: never left to time out', async () => {
    const { store, accept } = persistence([throttle, unreachable, throttle]);
    const visibility: number[] = [];
    const handler = vi.fn(async () => 'done');
    const run = fenced(handler, {
      fence: new Fence({ persistence: store }),
      workerId: 'w-1',
      leaseSeconds: 30,
      extendVisibility: async (_m, seconds) => void visibility.push(seconds),
      transientRetry: quick,
      onWarning: () => undefined,
    });
    const outcome = await run(message());
    expect(outcome).toMatchObject({ skipped: false, result: 'done', completed: true });
    expect(accept).toHaveBeenCalledTimes(4);
    expect(handler).toHaveBeenCalledTimes(1);
    // Kept over the retry window (the lease) plus the margin, once; never handed back.
    expect(visibility.length).toBeGreaterThan(0);
    expect(visibility[0]).toBeGreaterThanOrEqual(30);
    expect(visibility).not.toContain(0);
  });

  it('the same write retried: an acceptance whose answer was lost is found as this fence own', async () => {
    // The first write lands, its answer is lost (a timeout); the retry is refused by this very lease.
    let landed: FenceRecord | undefined;
    const { store, accept } = persistence([]);
    accept.mockImplementationOnce(async (write: AcceptWrite) => {
      landed = accepted(write);
      throw Object.assign(new Error('socket timed out'), { name: 'TimeoutError' });
    });
    const { AlreadyAcceptedError } = await import('../../worker/errors.js');
    accept.mockImplementationOnce(async () => {
      throw new AlreadyAcceptedError(landed as FenceRecord, true);
    });
    const handler = vi.fn(async () => 'done');
    const outcome = await fenced(handler, { fence: new Fence({ persistence: store }), workerId: 'w-1', leaseSeconds: 30, transientRetry: quick, onWarning: () => undefined })(message());
    expect(outcome).toMatchObject({ skipped: false, result: 'done' });
    expect(handler).toHaveBeenCalledTimes(1);
  });

  it('past the retry window the copy is handed back (visibility 0) and the error thrown', async () => {
    const { store, accept } = persistence(Array.from({ length: 1000 }, () => throttle));
    const visibility: number[] = [];
    const handler = vi.fn(async () => 'done');
    const run = fenced(handler, {
      fence: new Fence({ persistence: store }),
      workerId: 'w-1',
      leaseSeconds: 30,
      extendVisibility: async (_m, seconds) => void visibility.push(seconds),
      transientRetry: { ...quick, maxSeconds: 0.2 },
      onWarning: () => undefined,
    });
    await expect(run(message())).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
    expect(accept.mock.calls.length).toBeGreaterThan(2);
    expect(handler).not.toHaveBeenCalled();
    expect(visibility[0]).toBeGreaterThan(0);
    expect(visibility.at(-1)).toBe(0);
  });

  it('ends its retrying at once when its signal is aborted (a worker that stops)', async () => {
    const { store } = persistence(Array.from({ length: 1000 }, () => throttle));
    const stop = new AbortController();
    const visibility: number[] = [];
    const run = fenced(async () => 'done', {
      fence: new Fence({ persistence: store }),
      workerId: 'w-1',
      leaseSeconds: 600,
      extendVisibility: async (_m, seconds) => void visibility.push(seconds),
      transientRetry: { ...quick, signal: stop.signal },
      onWarning: () => undefined,
    });
    const started = performance.now();
    setTimeout(() => stop.abort(), 100);
    await expect(run(message())).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(visibility.at(-1)).toBe(0);
  });

  it('errors that are not transient keep their handling: not retried', async () => {
    const validation = persistence([() => new ValidationException({ message: 'bad key', $metadata: { httpStatusCode: 400 } })]);
    await expect(
      fenced(async () => 'done', { fence: new Fence({ persistence: validation.store }), workerId: 'w', leaseSeconds: 30, transientRetry: quick, onWarning: () => undefined })(message()),
    ).rejects.toBeInstanceOf(ValidationException);
    expect(validation.accept).toHaveBeenCalledTimes(1);

    const completed = persistence([() => new AlreadyCompletedError({ request_id: 'req-1', status: 'DISPATCHED', workStatus: 'COMPLETED' } as never)]);
    const outcome = await fenced(async () => 'done', { fence: new Fence({ persistence: completed.store }), workerId: 'w', leaseSeconds: 30, transientRetry: quick, onWarning: () => undefined })(message());
    expect(outcome).toMatchObject({ skipped: true, reason: 'ALREADY_COMPLETED' });
    expect(completed.accept).toHaveBeenCalledTimes(1);

    const invalid = persistence([]);
    await expect(
      fenced(async () => 'done', { fence: new Fence({ persistence: invalid.store }), workerId: 'w', leaseSeconds: 30, transientRetry: quick, onWarning: () => undefined })(message('#capacity#x')),
    ).rejects.toBeInstanceOf(InvalidRequestIdError);
    expect(invalid.accept).not.toHaveBeenCalled();
  });

  it('transientRetry: false keeps the old rule (thrown at once)', async () => {
    const { store, accept } = persistence([throttle]);
    await expect(
      fenced(async () => 'done', { fence: new Fence({ persistence: store }), workerId: 'w', leaseSeconds: 30, transientRetry: false, onWarning: () => undefined })(message()),
    ).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
    expect(accept).toHaveBeenCalledTimes(1);
  });
});

describe('fenceMiddleware: a transient acceptance failure', () => {
  const sqsRecord = (): SQSRecord =>
    ({
      messageId: 'm-1',
      receiptHandle: 'rh-1',
      body: '{}',
      attributes: { ApproximateReceiveCount: '1' },
      messageAttributes: {
        [MESSAGE_ATTRIBUTE.requestId]: { dataType: 'String', stringValue: 'req-1' },
        [MESSAGE_ATTRIBUTE.dispatchToken]: { dataType: 'String', stringValue: 'tok-1' },
      },
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-west-1:123456789012:q',
      awsRegion: 'us-west-1',
      md5OfBody: '',
    }) as unknown as SQSRecord;
  const context = { functionName: 'f', awsRequestId: 'r-1', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;

  it('a throttled acceptance is tried again in before, the record kept invisible; the handler gets it and nothing is reported failed', async () => {
    const { store, accept } = persistence([throttle, throttle]);
    const visibility: number[] = [];
    const seen: string[] = [];
    const handler = middy(async (event: SQSEvent) => {
      for (const r of event.Records) seen.push(r.messageId);
    }).use(
      fenceMiddleware({
        fence: new Fence({ persistence: store }),
        leaseSeconds: 30,
        extendVisibility: async (_r, seconds) => void visibility.push(seconds),
        transientRetry: quick,
        onWarning: () => undefined,
      }),
    );
    const response = await handler({ Records: [sqsRecord()] }, context);
    expect(accept).toHaveBeenCalledTimes(3);
    expect(seen).toEqual(['m-1']);
    expect(response).toEqual({ batchItemFailures: [] });
    expect(visibility[0]).toBeGreaterThanOrEqual(30);
    expect(visibility).not.toContain(0);
  });

  it('past the window (at most half the remaining time) the record is handed back and reported failed', async () => {
    const { store } = persistence(Array.from({ length: 1000 }, () => throttle));
    const visibility: number[] = [];
    const handler = middy(async () => undefined).use(
      fenceMiddleware({ fence: new Fence({ persistence: store }), leaseSeconds: 30, extendVisibility: async (_r, seconds) => void visibility.push(seconds), transientRetry: quick, onWarning: () => undefined }),
    );
    const short = { ...context, getRemainingTimeInMillis: () => 400 } as Context;
    const response = await handler({ Records: [sqsRecord()] }, short);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }] });
    expect(visibility.at(-1)).toBe(0);
  });
});

describe('isTransientAcceptError', () => {
  it('throttles, 5xx, timeouts and refused connections are transient; the fence own refusals and validation are not', () => {
    expect(isTransientAcceptError(throttle())).toBe(true);
    expect(isTransientAcceptError(unreachable())).toBe(true);
    expect(isTransientAcceptError(Object.assign(new Error('x'), { name: 'TimeoutError' }))).toBe(true);
    expect(isTransientAcceptError(Object.assign(new Error('x'), { name: 'InternalServerError', $metadata: { httpStatusCode: 500 } }))).toBe(true);
    expect(isTransientAcceptError(new ValidationException({ message: 'x', $metadata: { httpStatusCode: 400 } }))).toBe(false);
    expect(isTransientAcceptError(new InvalidRequestIdError('#x', 'bad'))).toBe(false);
    expect(isTransientAcceptError(new TypeError('accept: leaseSeconds'))).toBe(false);
    expect(isTransientAcceptError(new AlreadyCompletedError({ request_id: 'r' } as never))).toBe(false);
  });
});
