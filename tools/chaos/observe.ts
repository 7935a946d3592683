/**
 * What a scenario left behind, read straight from the servers (not through the fault proxies, so that no
 * fault blinds the checker): every message still in a queue or a DLQ with its attributes, the idempotency
 * records, and whether the system has drained (nothing visible, in flight or delayed anywhere).
 */
import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, type Message, type QueueAttributeName, type SQSClient } from '@aws-sdk/client-sqs';
import { COUNT_ATTRIBUTES, countsOf, type LaneCounts } from '../../core/snapshot.js';
import { MESSAGE_ATTRIBUTE, requestRecordSchema, type RequestRecord } from '../../core/record.js';
import type { StackDescription } from '../local/stack.js';
import type { ObservedMessage, QueueKind, RecordView, WorkEvent } from './checker.js';
import type { WorkerEvent } from '../local/fleet/workers.js';

export interface QueueRef {
  readonly queue: QueueKind;
  readonly region?: string;
  readonly url: string;
  /** The SQS server's region the queue lives on. */
  readonly server: string;
}

/** Every queue of the stack, with what it is: a lane (core/lanes.ts) counts as the queue it sits beside. */
export function queuesOf(d: StackDescription): QueueRef[] {
  return [
    { queue: 'master', url: d.masterQueueUrl, server: d.homeRegion },
    { queue: 'master-dlq', url: d.masterDeadLetterQueueUrl, server: d.homeRegion },
    ...(d.masterHighQueueUrl ? [{ queue: 'master' as const, url: d.masterHighQueueUrl, server: d.homeRegion }] : []),
    ...(d.masterHighDeadLetterQueueUrl ? [{ queue: 'master-dlq' as const, url: d.masterHighDeadLetterQueueUrl, server: d.homeRegion }] : []),
    { queue: 'dispatch-dlq', url: d.dispatchDeadLetterQueueUrl, server: d.homeRegion },
    ...d.regions.flatMap((r): QueueRef[] => [
      { queue: 'region', region: r.region, url: r.queueUrl, server: r.region },
      { queue: 'regional-dlq', region: r.region, url: r.deadLetterQueueUrl, server: r.region },
      ...(r.highQueueUrl ? [{ queue: 'region' as const, region: r.region, url: r.highQueueUrl, server: r.region }] : []),
      ...(r.highDeadLetterQueueUrl ? [{ queue: 'regional-dlq' as const, region: r.region, url: r.highDeadLetterQueueUrl, server: r.region }] : []),
    ]),
  ];
}

async function counts(client: SQSClient, url: string): Promise<LaneCounts> {
  const { Attributes = {} } = await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: COUNT_ATTRIBUTES as QueueAttributeName[] }));
  return countsOf(Attributes);
}

/** Messages still to be handled: in the master queue and the regional queues, visible, in flight or delayed. */
export async function outstanding(clients: (server: string) => SQSClient, d: StackDescription): Promise<number> {
  const live = queuesOf(d).filter((q) => q.queue === 'master' || q.queue === 'region');
  const all = await Promise.all(live.map(async (q) => counts(clients(q.server), q.url)));
  return all.reduce((n, c) => n + c.visible + c.inFlight + c.delayed, 0);
}

/** Messages in flight anywhere (they come back once their visibility timeout ends). */
export async function inFlight(clients: (server: string) => SQSClient, d: StackDescription): Promise<number> {
  const all = await Promise.all(queuesOf(d).map(async (q) => counts(clients(q.server), q.url)));
  return all.reduce((n, c) => n + c.inFlight + c.delayed, 0);
}

const attribute = (m: Message, name: string) => m.MessageAttributes?.[name]?.StringValue || undefined;

function requestIdInBody(body: string | undefined): string | undefined {
  try {
    const parsed = JSON.parse(body ?? '') as { request_id?: unknown };
    return typeof parsed?.request_id === 'string' ? parsed.request_id : undefined;
  } catch {
    return undefined;
  }
}

