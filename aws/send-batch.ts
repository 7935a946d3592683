/**
 * SendMessageBatch in chunks that SQS accepts (10 entries, 256 KiB), sent side by side, retrying the
 * entries a call reports failed, except SenderFault ones (the message itself is wrong: sending it again
 * cannot help). Never throws: a region that cannot be reached yields a failed result per message, and
 * says whether the message may have been delivered all the same (aws/delivery.ts): an entry SQS
 * answered as failed was not; a whole call that failed without a 4xx answer may have been.
 */
import {
  SendMessageBatchCommand,
  type MessageAttributeValue,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SendResult } from '../core/failover.js';
import { deliveryOf } from './delivery.js';

export const MAX_BATCH_ENTRIES = 10;
export const MAX_BATCH_BYTES = 256 * 1024;

export interface OutgoingMessage {
  /** Our id for the entry (the master queue's message id). */
  readonly id: string;
  readonly body: string;
  readonly attributes: Record<string, string>;
}

export interface SendOptions {
  /** Rounds for entries that failed without a SenderFault. */
  readonly entryAttempts?: number;
  readonly backoffMs?: number;
  /**
   * Epoch ms after which no call is started (entries not yet sent are reported not sent), so that the
   * caller's worst case is this deadline plus one call (functions/forward.ts, workflows/time-budget.ts).
   */
  readonly deadlineMs?: number;
}

const entrySize = (m: OutgoingMessage) =>
  Buffer.byteLength(m.body) + Object.entries(m.attributes).reduce((n, [k, v]) => n + k.length + 6 + Buffer.byteLength(v), 0);

/** Chunks of at most 10 entries and 256 KiB. */
export function chunk(messages: readonly OutgoingMessage[]): OutgoingMessage[][] {
  const chunks: OutgoingMessage[][] = [];
  let current: OutgoingMessage[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = entrySize(message);
    if (current.length && (current.length === MAX_BATCH_ENTRIES || bytes + size > MAX_BATCH_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length) chunks.push(current);
  return chunks;
}

const entryId = (index: number) => `m${index}`;

function toEntry(message: OutgoingMessage, index: number): SendMessageBatchRequestEntry {
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(message.attributes)) attributes[name] = { DataType: 'String', StringValue: value };
  return { Id: entryId(index), MessageBody: message.body, MessageAttributes: attributes };
}

const describe = (error: unknown) => {
  const err = error as Partial<Error> | null | undefined;
  return `${err?.name ?? 'Error'}: ${err?.message || String(error ?? 'no message')}`;
};

const OUT_OF_TIME = 'not sent: out of time for another attempt';

async function sendChunk(
  client: SQSClient,
  queueUrl: string,
  group: readonly OutgoingMessage[],
  options: SendOptions,
  results: Map<string, SendResult>,
): Promise<void> {
  const attempts = options.entryAttempts ?? 3;
  let todo = group;
  for (let attempt = 1; attempt <= attempts && todo.length; attempt++) {
    if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, (options.backoffMs ?? 50) * 2 ** (attempt - 2)));
    if (options.deadlineMs !== undefined && Date.now() >= options.deadlineMs) {
      // Entries that an earlier round saw refused keep that error; the others were never sent.
      for (const message of todo) if (!results.has(message.id)) results.set(message.id, { messageId: message.id, ok: false, error: OUT_OF_TIME });
      return;
    }
    try {
      const response = await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: todo.map(toEntry) }));
      const retry: OutgoingMessage[] = [];
      for (const ok of response.Successful ?? []) {
        const message = todo[Number(ok.Id?.slice(1))];
        if (message) results.set(message.id, { messageId: message.id, ok: true, sqsMessageId: ok.MessageId });
      }
      for (const failed of response.Failed ?? []) {
        const message = todo[Number(failed.Id?.slice(1))];
        if (!message) continue;
        const error = `${failed.Code ?? 'Failed'}: ${failed.Message ?? 'entry not sent'}`;
        results.set(message.id, { messageId: message.id, ok: false, error, senderFault: failed.SenderFault === true });
        if (!failed.SenderFault) retry.push(message);
      }
      todo = retry;
    } catch (error) {
      // The whole call failed (network, timeout, throttling past the SDK's retries, missing queue):
      // the region is in trouble, which the workflow's Retry handles; trying again here would only
      // multiply the wait before failover. Without an answer, the messages may have arrived: say so,
      // unless an earlier round had them answered as failed and this round proves nothing more.
      const unknown = deliveryOf(error) === 'unknown';
      for (const message of todo) {
        results.set(message.id, { messageId: message.id, ok: false, error: describe(error), ...(unknown ? { unknown: true } : {}) });
      }
      return;
    }
  }
}

export async function sendBatch(
  client: SQSClient,
  queueUrl: string,
  messages: readonly OutgoingMessage[],
  options: SendOptions = {},
): Promise<SendResult[]> {
  const results = new Map<string, SendResult>();
  await Promise.all(chunk(messages).map((group) => sendChunk(client, queueUrl, group, options, results)));
  return messages.map((m) => results.get(m.id) ?? { messageId: m.id, ok: false, error: 'not sent' });
}
