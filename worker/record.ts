/**
 * The fence's view of the idempotency record: the contract's record (core/record.ts) plus the two
 * attributes that make a lease safe under clock skew. Written by the fence only; other readers keep
 * reading acceptedToken, acceptedBy, acceptedAt, acceptedUntil and workStatus as before.
 *
 *   leaseVersion  S  fresh random value on every accept, take-over and heartbeat
 *   leaseSeconds  N  the lease's DURATION; a taker waits this long, by its own clock, watching the version
 *
 * acceptedAt and acceptedUntil stay, for people and tools to read; being one machine's clock, no
 * decision rests on them.
 */
import { z } from 'zod';
import { describeIssues, inferenceRequestSchema } from '../core/request.js';
import { requestRecordSchema } from '../core/record.js';
import { InvalidRequestIdError } from './errors.js';

export const FENCE_ATTR = { leaseVersion: 'leaseVersion', leaseSeconds: 'leaseSeconds' } as const;

export const fenceRecordSchema = requestRecordSchema.extend({
  leaseVersion: z.object({ S: z.string() }).transform((v) => v.S).optional(),
  leaseSeconds: z.object({ N: z.string() }).transform((v) => Number(v.N)).optional(),
});
export type FenceRecord = z.infer<typeof fenceRecordSchema>;

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