export function observedMessage(ref: Pick<QueueRef, 'queue' | 'region'>, m: Message, leftAtEnd: boolean): ObservedMessage {
  const requestId = attribute(m, MESSAGE_ATTRIBUTE.requestId) ?? requestIdInBody(m.Body);
  const token = attribute(m, MESSAGE_ATTRIBUTE.dispatchToken);
  const reason = attribute(m, 'reason');
  const sourceMessageId = attribute(m, MESSAGE_ATTRIBUTE.sourceMessageId);
  const execution = attribute(m, MESSAGE_ATTRIBUTE.execution);
  const batchId = attribute(m, 'batch_id');
  const receiveCount = Number(attribute(m, 'receive_count'));
  return {
    queue: ref.queue,
    ...(ref.region ? { region: ref.region } : {}),
    messageId: m.MessageId ?? '',
    ...(requestId ? { requestId } : {}),
    ...(token ? { token } : {}),
    ...(reason !== undefined ? { reason } : {}),
    ...(sourceMessageId ? { sourceMessageId } : {}),
    ...(execution ? { execution } : {}),
    ...(batchId ? { batchId } : {}),
    ...(Number.isInteger(receiveCount) && receiveCount > 0 ? { receiveCount } : {}),
    ...(m.Body !== undefined ? { body: m.Body } : {}),
    leftAtEnd,
  };
}

/** Every message of one queue, removed from it. */
async function drain(client: SQSClient, url: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }),
    );
    if (!Messages.length) return all;
    all.push(...Messages);
    await client.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
  }
}

/** What is left in every queue and DLQ of the stack, emptied. */
export async function drainAll(clients: (server: string) => SQSClient, d: StackDescription): Promise<ObservedMessage[]> {
  const found = await Promise.all(queuesOf(d).map(async (q) => (await drain(clients(q.server), q.url)).map((m) => observedMessage(q, m, true))));
  return found.flat();
}

/** What the checkers read of a parsed idempotency record (tools/chaos/checker.ts, and the explorer's). */
export function recordView(r: RequestRecord): RecordView {
  return {
    requestId: r.request_id,
    ...(r.status ? { status: r.status } : {}),
    ...(r.token ? { token: r.token } : {}),
    ...(r.tokens ? { tokens: r.tokens } : {}),
    ...(r.triedRegion ? { triedRegion: r.triedRegion } : {}),
    ...(r.triedToken ? { triedToken: r.triedToken } : {}),
    ...(r.workStatus ? { workStatus: r.workStatus } : {}),
    ...(r.acceptedToken ? { acceptedToken: r.acceptedToken } : {}),
    ...(r.acceptedBy ? { acceptedBy: r.acceptedBy } : {}),
    ...(r.completedAt !== undefined ? { completedAt: r.completedAt } : {}),
    ...(r.reason ? { reason: r.reason } : {}),
  };
}

/** The idempotency records (request ids only; health items and intake markers are left out). */
export async function scanRecords(dynamo: DynamoDBClient, tableName: string): Promise<RecordView[]> {
  const records: RecordView[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamo.send(new ScanCommand({ TableName: tableName, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) }));
    for (const item of page.Items ?? []) {
      if (item.request_id?.S?.startsWith('#')) continue;
      const parsed = requestRecordSchema.safeParse(item);
      if (!parsed.success) continue;
      records.push(recordView(parsed.data));
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return records;
}

/** Worker events as the checker reads them, and the copies the workers received (one per message, in the queue it came from). */
export function fromWorkerEvents(events: readonly WorkerEvent[]): { work: WorkEvent[]; copies: ObservedMessage[] } {
  const work = events.map((e) => ({
    kind: e.kind,
    region: e.region,
    workerId: e.workerId,
    messageId: e.messageId,
    ...(e.requestId ? { requestId: e.requestId } : {}),
    ...(e.token ? { token: e.token } : {}),
    ...(e.reason ? { reason: e.reason } : {}),
  }));
  const copies = new Map<string, ObservedMessage>();
  for (const e of events) {
    // A stolen copy sits in the queue of the region it was stolen from (worker/stealing.ts), not the worker's.
    const region = e.stolenFrom ?? e.region;
    if (e.kind !== 'received' || copies.has(`${region}\u0000${e.messageId}`)) continue;
    copies.set(`${region}\u0000${e.messageId}`, {
      queue: 'region',
      region,
      messageId: e.messageId,
      ...(e.requestId ? { requestId: e.requestId } : {}),
      ...(e.token ? { token: e.token } : {}),
      ...(e.body !== undefined ? { body: e.body } : {}),
      leftAtEnd: false,
    });
  }
  return { work, copies: [...copies.values()] };
}
