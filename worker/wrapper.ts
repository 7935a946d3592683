/**
 * `fenced(handler, options)`: a message handler behind the fence. accept -> run (the lease extended every
 * third of it while the handler runs, the message's visibility too with `extendVisibility`) -> complete;
 * on an error, release and rethrow. A copy whose acceptance is refused is not passed to the handler.
 *
 * The wrapped function
 *   resolves { skipped: false, result }          -> processed: delete the message
 *   resolves { skipped: true, reason, record }   -> dropped (another copy holds or finished it, or it is
 *                                                   dead-lettered): delete the message, unprocessed
 *   rejects                                      -> leave the message; the visibility timeout brings it
 *                                                   back. The handler's own error (after release), an
 *                                                   AlreadyAcceptedError with reason IN_FLIGHT (this very
 *                                                   copy is held; `retryAfterSeconds` says when to look
 *                                                   again, through the same Fence), a LeaseLostError (the
 *                                                   lease was lost while the handler ran: another worker
 *                                                   holds this copy now; its completion was refused), an
 *                                                   InvalidRequestIdError, or a DynamoDB error
 *                                                   (a transient one only after it was retried
 *                                                   for `transientRetry.maxSeconds`, the copy kept
 *                                                   meanwhile, then handed back: transient.ts).
 *                                                   A smoke copy (core/smoke.ts) rejects with a
 *                                                   SmokeCopyError before anything is written: made
 *                                                   visible again at once (with `extendVisibility`),
 *                                                   left to the smoke command that sent it.
 */
import type { RequestRecord } from '../core/record.js';
import { AcceptRefusedError, LeaseLostError, NotHolderError, type DropReason } from './errors.js';
import type { Fence, HeldLease } from './fence.js';
import { Heartbeat } from './heartbeat.js';
import { dispatchIdentity, type FenceableMessage } from './identity.js';
import { handBackSmokeCopy, SmokeCopyError, smokeRunOfCopy } from './smoke.js';
import { retryTransient, type TransientRetryOptions } from './transient.js';
import type { ExtendVisibility } from './visibility.js';

export interface FencedOptions<M extends FenceableMessage = FenceableMessage> {
  readonly fence: Fence;
  /** Unique per worker (process, thread, or Lambda invocation). */
  readonly workerId: string;
  /** The queue's visibility timeout (or what the worker sets it to), whole seconds. */
  readonly leaseSeconds: number;
  /**
   * Told when a message lacks the dispatch attributes (fallback identity), or when complete / release
   * fails after the handler ran (the outcome stands; the record is left as it was). Default: console.warn.
   */
  readonly onWarning?: FenceWarningHandler;
  /**
   * Extends the message's visibility with each heartbeat (`sqsVisibility(client, queueUrl)`, visibility.ts).
   * Without it only the lease is extended: keep the queue's visibility timeout above the longest job, or
   * SQS hands the copy to another worker, which then waits (IN_FLIGHT) while the lease is kept.
   */
  readonly extendVisibility?: ExtendVisibility<M>;
  /** Between heartbeats, ms. Default: a third of the lease. */
  readonly heartbeatMs?: number;
  /**
   * An acceptance that fails transiently (a throttle, DynamoDB unreachable, a timeout: transient.ts) is
   * tried again in process with capped exponential backoff and jitter, for `maxSeconds` (default: the
   * lease), the copy kept invisible meanwhile with `extendVisibility`; past that it is handed back
   * (visibility 0) and the error thrown. `false`: thrown at once, as before (the copy's visibility timeout
   * then brings it back, at the cost of one of its receives).
   */
  readonly transientRetry?: TransientRetryOptions | false;
}

/** fallback: a message without the dispatch attributes; the others: a fence write that failed after the work. */
export type FenceWarningKind = 'fallback' | 'release-failed' | 'complete-failed' | 'not-accepted' | 'heartbeat-failed';
export type FenceWarningHandler = (message: string, detail: Readonly<Record<string, unknown>> & { readonly kind: FenceWarningKind }) => void;

/** What the handler gets beside the message. */
export interface FenceContext {
  readonly requestId: string;
  readonly token: string;
  readonly workerId: string;
  /** The accepted record. */
  readonly record: RequestRecord;
  /**
   * Aborted (reason: a LeaseLostError) when the lease is lost while the handler runs: stop, another worker
   * may hold this copy now. Its result is then not completed.
   */
  readonly signal: AbortSignal;
  /** A heartbeat now: the acceptance holds `seconds` from now, and later heartbeats keep that length. */
  extend(seconds: number): Promise<void>;
  /**
   * Stops the heartbeat without releasing: the lease then runs out and, after a watcher has seen it
   * unchanged for its duration, the copy is taken over. What a worker that dies leaves behind.
   */
  stopHeartbeat(): void;
}

