/**
 * `fenced(handler, options)`: a message handler behind the fence. accept -> run -> complete; on an
 * error, release and rethrow. A copy whose acceptance is refused is not passed to the handler.
 *
 * The wrapped function
 *   resolves { skipped: false, result }          -> processed: delete the message
 *   resolves { skipped: true, reason, record }   -> dropped (another copy holds or finished it, or it is
 *                                                   dead-lettered): delete the message, unprocessed
 *   rejects                                      -> leave the message; the visibility timeout brings it
 *                                                   back. The handler's own error (after release), an
 *                                                   AlreadyAcceptedError with reason IN_FLIGHT (this very
 *                                                   copy is held and its lease runs; `retryAfterSeconds`
 *                                                   says when to look again), or a DynamoDB error.
 */
import type { RequestRecord } from '../core/record.js';
import { AcceptRefusedError, type DropReason } from './errors.js';
import type { Fence } from './fence.js';
import { dispatchIdentity, type FenceableMessage } from './identity.js';

export interface FencedOptions {
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
}

/** fallback: a message without the dispatch attributes; the others: a fence write that failed after the work. */
export type FenceWarningKind = 'fallback' | 'release-failed' | 'complete-failed' | 'not-accepted';
export type FenceWarningHandler = (message: string, detail: Readonly<Record<string, unknown>> & { readonly kind: FenceWarningKind }) => void;

/** What the handler gets beside the message. */
export interface FenceContext {
  readonly requestId: string;
  readonly token: string;
  readonly workerId: string;
  /** The accepted record. */
  readonly record: RequestRecord;
  /** Heartbeat: the acceptance now holds `seconds` from now (extend the message's visibility too). */
  extend(seconds: number): Promise<void>;
}

export type FencedOutcome<R> =
  | { readonly skipped: false; readonly result: R; readonly requestId: string; readonly token: string; readonly completed: boolean }
  | { readonly skipped: true; readonly reason: DropReason; readonly record: RequestRecord; readonly requestId: string; readonly token: string };

export type FencedHandler<M extends FenceableMessage, R> = (message: M, fence: FenceContext) => Promise<R>;

export const defaultWarning: FenceWarningHandler = (message, detail) => console.warn(`dispatch fence: ${message}`, detail);

const describe = (error: unknown) => `${(error as Error)?.name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`;

export function fenced<M extends FenceableMessage, R>(handler: FencedHandler<M, R>, options: FencedOptions): (message: M) => Promise<FencedOutcome<R>> {
  const { fence, workerId, leaseSeconds } = options;
  const warn = options.onWarning ?? defaultWarning;
  return async (message) => {
    const { requestId, token, fallbacks } = dispatchIdentity(message);
    for (const fallback of fallbacks) warn(fallback, { kind: 'fallback', requestId, token });
    const holder = { requestId, token, workerId };

    let record: RequestRecord;
    try {
      record = await fence.accept({ ...holder, leaseSeconds });
    } catch (error) {
      if (error instanceof AcceptRefusedError && error.dropCopy) {
        return { skipped: true, reason: error.reason as DropReason, record: error.record, requestId, token };
      }
      throw error;
    }

    let result: R;
    try {
      result = await handler(message, {
        ...holder,
        record,
        extend: async (seconds) => {
          await fence.extend({ ...holder, seconds });
        },
      });
    } catch (error) {
      await fence.release(holder).catch((releaseError: unknown) =>
        warn('release after a failed handler failed: the acceptance stands until its lease ends', {
          kind: 'release-failed',
          ...holder,
          error: describe(releaseError),
        }),
      );
      throw error;
    }

    let completed = true;
    await fence.complete(holder).catch((completeError: unknown) => {
      completed = false;
      warn('complete failed after the handler succeeded: the result stands, the record is left as it was', {
        kind: 'complete-failed',
        ...holder,
        error: describe(completeError),
      });
    });
    return { skipped: false, result, requestId, token, completed };
  };
}
