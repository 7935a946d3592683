/**
 * What became of each message, and how that maps back to the master queue: dispatched, duplicate and
 * dead-lettered messages are done (deleted by the event source); retry ones are reported as batch item
 * failures and come back after the visibility timeout. No AWS import.
 */
import { z } from 'zod';

export const OUTCOMES = ['dispatched', 'duplicate', 'dead-lettered', 'retry'] as const;

export const outcomeSchema = z.object({
  messageId: z.string(),
  requestId: z.string().optional(),
  outcome: z.enum(OUTCOMES),
  region: z.string().optional(),
  failedOver: z.boolean().optional(),
  reason: z.string().optional(),
});
export type Outcome = z.infer<typeof outcomeSchema>;

/** The state machine's output (workflows/dispatch.ts, state "Report outcomes"). */
export const executionOutputSchema = z.object({
  batchId: z.string(),
  executionName: z.string(),
  skipped: z.array(outcomeSchema),
  /** One outcome list per group of the "Forward to regions" Map (core/select.ts RegionGroup). */
  forwarded: z.array(z.array(outcomeSchema)),
  /** The group of each list of `forwarded`: the region it was given to, or null for the messages dead-lettered again. */
  forwardedGroups: z.array(z.string().nullable()).optional(),
});
export type ExecutionOutput = z.infer<typeof executionOutputSchema>;

/** One outcome per message of the execution; a message the output does not mention is retried, never dropped. */
export function flattenOutcomes(messageIds: readonly string[], output: ExecutionOutput): Outcome[] {
  const byId = new Map<string, Outcome>();
  for (const outcome of [...output.skipped, ...output.forwarded.flat()]) {
    // A message reported twice would be a bug; keep the first and let the count checks in tests see it.
    if (!byId.has(outcome.messageId)) byId.set(outcome.messageId, outcome);
  }
  return messageIds.map(
    (messageId) => byId.get(messageId) ?? { messageId, outcome: 'retry', reason: 'execution reported no outcome for this message' },
  );
}

/** Every message of a failed execution is retried with the execution's error as the reason. */
export function failedExecutionOutcomes(messageIds: readonly string[], reason: string): Outcome[] {
  return messageIds.map((messageId) => ({ messageId, outcome: 'retry', reason }));
}

export const isDone = (outcome: Outcome) => outcome.outcome !== 'retry';

export interface OutcomeCounts {
  dispatched: number;
  duplicate: number;
  'dead-lettered': number;
  retry: number;
}

export function countOutcomes(outcomes: readonly Outcome[]): OutcomeCounts {
  const counts: OutcomeCounts = { dispatched: 0, duplicate: 0, 'dead-lettered': 0, retry: 0 };
  for (const { outcome } of outcomes) counts[outcome]++;
  return counts;
}

/** The message of the intake's summary line (its counts per batch), for people and log queries. */
export const BATCH_DONE_MESSAGE = 'batch done';
