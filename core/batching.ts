/**
 * From one SQS batch to Express executions: names traceable to the batch, leases and TTLs fixed once,
 * and a split wherever the input would pass the 256 KiB payload limit. No AWS import.
 */
import { createHash } from 'node:crypto';
import type { Envelope, ExecutionInput } from './placement.js';

/** Step Functions' limit on an execution's input and on every state's payload. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;
/** Kept below the payload limit for what the states add to each message (claims, regions, outcomes). */
export const BOOKKEEPING_HEADROOM_BYTES = 16 * 1024;
/**
 * Input budget per execution. The workflow carries each body once (claims and outcomes hold ids only),
 * plus per-message bookkeeping that the headroom covers.
 */
export const EXECUTION_INPUT_BUDGET_BYTES = MAX_PAYLOAD_BYTES - BOOKKEEPING_HEADROOM_BYTES;

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
  /**
   * The record lifetime (core/config.ts holds it to the longest queue retention + the redrive window):
   * every claim sets expiresAt = now + this, so the record outlives every copy of this delivery.
   */
  readonly idempotencyTtlSeconds: number;
  readonly budgetBytes?: number;
}

/** Bytes of an execution input holding only this message, with the longest names and times. */
export function aloneBytes(message: Envelope): number {
  return jsonBytes(skeleton([message]));
}

/** Does this one message fit an execution on its own? */
export function fitsAlone(message: Envelope, budgetBytes = EXECUTION_INPUT_BUDGET_BYTES): boolean {
  return aloneBytes(message) <= budgetBytes;
}

const kib = (bytes: number) => (bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} bytes`);

/**
 * Why a message cannot go in an execution, naming what was measured and the budget applied; undefined
 * when it fits. Next to the limit so that the wording follows it.
 */
export function tooLargeReason(message: Envelope, budgetBytes = EXECUTION_INPUT_BUDGET_BYTES): string | undefined {
  const bytes = aloneBytes(message);
  if (bytes <= budgetBytes) return undefined;
  const why =
    budgetBytes < MAX_PAYLOAD_BYTES
      ? `: the ${kib(MAX_PAYLOAD_BYTES)} Step Functions payload limit less ${kib(MAX_PAYLOAD_BYTES - budgetBytes)} kept for the workflow's bookkeeping`
      : '';
  return (
    `too large: the request takes ${bytes} bytes of execution input (its body as a JSON string, with its envelope); ` +
    `the budget is ${budgetBytes} bytes${budgetBytes % 1024 === 0 ? ` (${kib(budgetBytes)})` : ''}${why}`
  );
}

/** An input with the longest names and times: epoch seconds keep 10 digits until 2286. */
function skeleton(messages: Envelope[]): ExecutionInput {
  const name = 'x'.repeat(80);
  const time = 9_999_999_999;
  return { batchId: name, executionName: name, now: time, leaseUntil: time, expiresAt: time, messages };
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
    if (current.length && jsonBytes(skeleton(candidate)) > budget) {
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
