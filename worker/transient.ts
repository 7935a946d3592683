/**
 * An acceptance that fails with a transient error (a throttle, DynamoDB unreachable, a timeout, a 5xx)
 * must not cost the copy one of its receives: left to its visibility timeout, each such failure burns one
 * of the queue's maxReceiveCount (3) receives, and with a crash on top the copy reaches the regional DLQ
 * unprocessed. So `fenced` and `fenceMiddleware` keep the copy (its visibility extended over the retry
 * window) and try the acceptance again in process, with capped exponential backoff and full jitter, for a
 * bounded time (default: the lease); only past that bound is the copy handed back (visibility 0).
 *
 * Retrying is safe: it goes through the same Fence, which knows the versions it wrote whose answer was
 * lost (fence.ts `unanswered`), so an acceptance applied before its answer was lost is found as its own.
 * Errors that are not transient (a refusal, an invalid request_id, validation) are never retried here.
 */
import { FenceError } from './errors.js';

/** How a transient acceptance failure is retried. */
export interface TransientRetryOptions {
  /** Retry for at most this long, seconds, counted from the first failure. Default: the lease. 0: no retry. */
  readonly maxSeconds?: number;
  /** The first backoff's ceiling, ms. Default 100. */
  readonly baseMs?: number;
  /** No backoff above this, ms. Default 5000. */
  readonly capMs?: number;
  /** Visibility beyond the retry window while retrying, whole seconds. Default 30. */
  readonly marginSeconds?: number;
  /** Ends the retrying at once (a worker that stops); the last error is thrown. */
  readonly signal?: AbortSignal;
  /** [0, 1): the jitter's draw. Default Math.random. */
  readonly random?: () => number;
  /** Milliseconds that never go back. Default performance.now(). */
  readonly monotonic?: () => number;
}

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'TransactionInProgressException',
]);
const UNAVAILABLE = new Set(['InternalServerError', 'InternalFailure', 'InternalError', 'ServiceUnavailable', 'ServiceUnavailableException', 'TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'ERR_HTTP2_STREAM_ERROR']);

/**
 * True for an error worth trying the acceptance again for: a throttle, a server error (5xx), a timeout, a
 * connection that failed. False for everything the fence itself decided (a refusal, an invalid or missing
 * request_id: FenceError), for an input error (TypeError, RangeError), and for any other service answer
 * (validation, access denied, a missing table).
 */
export function isTransientAcceptError(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  if (error instanceof FenceError || error instanceof TypeError || error instanceof RangeError) return false;
  const e = error as { name?: unknown; code?: unknown; $retryable?: unknown; $metadata?: { httpStatusCode?: unknown }; cause?: unknown };
  const name = typeof e.name === 'string' ? e.name : '';
  const code = typeof e.code === 'string' ? e.code : '';
  if (THROTTLING.has(name) || UNAVAILABLE.has(name) || NETWORK.has(code) || code.startsWith('UND_ERR_')) return true;
  if (e.$retryable && typeof e.$retryable === 'object') return true;
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number' && (status >= 500 || status === 429)) return true;
  return e.cause !== undefined && e.cause !== error ? isTransientAcceptError(e.cause) : false;
}

/** Resolves after `ms`, or at once when `signal` is aborted. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Runs `attempt` until it succeeds, throws an error that is not transient (thrown at once), or the bound
 * has passed since the first transient failure (the last error is thrown; `onGiveUp` runs first: hand the
 * copy back). While retrying, `keepVisible(seconds)` is asked to keep the copy invisible for the rest of
 * the window plus the margin (its errors are ignored: the copy may then be received elsewhere, and the
 * fence still decides).
 */
export async function retryTransient<T>(
  attempt: () => Promise<T>,
  options: TransientRetryOptions & {
    readonly defaultMaxSeconds: number;
    readonly keepVisible?: (seconds: number) => Promise<void>;
    readonly onGiveUp?: (error: unknown) => Promise<void>;
    readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  },
): Promise<T> {
  const monotonic = options.monotonic ?? (() => performance.now());
  const random = options.random ?? Math.random;
  const maxMs = Math.max(0, (options.maxSeconds ?? options.defaultMaxSeconds) * 1000);
  const baseMs = Math.max(1, options.baseMs ?? 100);
  const capMs = Math.max(baseMs, options.capMs ?? 5000);
  const marginSeconds = Math.max(1, Math.ceil(options.marginSeconds ?? 30));
  let deadline: number | undefined;
  let visibleUntil = Number.NEGATIVE_INFINITY;
  for (let failures = 0; ; ) {
    try {
      return await attempt();
    } catch (error) {
      if (!isTransientAcceptError(error)) throw error;
      const now = monotonic();
      deadline ??= now + maxMs;
      const left = deadline - now;
      if (left <= 0 || options.signal?.aborted) {
        await options.onGiveUp?.(error).catch(() => undefined);
        throw error;
      }
      failures += 1;
      const delayMs = Math.min(left, random() * Math.min(capMs, baseMs * 2 ** Math.min(failures - 1, 30)));
      options.onRetry?.(error, failures, delayMs);
      // Keep the copy: its visibility covers the rest of the window plus the margin (extended again when short).
      if (options.keepVisible && visibleUntil - now < delayMs + (marginSeconds * 1000) / 2) {
        const seconds = Math.ceil(left / 1000) + marginSeconds;
        try {
          await options.keepVisible(seconds);
          visibleUntil = now + seconds * 1000;
        } catch {
          // Not extended: the copy may come back elsewhere meanwhile; the fence still decides.
        }
      }
      await pause(delayMs, options.signal);
    }
  }
}
