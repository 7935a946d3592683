/**
 * From one SQS batch to Express executions: names traceable to the batch, leases and TTLs fixed once,
 * and a split wherever the input would pass the 256 KiB payload limit. No AWS import.
 */
import { createHash } from 'node:crypto';
import type { Envelope, ExecutionInput } from './placement.js';

/** Step Functions' limit on an execution's input and on every state's payload. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;
/**
 * Input budget per execution. The workflow carries each body once (claims and outcomes hold ids only),
 * plus per-message bookkeeping that this headroom covers.
 */
export const EXECUTION_INPUT_BUDGET_BYTES = MAX_PAYLOAD_BYTES - 16 * 1024;

export const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

/** A batch id that sorts by time and names its messages: b20251202T102300-1a2b3c4d. */
export function batchIdFor(messageIds: readonly string[], now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '');
  const digest = createHash('sha256').update(messageIds.join('\n')).digest('hex').slice(0, 8);
  return `b${stamp}-${digest}`;
}

export interface PlanOptions {
  readonly batchId: string;
  readonly now: Date;
  readonly claimLeaseSeconds: number;
  readonly idempotencyTtlSeconds: number;
  readonly budgetBytes?: number;
}

/** Does this one message fit an execution on its own? */
export function fitsAlone(message: Envelope, budgetBytes = EXECUTION_INPUT_BUDGET_BYTES): boolean {
  return jsonBytes(skeleton('x'.repeat(80), 0, [message])) <= budgetBytes;
}

function skeleton(name: string, now: number, messages: Envelope[]): ExecutionInput {
  return { batchId: name, executionName: name, now, leaseUntil: now, expiresAt: now, messages };
}

/**
 * Groups messages (in order) into as few executions as fit the budget. Every message must fit alone
 * (check with fitsAlone first).
 */
export function planExecutions(messages: readonly Envelope[], options: PlanOptions): ExecutionInput[] {
  const budget = options.budgetBytes ?? EXECUTION_INPUT_BUDGET_BYTES;
  const groups: Envelope[][] = [];
  let current: Envelope[] = [];
  for (const message of messages) {
    if (!fitsAlone(message, budget)) throw new Error(`message ${message.messageId} does not fit an execution`);
    const candidate = [...current, message];
    if (current.length && jsonBytes(skeleton('x'.repeat(80), 0, candidate)) > budget) {
      groups.push(current);
      current = [message];
    } else {
      current = candidate;
    }
  }
  if (current.length) groups.push(current);

  const now = Math.floor(options.now.getTime() / 1000);
  return groups.map((group, index) => ({
    batchId: options.batchId,
    // Execution names allow [A-Za-z0-9-_] and 80 characters.
    executionName: groups.length === 1 ? options.batchId : `${options.batchId}-${index + 1}of${groups.length}`,
    now,
    leaseUntil: now + options.claimLeaseSeconds,
    expiresAt: now + options.idempotencyTtlSeconds,
    messages: group,
  }));
}

/** Keeps the first message of each request_id; later ones in the same batch are duplicates. */
export function splitRepeats<T extends { requestId: string }>(messages: readonly T[]): { first: T[]; repeats: T[] } {
  const seen = new Set<string>();
  const first: T[] = [];
  const repeats: T[] = [];
  for (const message of messages) {
    (seen.has(message.requestId) ? repeats : first).push(message);
    seen.add(message.requestId);
  }
  return { first, repeats };
}
