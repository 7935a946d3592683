/**
 * `fenceMiddleware(options)`: the fence for a Lambda worker consuming an SQS queue (middy). The event
 * source mapping must report batch item failures (FunctionResponseTypes: ReportBatchItemFailures):
 * the middleware answers with { batchItemFailures }.
 *
 *   before:  accept each record, and extend each acceptance's lease every third of it while the handler
 *            runs (the message's visibility too, with `extendVisibility`). A record whose acceptance is refused because another copy holds or
 *            finished the request, or because it is dead-lettered, is removed from the event the handler
 *            sees and reported as done (SQS deletes that copy). A record that cannot be accepted now
 *            (this very copy still leased by a worker, no request_id, DynamoDB unreachable) is removed
 *            too and reported as a batch item failure (it comes back). A transient failure (a throttle,
 *            DynamoDB unreachable, a timeout) is first tried again in process, the record kept
 *            invisible meanwhile (`transientRetry`, transient.ts), so that it costs no receive. When nothing is left, the
 *            handler is not called. A smoke copy (core/smoke.ts) is neither accepted nor handed to
 *            the handler: made visible again at once (with `extendVisibility`) and reported as a
 *            batch item failure, so that SQS does not delete it; the smoke command that sent it does.
 *   after:   the heartbeats stop; the handler's failures (its { batchItemFailures }, or one settled
 *            promise per record as for @middy/sqs-partial-batch-failure) are released, every other
 *            accepted record is completed; a record whose lease was lost meanwhile is neither (its
 *            completion would be refused: another worker holds the copy) and is reported as failed, so
 *            that this invocation does not delete it. The response is { batchItemFailures } with the
 *            handler's failures and the fence's.
 *   onError: the handler threw: every accepted record is released and the error stands (SQS retries the
 *            batch; copies dropped in `before` come back and are dropped again). When an inner
 *            middleware turned the error into a response (sqs-partial-batch-failure does), that
 *            response is settled as in `after`.
 *
 * With @middy/sqs-partial-batch-failure, use the fence FIRST so that it sees that middleware's answer:
 *   middy(handler).use(fenceMiddleware({ fence, leaseSeconds })).use(sqsPartialBatchFailure())
 * The handler reads a record's lease signal with `leaseSignal(record)`: aborted when that lease is lost.
 * A Lambda that times out runs neither after nor onError; its environment is restarted, so its
 * heartbeats end with it and the leases lapse.
 */
