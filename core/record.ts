/**
 * The idempotency record: one item per request_id in the idempotency table, written by the dispatch
 * workflow (claim, dispatch, dead-letter), by workers through the dispatch fence (accept, complete,
 * release) and by `redrive`. This module names its attributes and states so that every writer agrees.
 * No AWS import.
 *
 * Life of a record:
 *   claim            -> IN_PROGRESS  (owner = the execution's unique id, leaseUntil)
 *   forwarded        -> DISPATCHED   (region, token, tokens: every dispatch token forwarded)
 *   no region took it-> DEAD_LETTERED (reason); only `redrive` reopens it: -> REDRIVEN -> claimable once
 *   unconfirmed send -> IN_PROGRESS with leaseUntil 0 (released) and triedRegion/triedToken, so the
 *                       next run may take it over at once and prefers the same region
 * and, beside the dispatch status, a worker's acceptance (the dispatch fence):
 *   accept   -> acceptedToken, acceptedBy, acceptedAt, acceptedUntil, workStatus ACCEPTED, and the lease:
 *               leaseVersion (fresh on every accept and heartbeat) and leaseSeconds (a duration, never an end time)
 *   complete -> workStatus COMPLETED (the request is done; every other copy is dropped)
 *   release  -> acceptance removed (processing failed: the next copy or redelivery may accept)
 * A record a worker has accepted is never taken over by a later claim.
 */
import { z } from 'zod';

export const RECORD_STATUS = {
  inProgress: 'IN_PROGRESS',
  dispatched: 'DISPATCHED',
  deadLettered: 'DEAD_LETTERED',
  redriven: 'REDRIVEN',
} as const;
export type RecordStatus = (typeof RECORD_STATUS)[keyof typeof RECORD_STATUS];

export const WORK_STATUS = { accepted: 'ACCEPTED', completed: 'COMPLETED' } as const;
export type WorkStatus = (typeof WORK_STATUS)[keyof typeof WORK_STATUS];

/** Attribute names of the record (the table's key is request_id, TTL attribute expiresAt). */
export const ATTR = {
  key: 'request_id',
  status: 'status',
  /** The unique id of the execution that holds or held the claim (its execution ARN on AWS). */
  owner: 'owner',
  executionName: 'executionName',
  batchId: 'batchId',
  messageId: 'messageId',
  /** Epoch seconds. */
  claimedAt: 'claimedAt',
  leaseUntil: 'leaseUntil',
  expiresAt: 'expiresAt',
  region: 'region',
  dispatchedAt: 'dispatchedAt',
  /** The dispatch token of the copy recorded as dispatched. */
  token: 'token',
  /** String set: every dispatch token forwarded for this request_id. */
  tokens: 'tokens',
  /** Region and token of a send whose outcome is unknown (accepted by SQS or not). */
  triedRegion: 'triedRegion',
  triedToken: 'triedToken',
  reason: 'reason',
  deadLetteredAt: 'deadLetteredAt',
  redrivenAt: 'redrivenAt',
  /** Number of claims taken on this record. */
  attempts: 'attempts',
  // The dispatch fence (worker side).
  acceptedToken: 'acceptedToken',
  acceptedBy: 'acceptedBy',
  /** Epoch seconds. */
  acceptedAt: 'acceptedAt',
  /**
   * Epoch seconds, for people to read: no decision compares it with another machine's clock. Another worker
   * takes the same copy over only after it watched leaseVersion unchanged for leaseSeconds (invariant 12).
   */
  acceptedUntil: 'acceptedUntil',
  workStatus: 'workStatus',
  completedAt: 'completedAt',
} as const;

/** Message attributes every forwarded copy carries (functions/forward.ts). */
export const MESSAGE_ATTRIBUTE = {
  requestId: 'request_id',
  /** Unique per forward attempt; what the worker fence accepts. */
  dispatchToken: 'dispatch_token',
  priority: 'priority',
  batchId: 'batch_id',
  execution: 'execution',
  sourceMessageId: 'source_message_id',
  originRegion: 'origin_region',
  /** The request's model_name, so that a worker stealing work refuses a model it does not serve (core/stealing.ts). */
  model: 'model_name',
} as const;

/**
 * Keys of items that are not requests share the table; '#' cannot start a request_id
 * (core/request.ts allows letters, digits and . _ : - only), so they never collide.
 */
export const intakeDeadLetterKey = (masterMessageId: string) => `#intake-dlq#${masterMessageId}`;
export const regionHealthKey = (region: string) => `#health#${region}`;
/** A region's explicit capacity (core/capacity.ts), set by an operator or an autoscaling hook. */
export const capacityKey = (region: string) => `#capacity#${region}`;

const n = z.object({ N: z.string() }).transform((v) => Number(v.N));
const s = z.object({ S: z.string() }).transform((v) => v.S);
const ss = z.object({ SS: z.array(z.string()) }).transform((v) => v.SS);

/** A record as GetItem returns it, read into plain values; unknown attributes are ignored. */
export const requestRecordSchema = z.object({
  request_id: s,
  status: z.object({ S: z.enum(Object.values(RECORD_STATUS) as [RecordStatus, ...RecordStatus[]]) }).transform((v) => v.S).optional(),
  owner: s.optional(),
  executionName: s.optional(),
  batchId: s.optional(),
  messageId: s.optional(),
  claimedAt: n.optional(),
  leaseUntil: n.optional(),
  expiresAt: n.optional(),
  region: s.optional(),
  dispatchedAt: s.optional(),
  token: s.optional(),
  tokens: ss.optional(),
  triedRegion: s.optional(),
  triedToken: s.optional(),
  reason: s.optional(),
  deadLetteredAt: s.optional(),
  redrivenAt: s.optional(),
  attempts: n.optional(),
  acceptedToken: s.optional(),
  acceptedBy: s.optional(),
  acceptedAt: n.optional(),
  acceptedUntil: n.optional(),
  workStatus: z.object({ S: z.enum([WORK_STATUS.accepted, WORK_STATUS.completed]) }).transform((v) => v.S).optional(),
  completedAt: n.optional(),
});
export type RequestRecord = z.infer<typeof requestRecordSchema>;
