/**
 * Did a failed SQS call deliver anything? Only an answer proves it did not: a refused connection, a
 * connection never established, or a 4xx rejection (throttled, denied, invalid). A request that was
 * sent and then timed out, a connection reset after sending, or a 5xx ("the request may have
 * succeeded") leaves it unknown. The workflow fails over only on the first kind (docs/architecture.md, invariant 2).
 */
export type Delivery = 'not-delivered' | 'unknown';

/** Network errors raised before a request could reach the service. */
const NEVER_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_INVALID_URL']);

interface ErrorLike {
  readonly name?: string;
  readonly code?: string;
  readonly message?: string;
  readonly $fault?: 'client' | 'server';
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly cause?: unknown;
}

export function deliveryOf(error: unknown): Delivery {
  const err = (error ?? {}) as ErrorLike;
  const status = err.$metadata?.httpStatusCode;
  // The service answered: a 4xx is a rejection of the whole request, a 5xx may come after the work.
  if (status !== undefined && status >= 400) return status < 500 ? 'not-delivered' : 'unknown';
  if (err.$fault === 'client' && err.$metadata?.httpStatusCode !== undefined) return 'not-delivered';
  if (err.code && NEVER_SENT_CODES.has(err.code)) return 'not-delivered';
  // The SDK's connection timeout: the socket never connected, so nothing was written.
  if (err.name === 'TimeoutError' && /did not establish a connection/.test(err.message ?? '')) return 'not-delivered';
  const cause = err.cause as ErrorLike | undefined;
  if (cause && cause !== error && cause.code && NEVER_SENT_CODES.has(cause.code)) return 'not-delivered';
  return 'unknown';
}
