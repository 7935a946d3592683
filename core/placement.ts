/**
 * The messages of one execution as they move through the workflow (workflows/dispatch.ts): the
 * execution input, the claims, and the "placements" that the Forward branches carry. zod schemas,
 * because every Lambda task parses its input at the boundary. No AWS import.
 */
import { z } from 'zod';
import { PRIORITIES } from './request.js';
import { snapshotSchema } from './snapshot.js';

export const envelopeSchema = z.object({
  messageId: z.string().min(1),
  requestId: z.string().min(1),
  /** The original SQS body, forwarded byte for byte. */
  body: z.string(),
  priority: z.enum(PRIORITIES),
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
});
export type Claim = z.infer<typeof claimSchema>;

export const placementSchema = envelopeSchema.extend({
  status: z.enum(['pending', 'dispatched']),
  region: z.string().optional(),
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
    /** Failover mode: place in any region but these. */
    exclude: z.array(z.string()).optional(),
    placements: z.array(placementSchema),
    /** Why the placements are pending (failover mode). */
    reason: z.string().nullable().optional(),
  })
  .refine((input) => (input.region === undefined) !== (input.exclude === undefined), {
    message: 'exactly one of region (primary) or exclude (failover) must be given',
  });
export type ForwardInput = z.infer<typeof forwardInputSchema>;

export interface ForwardOutput {
  readonly batchId: string;
  readonly executionName: string;
  readonly snapshot: z.infer<typeof snapshotSchema>;
  readonly placements: Placement[];
  readonly pendingCount: number;
  readonly reason: string | null;
}

/**
 * The reason a placement starts with. Every placement carries a reason while pending, because the
 * dead-letter step reads it; one still showing this one means the forward step itself failed.
 */
export const NOT_FORWARDED = 'not forwarded: the forward step failed';

export const pending = (message: Envelope): Placement => ({
  ...message,
  status: 'pending',
  failedOver: false,
  reason: NOT_FORWARDED,
});
