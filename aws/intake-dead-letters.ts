/**
 * Invalid master-queue messages to the dispatch DLQ, each with its reason, once: a marker item per
 * master message (core/record.ts: intakeDeadLetterKey) lets a redelivered batch skip what an earlier
 * delivery already dead-lettered. The send comes first and the marker after, so a crash between them
 * costs at most a second DLQ copy, never a lost message. A message too large to carry its reason
 * travels with a short pointer instead, and the full reason stays in the marker.
 */
import { BatchGetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { intakeDeadLetterKey } from '../core/record.js';
import { sendBatch, type OutgoingMessage } from './send-batch.js';

/** SQS's limit on one message: body plus every attribute's name, type and value. */
export const SQS_MESSAGE_LIMIT_BYTES = 1024 * 1024;
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

const cut = (text: string, bytes: number) => {
  const buffer = Buffer.from(text);
  return buffer.length <= bytes ? text : `${buffer.subarray(0, bytes - 3).toString().replace(/\uFFFD$/, '')}...`;
};

/** The DLQ copy: the original body untouched, the reason as an attribute, shortened so that it fits. */
export function deadLetterCopy(message: InvalidMessage, batchId: string): OutgoingMessage {
  const full: OutgoingMessage = {
    id: message.messageId,
    body: message.body,
    attributes: {
      reason: cut(message.reason, REASON_ATTRIBUTE_BYTES),
      source_message_id: message.messageId,
      receive_count: String(message.receiveCount),
      batch_id: batchId,
    },
  };
  if (sqsSize(full) <= SQS_MESSAGE_LIMIT_BYTES) return full;
  const pointer: OutgoingMessage = {
    ...full,
    attributes: {
      reason: `too large to carry its reason; the reason is in the idempotency table under ${intakeDeadLetterKey(message.messageId)}`,
      source_message_id: message.messageId,
    },
  };
  if (sqsSize(pointer) <= SQS_MESSAGE_LIMIT_BYTES) return pointer;
  // The body alone fills the limit (it came through the master queue, so it fits): the marker holds the rest.
  return { ...full, attributes: {} };
}

/** Master messages an earlier delivery already dead-lettered (only a redelivery can have one). */
async function alreadyDeadLettered(deps: DeadLetterDeps, messages: readonly InvalidMessage[]): Promise<Set<string>> {
  const redelivered = messages.filter((m) => m.receiveCount > 1);
  if (!redelivered.length) return new Set();
  try {
    const { Responses = {} } = await deps.dynamo.send(
      new BatchGetItemCommand({
        RequestItems: { [deps.tableName]: { Keys: redelivered.map((m) => ({ request_id: { S: intakeDeadLetterKey(m.messageId) } })), ConsistentRead: true } },
      }),
    );
    return new Set((Responses[deps.tableName] ?? []).map((item) => item.messageId?.S ?? ''));
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
          reason: { S: cut(message.reason, 4096) },
          batchId: { S: deps.batchId },
          ...(deadLetterMessageId ? { deadLetterMessageId: { S: deadLetterMessageId } } : {}),
          expiresAt: { N: String(deps.nowSeconds + MARKER_TTL_SECONDS) },
        },
      }),
    )
    .catch((error: Error) => deps.log.warn('dead-letter marker not written', { messageId: message.messageId, error: `${error.name}: ${error.message}` }));
}

export async function deadLetterInvalid(deps: DeadLetterDeps, messages: readonly InvalidMessage[]): Promise<DeadLetterResult[]> {
  if (!messages.length) return [];
  const earlier = await alreadyDeadLettered(deps, messages);
  const todo = messages.filter((m) => !earlier.has(m.messageId));
  const results = await sendBatch(deps.sqs, deps.queueUrl, todo.map((m) => deadLetterCopy(m, deps.batchId)));
  const byId = new Map(results.map((r) => [r.messageId, r]));
  await Promise.all(
    todo.map((m) => {
      const result = byId.get(m.messageId);
      // A rejected copy (SenderFault) can never be sent: its reason is kept in the table, where
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
        reason: `${m.reason}; the dispatch DLQ refuses it (${result.error}): left for the master DLQ, reason kept under ${intakeDeadLetterKey(m.messageId)}`,
      };
    }
    return { messageId: m.messageId, done: false, reason: `${m.reason}; dead-letter queue unavailable: ${result?.error}` };
  });
}
