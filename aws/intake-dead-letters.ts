/**
 * Invalid master-queue messages to the dispatch DLQ, each with its reason, once: a marker item per
 * master message (core/record.ts: intakeDeadLetterKey) lets a redelivered batch skip what an earlier
 * delivery already dead-lettered. The send comes first and the marker after, so a crash between them
 * costs at most a second DLQ copy, never a lost message. A message too large to carry its reason
 * travels with a short pointer instead, and the full reason stays in the marker.
 *
 * Only a DEAD_LETTERED marker means done. A copy the DLQ refuses (a sender fault: too large for the
 * DLQ's MaximumMessageSize, say) leaves an UNDELIVERABLE marker holding the reason, and the message goes
 * back to the master queue, whose own redrive moves it to the master DLQ after maxReceiveCount: it is
 * never deleted while no DLQ holds it (the no-loss guarantee).
 */
import { BatchGetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import { intakeDeadLetterKey } from '../core/record.js';
import { cutUtf8, sqsText } from '../core/sqs-text.js';
import { sendBatch, type OutgoingMessage } from './send-batch.js';

/** SQS's largest message: body plus every attribute's name, type and value. */
export const SQS_MESSAGE_LIMIT_BYTES = 1024 * 1024;
/** SQS's smallest MaximumMessageSize. */
const SQS_MESSAGE_LIMIT_MIN_BYTES = 1024;
/**
 * What the DLQ is assumed to take when its MaximumMessageSize cannot be read: 256 KiB, SQS's default
 * for years and what older queues still have. Too small costs only the reason attribute (a pointer
 * travels instead); too large would cost the copy.
 */
export const FALLBACK_LIMIT_BYTES = 256 * 1024;
/** The marker keeps more of the reason than an attribute does. */
const MARKER_REASON_BYTES = 4096;
/** What a DLQ reason attribute keeps; the marker keeps more. */
export const REASON_ATTRIBUTE_BYTES = 1024;
/** DLQ retention (14 days): the marker lives as long as the copy it stands for. */
const MARKER_TTL_SECONDS = 14 * 24 * 3600;

export interface InvalidMessage {
  readonly messageId: string;
  readonly body: string;
  readonly reason: string;
  readonly receiveCount: number;
}

export interface DeadLetterResult {
  readonly messageId: string;
  /** dead-lettered (now or by an earlier delivery), or left for the master queue to deliver again. */
  readonly done: boolean;
  readonly reason: string;
}

export interface DeadLetterDeps {
  readonly sqs: SQSClient;
  readonly dynamo: DynamoDBClient;
  readonly tableName: string;
  readonly queueUrl: string;
  readonly batchId: string;
  readonly nowSeconds: number;
  readonly log: { warn(message: string, extra: Record<string, unknown>): void };
}

const sqsSize = (m: OutgoingMessage) =>
  Buffer.byteLength(m.body) + Object.entries(m.attributes).reduce((n, [k, v]) => n + Buffer.byteLength(k) + 'String'.length + Buffer.byteLength(v), 0);

/**
 * The DLQ copy: the original body untouched, the reason as an attribute, shortened so that the copy
 * fits the DLQ's MaximumMessageSize (`limitBytes`).
 */
export function deadLetterCopy(message: InvalidMessage, batchId: string, limitBytes = SQS_MESSAGE_LIMIT_BYTES): OutgoingMessage {
  const full: OutgoingMessage = {
    id: message.messageId,
    body: message.body,
    attributes: {
      reason: cutUtf8(message.reason, REASON_ATTRIBUTE_BYTES),
      source_message_id: message.messageId,
      receive_count: String(message.receiveCount),
      batch_id: batchId,
    },
  };
  if (sqsSize(full) <= limitBytes) return full;
  const pointer: OutgoingMessage = {
    ...full,
    attributes: {
      reason: `too large to carry its reason; the reason is in the idempotency table under ${intakeDeadLetterKey(message.messageId)}`,
      source_message_id: message.messageId,
    },
  };
  if (sqsSize(pointer) <= limitBytes) return pointer;
  // The body alone fills the limit, or passes it (then the DLQ refuses it, unless the limit read was a
  // fallback below the real one): the marker holds the rest.
  return { ...full, attributes: {} };
}

const limitSchema = z.object({
  MaximumMessageSize: z.coerce.number().int().min(SQS_MESSAGE_LIMIT_MIN_BYTES).max(SQS_MESSAGE_LIMIT_BYTES),
});
/** Each DLQ's MaximumMessageSize, read once per container. A failed read is not kept: the next batch asks again. */
const limits = new Map<string, Promise<number>>();

/** The DLQ's MaximumMessageSize; FALLBACK_LIMIT_BYTES when it cannot be read. */
export function deadLetterLimit(deps: Pick<DeadLetterDeps, 'sqs' | 'queueUrl' | 'log'>): Promise<number> {
  let read = limits.get(deps.queueUrl);
  if (!read) {
    read = deps.sqs
      .send(new GetQueueAttributesCommand({ QueueUrl: deps.queueUrl, AttributeNames: ['MaximumMessageSize'] }))
      .then(({ Attributes }) => limitSchema.parse(Attributes ?? {}).MaximumMessageSize);
    limits.set(deps.queueUrl, read);
  }
  return read.catch((error: Error) => {
    limits.delete(deps.queueUrl);
    deps.log.warn('dead-letter queue limit unreadable', { error: `${error.name}: ${error.message}`, assumedBytes: FALLBACK_LIMIT_BYTES });
    return FALLBACK_LIMIT_BYTES;
  });
}

/** Forgets the limits read so far (a queue's MaximumMessageSize changed). */
export function forgetDeadLetterLimits(): void {
  limits.clear();
}

/**
 * Master messages an earlier delivery already dead-lettered (only a redelivery can have one). Only a
 * DEAD_LETTERED marker counts: an UNDELIVERABLE one says the DLQ refused the copy, so no DLQ holds it.
 */
async function alreadyDeadLettered(deps: DeadLetterDeps, messages: readonly InvalidMessage[]): Promise<Set<string>> {
  const redelivered = messages.filter((m) => m.receiveCount > 1);
  if (!redelivered.length) return new Set();
  try {
    const { Responses = {} } = await deps.dynamo.send(
      new BatchGetItemCommand({
        RequestItems: { [deps.tableName]: { Keys: redelivered.map((m) => ({ request_id: { S: intakeDeadLetterKey(m.messageId) } })), ConsistentRead: true } },
      }),
    );
    return new Set((Responses[deps.tableName] ?? []).filter((item) => item.status?.S === 'DEAD_LETTERED').map((item) => item.messageId?.S ?? ''));
  } catch (error) {
    // Unknown: send again. A second DLQ copy is better than a lost message.
    deps.log.warn('dead-letter markers unreadable', { error: `${(error as Error).name}: ${(error as Error).message}` });
    return new Set();
  }
}

async function mark(deps: DeadLetterDeps, message: InvalidMessage, deadLetterMessageId: string | undefined, delivered: boolean) {
  await deps.dynamo
    .send(
      new PutItemCommand({
        TableName: deps.tableName,
        Item: {
          request_id: { S: intakeDeadLetterKey(message.messageId) },
          messageId: { S: message.messageId },
          status: { S: delivered ? 'DEAD_LETTERED' : 'UNDELIVERABLE' },
          reason: { S: cutUtf8(message.reason, MARKER_REASON_BYTES) },
          batchId: { S: deps.batchId },
          ...(deadLetterMessageId ? { deadLetterMessageId: { S: deadLetterMessageId } } : {}),
          expiresAt: { N: String(deps.nowSeconds + MARKER_TTL_SECONDS) },
        },
      }),
    )
    .catch((error: Error) => deps.log.warn('dead-letter marker not written', { messageId: message.messageId, error: `${error.name}: ${error.message}` }));
}

export async function deadLetterInvalid(deps: DeadLetterDeps, invalid: readonly InvalidMessage[]): Promise<DeadLetterResult[]> {
  if (!invalid.length) return [];
  // Reasons quote error messages, which can hold what SQS and DynamoDB refuse (half an emoji).
  const messages = invalid.map((m) => ({ ...m, reason: sqsText(m.reason) }));
  const [earlier, limitBytes] = await Promise.all([alreadyDeadLettered(deps, messages), deadLetterLimit(deps)]);
  const todo = messages.filter((m) => !earlier.has(m.messageId));
  const results = await sendBatch(deps.sqs, deps.queueUrl, todo.map((m) => deadLetterCopy(m, deps.batchId, limitBytes)));
  const byId = new Map(results.map((r) => [r.messageId, r]));
  await Promise.all(
    todo.map((m) => {
      const result = byId.get(m.messageId);
      // A refused copy (SenderFault) will not be sent as it is: its reason is kept in the table, where
      // `status` and the operator find it once the master queue's own DLQ holds the message.
      return result?.ok || result?.senderFault ? mark(deps, m, result.sqsMessageId, result.ok) : undefined;
    }),
  );
  return messages.map((m): DeadLetterResult => {
    if (earlier.has(m.messageId)) return { messageId: m.messageId, done: true, reason: `${m.reason} (dead-lettered by an earlier delivery)` };
    const result = byId.get(m.messageId);
    if (result?.ok) return { messageId: m.messageId, done: true, reason: m.reason };
    if (result?.senderFault) {
      return {
        messageId: m.messageId,
        done: false,
        reason: sqsText(`${m.reason}; the dispatch DLQ refuses it (${result.error}): left for the master DLQ, reason kept under ${intakeDeadLetterKey(m.messageId)}`),
      };
    }
    return { messageId: m.messageId, done: false, reason: sqsText(`${m.reason}; dead-letter queue unavailable: ${result?.error}`) };
  });
}