export type FencedOutcome<R> =
  | { readonly skipped: false; readonly result: R; readonly requestId: string; readonly token: string; readonly completed: boolean }
  | { readonly skipped: true; readonly reason: DropReason; readonly record: RequestRecord; readonly requestId: string; readonly token: string };

export type FencedHandler<M extends FenceableMessage, R> = (message: M, fence: FenceContext) => Promise<R>;

export const defaultWarning: FenceWarningHandler = (message, detail) => console.warn(`dispatch fence: ${message}`, detail);

const describe = (error: unknown) => `${(error as Error)?.name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`;

export function fenced<M extends FenceableMessage, R>(handler: FencedHandler<M, R>, options: FencedOptions<M>): (message: M) => Promise<FencedOutcome<R>> {
  const { fence, workerId, leaseSeconds } = options;
  const warn = options.onWarning ?? defaultWarning;
  return async (message) => {
    const smokeRun = smokeRunOfCopy(message);
    if (smokeRun) {
      // Not this worker's: no acceptance, no processing; visible again for the smoke command at once.
      const { handedBack, error } = await handBackSmokeCopy(message, options.extendVisibility);
      throw new SmokeCopyError(smokeRun, handedBack, error);
    }
    const { requestId, token, fallbacks } = dispatchIdentity(message);
    for (const fallback of fallbacks) warn(fallback, { kind: 'fallback', requestId, token });
    const holder = { requestId, token, workerId };

    let lease: HeldLease;
    try {
      const accept = () => fence.acceptLease({ ...holder, leaseSeconds });
      const retry = options.transientRetry;
      const visibility = options.extendVisibility;
      lease =
        retry === false
          ? await accept()
          : await retryTransient(accept, {
              ...retry,
              defaultMaxSeconds: leaseSeconds,
              ...(visibility
                ? {
                    keepVisible: (seconds: number) => visibility(message, seconds),
                    // Past the bound: handed back at once rather than after the extended visibility.
                    onGiveUp: async (error: unknown) => {
                      warn('acceptance failed past its retry window: the copy is handed back', { kind: 'not-accepted', ...holder, error: describe(error) });
                      await visibility(message, 0);
                    },
                  }
                : {}),
            });
    } catch (error) {
      if (error instanceof AcceptRefusedError && error.dropCopy) {
        return { skipped: true, reason: error.reason as DropReason, record: error.record, requestId, token };
      }
      throw error;
    }
    const extendVisibility = options.extendVisibility;
    const heartbeat = new Heartbeat(fence, lease, {
      ...(options.heartbeatMs ? { everyMs: options.heartbeatMs } : {}),
      ...(extendVisibility ? { onBeat: (seconds: number) => extendVisibility(message, seconds) } : {}),
      onError: (error) => warn('heartbeat failed: tried again at the next beat', { kind: 'heartbeat-failed', ...holder, error: describe(error) }),
    });

    let result: R;
    try {
      result = await handler(message, {
        ...holder,
        record: lease.record,
        signal: heartbeat.signal,
        extend: (seconds) => heartbeat.beat(seconds),
        stopHeartbeat: () => void heartbeat.stop(),
      });
    } catch (error) {
      await heartbeat.stop();
      await fence.release({ ...holder, versions: heartbeat.heldVersions }).catch((releaseError: unknown) =>
        warn('release after a failed handler failed: the acceptance stands until its lease ends', {
          kind: 'release-failed',
          ...holder,
          error: describe(releaseError),
        }),
      );
      throw error;
    }
    await heartbeat.stop();
    // Lost to another holder: its completion is refused, and the copy is left to that holder.
    const lost = heartbeat.lost;
    if (lost?.reason === 'NOT_HOLDER') throw lost;

    let completed = true;
    try {
      // On this holder's own lease only: a lease that ran out is completed only if nobody took it over since.
      await fence.complete({ ...holder, versions: heartbeat.heldVersions });
    } catch (completeError) {
      if (completeError instanceof NotHolderError) throw new LeaseLostError(requestId, 'NOT_HOLDER', completeError.record);
      completed = false;
      warn('complete failed after the handler succeeded: the result stands, the record is left as it was', {
        kind: 'complete-failed',
        ...holder,
        error: describe(completeError),
      });
    }
    return { skipped: false, result, requestId, token, completed };
  };
}
