/**
 * The request_ids a worker may touch: exactly those the intake takes (core/request.ts), so that no copy
 * can make the fence write on an item that is not a request (`#capacity#...`, `#health#...`).
 */
import { describeIssues, inferenceRequestSchema } from '../core/request.js';
import { InvalidRequestIdError } from './errors.js';

/**
 * The intake's own rule for a request_id (core/request.ts): a worker refuses what the intake would refuse,
 * so that no copy can name an item that is not a request (`#capacity#...`, `#health#...`, `#intake-dlq#...`).
 */
export const requestIdSchema = inferenceRequestSchema.shape.request_id;

/** The intake's rule (core/request.ts): nothing is read or written for an id it would refuse. */
export function checkRequestId(requestId: string): void {
  const parsed = requestIdSchema.safeParse(requestId);
  if (!parsed.success) throw new InvalidRequestIdError(requestId, describeIssues(parsed.error));
}
