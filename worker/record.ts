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
import { requestRecordSchema } from '../core/record.js';

export const FENCE_ATTR = { leaseVersion: 'leaseVersion', leaseSeconds: 'leaseSeconds' } as const;

export const fenceRecordSchema = requestRecordSchema.extend({
  leaseVersion: z.object({ S: z.string() }).transform((v) => v.S).optional(),
  leaseSeconds: z.object({ N: z.string() }).transform((v) => Number(v.N)).optional(),
});
export type FenceRecord = z.infer<typeof fenceRecordSchema>;