import type { MiddlewareObj, Request } from '@middy/core';
import type { Context, SQSBatchItemFailure, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { RequestRecord } from '../core/record.js';
import { AcceptRefusedError, NotHolderError, type DropReason } from './errors.js';
import type { Fence } from './fence.js';
import { Heartbeat } from './heartbeat.js';
import { dispatchIdentity } from './identity.js';
import { handBackSmokeCopy, smokeRunOfCopy } from './smoke.js';
import { retryTransient, type TransientRetryOptions } from './transient.js';
import type { ExtendVisibility } from './visibility.js';
import { defaultWarning, type FenceWarningHandler } from './wrapper.js';

export interface FenceMiddlewareOptions {
  readonly fence: Fence;
  /** The queue's visibility timeout, whole seconds. */
  readonly leaseSeconds: number;
  /** Default: `<function name>:<awsRequestId>`, unique per invocation. */
  readonly workerId?: string | ((context: Context) => string);
  readonly onWarning?: FenceWarningHandler;
  /** A copy dropped by the fence (not passed to the handler, reported as done). */
  readonly onDropped?: (record: SQSRecord, reason: DropReason, existing: RequestRecord) => void;
  /** Extends each held message's visibility with its heartbeat (`sqsVisibility(client)`: the queue is the record's eventSourceARN). */
  readonly extendVisibility?: ExtendVisibility<SQSRecord>;
  /** Between heartbeats, ms. Default: a third of the lease. */
  readonly heartbeatMs?: number;
  /**
   * An acceptance that fails transiently (a throttle, DynamoDB unreachable, a timeout: transient.ts) is
   * tried again in `before` with capped exponential backoff and jitter, for `maxSeconds` (default: the
   * lease) but never past half the invocation's remaining time, the record kept invisible meanwhile with
   * `extendVisibility`; past that it is handed back (visibility 0) and reported as a batch item failure.
   * `false`: reported as failed at once, as before (one of the copy's receives spent).
   */
  readonly transientRetry?: TransientRetryOptions | false;
}

/** The lease signals of the records the handler holds: aborted (reason: a LeaseLostError) when that lease is lost. */
const signals = new WeakMap<SQSRecord, AbortSignal>();

/** The lease signal of a record handed to the handler by fenceMiddleware (undefined for any other record). */
export function leaseSignal(record: SQSRecord): AbortSignal | undefined {
  return signals.get(record);
}

/** What the handler may return: a batch response, one settled promise per record, or nothing (all done). */
export type FencedBatchResult = SQSBatchResponse | ReadonlyArray<PromiseSettledResult<unknown>> | void | undefined | null;

interface Held {
  readonly record: SQSRecord;
  readonly requestId: string;
  readonly token: string;
  readonly heartbeat: Heartbeat;
}

interface State {
  readonly workerId: string;
  readonly held: readonly Held[];
  /** Message ids the fence reports as failed (to come back). */
  readonly failed: readonly string[];
}

const describe = (error: unknown) => `${(error as Error)?.name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`;

/** Message ids of the records the handler's result says failed. */
function handlerFailures(response: unknown, records: readonly SQSRecord[]): string[] {
  if (Array.isArray(response)) {
    return records.filter((_, i) => (response[i] as PromiseSettledResult<unknown> | undefined)?.status === 'rejected').map((r) => r.messageId);
  }
  const failures = (response as Partial<SQSBatchResponse> | null | undefined)?.batchItemFailures;
  return Array.isArray(failures) ? failures.map((f) => f.itemIdentifier) : [];
}

const asResponse = (ids: Iterable<string>): SQSBatchResponse => ({
  batchItemFailures: [...new Set(ids)].map((itemIdentifier): SQSBatchItemFailure => ({ itemIdentifier })),
});

/** The retry window, seconds: never past half the invocation's remaining time (the handler needs the rest). */
function retryWindowSeconds(seconds: number, context: Context | undefined): number {
  const remainingMs = typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : undefined;
  return remainingMs === undefined || !Number.isFinite(remainingMs) ? seconds : Math.max(0, Math.min(seconds, remainingMs / 2000));
}

export function fenceMiddleware(options: FenceMiddlewareOptions): MiddlewareObj<SQSEvent, FencedBatchResult, Error, Context> {
  const { fence, leaseSeconds } = options;
  const warn = options.onWarning ?? defaultWarning;
  const states = new WeakMap<object, State>();
  const workerIdFor = (context: Context) =>
    typeof options.workerId === 'function'
      ? options.workerId(context)
      : (options.workerId ?? `${context?.functionName ?? 'lambda'}:${context?.awsRequestId ?? `${process.pid}-${Date.now()}`}`);

  /** Completes what the handler did, releases what it failed; the batch response. */
  const settle = async (request: Request<SQSEvent, FencedBatchResult, Error, Context>, state: State) => {
    await stopAll(state);
    const failed = handlerFailures(request.response, request.event.Records);
    const failedSet = new Set(failed);
    const lost: string[] = [];
    await Promise.all(
      state.held.map(async ({ record, requestId, token, heartbeat }) => {
        const holder = { requestId, token, workerId: state.workerId, versions: heartbeat.heldVersions };
        if (failedSet.has(record.messageId)) {
          await fence.release(holder).catch((error: unknown) => warn('release failed: the acceptance stands until its lease ends', { kind: 'release-failed', ...holder, error: describe(error) }));
          return;
        }
        if (heartbeat.lost?.reason === 'NOT_HOLDER') {
          lost.push(record.messageId);
          return;
        }
        await fence.complete(holder).catch((error: unknown) => {
          // Taken over by a watcher after the lease ran out: that worker holds the copy now.
          if (error instanceof NotHolderError) lost.push(record.messageId);
          warn('complete failed after the handler succeeded', { kind: 'complete-failed', ...holder, error: describe(error) });
        });
      }),
    );
    request.response = asResponse([...failed, ...state.failed, ...lost]);
  };

  const stopAll = (state: State) => Promise.all(state.held.map((h) => h.heartbeat.stop()));

  return {
    name: 'dispatchFence',
    async before(request) {
      const workerId = workerIdFor(request.context);
      const held: Held[] = [];
      const failed: string[] = [];
      await Promise.all(
        request.event.Records.map(async (record) => {
          const smokeRun = smokeRunOfCopy(record);
          if (smokeRun) {
            // Left to the smoke command: not accepted, not processed, not deleted (a batch item failure).
            const { handedBack, error } = await handBackSmokeCopy(record, options.extendVisibility);
            if (!handedBack && error) warn('smoke copy not made visible again: it comes back after its visibility timeout', { kind: 'not-accepted', messageId: record.messageId, smokeRun, error: describe(error) });
            failed.push(record.messageId);
            return;
          }
          let identity;
          try {
            identity = dispatchIdentity(record);
          } catch (error) {
            warn('record without a valid request_id: reported as failed', { kind: 'not-accepted', messageId: record.messageId, error: describe(error) });
            failed.push(record.messageId);
            return;
          }
          const { requestId, token, fallbacks } = identity;
          for (const fallback of fallbacks) warn(fallback, { kind: 'fallback', messageId: record.messageId, requestId, token });
          try {
            const extendVisibility = options.extendVisibility;
            const accept = () => fence.acceptLease({ requestId, token, workerId, leaseSeconds });
            const retry = options.transientRetry;
            const lease =
              retry === false
                ? await accept()
                : await retryTransient(accept, {
                    ...retry,
                    defaultMaxSeconds: leaseSeconds,
                    maxSeconds: retryWindowSeconds(retry?.maxSeconds ?? leaseSeconds, request.context),
                    ...(extendVisibility
                      ? {
                          keepVisible: (seconds: number) => extendVisibility(record, seconds),
                          // Past the bound: handed back at once rather than after the extended visibility.
                          onGiveUp: () => extendVisibility(record, 0),
                        }
                      : {}),
                  });
            const heartbeat = new Heartbeat(fence, lease, {
              ...(options.heartbeatMs ? { everyMs: options.heartbeatMs } : {}),
              ...(extendVisibility ? { onBeat: (seconds: number) => extendVisibility(record, seconds) } : {}),
              onError: (error) => warn('heartbeat failed: tried again at the next beat', { kind: 'heartbeat-failed', requestId, token, error: describe(error) }),
            });
            signals.set(record, heartbeat.signal);
            held.push({ record, requestId, token, heartbeat });
          } catch (error) {
            if (error instanceof AcceptRefusedError && error.dropCopy) {
              try {
                options.onDropped?.(record, error.reason as DropReason, error.record);
              } catch (callbackError) {
                warn('onDropped threw', { kind: 'not-accepted', requestId, token, error: describe(callbackError) });
              }
              return;
            }
            if (!(error instanceof AcceptRefusedError)) warn('acceptance failed: reported as failed', { kind: 'not-accepted', requestId, token, error: describe(error) });
            failed.push(record.messageId);
          }
        }),
      );
      // In the event's order, as the handler would have seen them.
      const order = new Map(request.event.Records.map((r, i) => [r.messageId, i]));
      held.sort((a, b) => (order.get(a.record.messageId) ?? 0) - (order.get(b.record.messageId) ?? 0));
      const state: State = { workerId, held, failed };
      states.set(request, state);
      if (!held.length) return asResponse(failed);
      // A new event object: the caller's event is not mutated.
      request.event = { ...request.event, Records: held.map((h) => h.record) };
      return undefined;
    },
    async after(request) {
      const state = states.get(request);
      if (state) await settle(request, state);
    },
    async onError(request) {
      const state = states.get(request);
      if (!state) return;
      if (request.response !== undefined && request.response !== null) {
        await settle(request, state);
        return;
      }
      await stopAll(state);
      await Promise.all(
        state.held.map(({ requestId, token, heartbeat }) =>
          fence
            .release({ requestId, token, workerId: state.workerId, versions: heartbeat.heldVersions })
            .catch((error: unknown) => warn('release after a failed handler failed', { kind: 'release-failed', requestId, token, error: describe(error) })),
        ),
      );
    },
  };
}
