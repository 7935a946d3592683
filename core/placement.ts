/**
 * The messages of one execution as they move through the workflow (workflows/dispatch.ts): the
 * execution input, the claims, and the "placements" that the Forward branches carry. zod schemas,
 * because every Lambda task parses its input at the boundary. No AWS import.
 */
import { z } from 'zod';
import { PRIORITIES } from './request.js';
import { smokeRunIdSchema } from './smoke.js';
import { snapshotSchema } from './snapshot.js';

export const envelopeSchema = z.object({
  messageId: z.string().min(1),
  requestId: z.string().min(1),
  /** The original SQS body, forwarded byte for byte. */
  body: z.string(),
  priority: z.enum(PRIORITIES),
  /** A smoke request's run id (core/smoke.ts): the forward marks its regional copy with it. */
  smoke: smokeRunIdSchema.optional(),
});
export type Envelope = z.infer<typeof envelopeSchema>;

export const executionInputSchema = z.object({
  batchId: z.string(),
  executionName: z.string(),
  /** Epoch seconds, fixed by the intake so that every state agrees on "now". */
  now: z.number().int(),
  leaseUntil: z.number().int(),
  expiresAt: z.number().int(),
  messages: z.array(envelopeSchema).min(1),
});
export type ExecutionInput = z.infer<typeof executionInputSchema>;

/** One iteration of the Claim map: ids only, so that bodies are carried once. */
export const claimSchema = z.object({
  messageId: z.string(),
  claim: z.enum(['claimed', 'duplicate', 'busy', 'error']),
  reason: z.string().optional(),
  /** An earlier run's send to this region had no answer: place it there again (core/record.ts). */
  preferRegion: z.string().optional(),
  /** An earlier dead-letter send had no answer: this one goes to the DLQ again, never to a region. */
  deadLetter: z.boolean().optional(),
  /** How many claims the record has seen, this one included (DynamoDB numbers travel as strings). */
  attempt: z.coerce.number().int().positive().optional(),
});
export type Claim = z.infer<typeof claimSchema>;

/**
 * pending: not in any queue (known: every send was refused or never made);
 * dispatched: a region confirmed it; unconfirmed: a send had no answer, so it may be in `region`'s queue
 * (never offered to another region: a retry later prefers the same one).
 */
export const PLACEMENT_STATUS = ['pending', 'dispatched', 'unconfirmed'] as const;

export const placementSchema = envelopeSchema.extend({
  status: z.enum(PLACEMENT_STATUS),
  /** Dispatched: where it is; unconfirmed: where it may be. */
  region: z.string().optional(),
  /** The dispatch token of the last send (a message attribute of the copy: core/record.ts). */
  token: z.string().optional(),
  /** Every dispatch token this execution sent it with (recorded on the idempotency record). */
  tokens: z.array(z.string()).default([]),
  /** ISO time of the forward. */
  at: z.string().optional(),
  /** Regional queue's message id. */
  sqsMessageId: z.string().optional(),
  reason: z.string().optional(),
  failedOver: z.boolean(),
});
export type Placement = z.infer<typeof placementSchema>;

const context = {
  batchId: z.string(),
  executionName: z.string(),
};

export const selectInputSchema = z.object({
  ...context,
  messages: z.array(envelopeSchema),
  claims: z.array(claimSchema),
  snapshot: snapshotSchema,
});
export type SelectInput = z.infer<typeof selectInputSchema>;

export const forwardInputSchema = z
  .object({
    ...context,
    snapshot: snapshotSchema,
    /** Primary mode: send to this region. */
    region: z.string().optional(),
    /**
     * Primary mode, sent again after an attempt without an answer: every message this attempt does not
     * place is unconfirmed (it may be in the queue from before), never pending.
     */
    afterUnanswered: z.boolean().optional(),
    /** Failover mode: place in any region but these. */
    exclude: z.array(z.string()).optional(),
    placements: z.array(placementSchema),
    /** Why the placements are pending (failover mode). */
    reason: z.string().nullable().optional(),
    /** The Catch output of the forward step that failed (failover mode); Cause may be absent. */
    failure: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).passthrough().nullable().optional(),
  })
  .refine((input) => (input.region === undefined) !== (input.exclude === undefined), {
    message: 'exactly one of region (primary) or exclude (failover) must be given',
  });
export type ForwardInput = z.infer<typeof forwardInputSchema>;

/**
 * Which step of a Forward branch ended without an answer, so that none of its placements may be
 * dead-lettered or failed over (workflows/dispatch.ts): 'none' when the function answered.
 */
export const UNANSWERED = { none: 'none', forward: 'forward', failover: 'failover' } as const;

export interface ForwardOutput {
  readonly batchId: string;
  readonly executionName: string;
  /**
   * The region of the workflow's group, passed on for the states after this one (a failover, a release
   * that records where a send went): primary mode, the region sent to; failover mode, the one region
   * failed over from (null when `exclude` names several).
   */
  readonly region: string | null;
  readonly snapshot: z.infer<typeof snapshotSchema>;
  readonly placements: Placement[];
  readonly pendingCount: number;
  readonly reason: string | null;
  /** Always null here; the workflow's Pass states put a Catch output in this field. */
  readonly failure: null;
  readonly unanswered: typeof UNANSWERED.none;
}

/**
 * The reason a placement starts with. Every placement carries a reason while pending, because the
 * dead-letter step reads it; one still showing this one means the forward step itself failed.
 */
export const NOT_FORWARDED = 'not forwarded: the forward step failed';

export const pending = (message: Envelope): Placement => ({
  ...message,
  status: 'pending',
  tokens: [],
  failedOver: false,
  reason: NOT_FORWARDED,
});
