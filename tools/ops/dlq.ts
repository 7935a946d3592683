/**
 * What the dead-letter queues hold, grouped by reason, without consuming anything (each message read is
 * made visible again at once when the read ends). The dispatch DLQ's messages carry their reason; the
 * master DLQ's were moved there by SQS after failed receives and are grouped by what their idempotency
 * record says, when there is one. Served by `dlq` (tools/ops/dlq.ts) and the console's Dead letters
 * page.
 */
import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import {
  isMasterDlq,
  DLQ_LABEL,
  groupByReason,
  listingReason,
  queueName,
  queueRegion,
  readDlqMessage,
  readRecord,
  type DlqKind,
  type DlqMessage,
  type ReasonGroup,
  type RecordRead,
} from './dlq-model.js';
import { previewMessage, type MessagePreview } from './body-preview.js';
import { pooled } from './pooled.js';
import { QueueReader, queueDepth, READ_DEFAULTS, type QueueDepth, type ReaderOptions } from './queue-reader.js';
import { TargetError, type Target } from './target.js';

/** What `dlq` and `redrive` need of a Target (a Target is one). */
export type DlqDeps = Pick<Target, 'homeRegion' | 'masterDeadLetterQueueUrl' | 'masterHighDeadLetterQueueUrl' | 'dispatchDeadLetterQueueUrl' | 'tableName' | 'sqs' | 'dynamo'>;

export const COUNTS_NOTE =
  'Counts are the messages this read could see; SQS\'s ApproximateNumberOfMessages is shown beside them (messages held in flight by another reader are not seen).';

export function dlqUrl(deps: Pick<DlqDeps, 'masterDeadLetterQueueUrl' | 'masterHighDeadLetterQueueUrl' | 'dispatchDeadLetterQueueUrl'>, kind: DlqKind): string {
  const url = { dispatch: deps.dispatchDeadLetterQueueUrl, master: deps.masterDeadLetterQueueUrl, 'master-high': deps.masterHighDeadLetterQueueUrl }[kind];
  if (!url) throw new TargetError(`the target names no ${DLQ_LABEL[kind]} URL`);
  return url;
}

/** The SQS client of the region a queue URL lives in (the home region when the URL does not say). */
export const clientFor = (deps: Pick<DlqDeps, 'sqs' | 'homeRegion'>, url: string): SQSClient => deps.sqs(queueRegion(url) ?? deps.homeRegion);

export async function getRecord(dynamo: DynamoDBClient, tableName: string | undefined, requestId: string): Promise<RecordRead> {
  if (!tableName) throw new TargetError('the target names no idempotency table');
  const { Item } = await dynamo.send(new GetItemCommand({ TableName: tableName, Key: { request_id: { S: requestId } }, ConsistentRead: true }));
  return readRecord(Item);
}

export interface ListedMessage {
  readonly messageId: string;
  /** Its request_id attribute, else the request_id its body names (dlq-model.ts messageRequestId). */
  readonly requestId?: string;
  readonly requestIdFrom?: 'attribute' | 'body';
  readonly sourceMessageId?: string;
  readonly reason: string;
  readonly record?: string;
  readonly receiveCount?: number;
  readonly sentAt?: string;
  /** Its body and attributes, cut to ListOptions.bodyBytes (only when asked for: the console shows them). */
  readonly preview?: MessagePreview;
}

export interface DlqListing {
  readonly queue: DlqKind;
  readonly name: string;
  readonly url: string;
  /** Distinct messages read. */
  readonly read: number;
  /** SQS's approximate counts, taken before the read. */
  readonly approximate: QueueDepth;
  readonly groups: ReasonGroup[];
  readonly messages: ListedMessage[];
  /** Messages that could not be made visible again: hidden until their visibility timeout ends. */
  readonly stillHidden: number;
  readonly warnings: string[];
}

export interface ListOptions extends Partial<ReaderOptions> {
  /** After each batch read: messages read so far, and SQS's approximate count as the estimate. */
  onProgress?(read: number, estimate: number): void;
  /** List each message's body and attributes, its body cut to this many bytes (ops/body-preview.ts). */
  bodyBytes?: number;
}

const recordLabel = (read: RecordRead | undefined) =>
  !read ? undefined : !read.found ? 'none' : 'invalid' in read ? 'unreadable' : (read.record.status ?? 'no status');

/** Reads one DLQ whole, releases what it read, and groups it by reason. */
export async function listDlq(deps: DlqDeps, kind: DlqKind, options: ListOptions = {}): Promise<DlqListing> {
  const url = dlqUrl(deps, kind);
  const client = clientFor(deps, url);
  const approximate = await queueDepth(client, url);
  const reader = new QueueReader(client, url, { ...READ_DEFAULTS, ...options });
  const messages: DlqMessage[] = [];
  let stillHidden = 0;
  try {
    for await (const batch of reader.batches()) {
      messages.push(...batch.map((m) => readDlqMessage(kind, m)));
      options.onProgress?.(reader.read, approximate.visible);
    }
  } finally {
    stillHidden = (await reader.release()).length;
  }
  const warnings: string[] = [];
  const records = new Map<string, RecordRead>();
  if (isMasterDlq(kind)) {
    // SQS gave these no reason: what their record says is the best one there is.
    const ids = [...new Set(messages.flatMap((m) => (m.requestId ? [m.requestId] : [])))];
    let failures = 0;
    let firstError = '';
    await pooled(ids, 8, async (id) => {
      try {
        records.set(id, await getRecord(deps.dynamo(), deps.tableName, id));
      } catch (error) {
        failures++;
        firstError ||= `${(error as Error).name}: ${(error as Error).message}`;
      }
    });
    if (failures) warnings.push(`${failures} record lookup(s) failed (${firstError}): those messages are grouped without their record`);
  }
  const listed: ListedMessage[] = messages.map((m) => {
    const record = m.requestId ? records.get(m.requestId) : undefined;
    const label = recordLabel(record);
    return {
      messageId: m.messageId,
      ...(m.requestId ? { requestId: m.requestId, ...(m.requestIdFrom ? { requestIdFrom: m.requestIdFrom } : {}) } : {}),
      ...(m.sourceMessageId ? { sourceMessageId: m.sourceMessageId } : {}),
      reason: listingReason(m, record),
      ...(label ? { record: label } : {}),
      ...(m.receiveCount !== undefined ? { receiveCount: m.receiveCount } : {}),
      ...(m.sentAt ? { sentAt: m.sentAt } : {}),
      ...(options.bodyBytes !== undefined ? { preview: previewMessage(m.body, m.attributes, options.bodyBytes) } : {}),
    };
  });
  if (stillHidden) warnings.push(`${stillHidden} message(s) could not be made visible again: hidden until their visibility timeout ends`);
  return { queue: kind, name: queueName(url), url, read: messages.length, approximate, groups: groupByReason(listed), messages: listed, stillHidden, warnings };
}

export interface ListManyOptions extends Omit<ListOptions, 'onProgress'> {
  /** As ListOptions.onProgress, naming the DLQ being read. */
  onProgress?(queue: DlqKind, read: number, estimate: number): void;
}

/** Reads several DLQs, one after the other (each read hides what it reads for a while). */
export async function listDlqs(deps: DlqDeps, kinds: readonly DlqKind[], options: ListManyOptions = {}): Promise<DlqListing[]> {
  const { onProgress, ...read } = options;
  const listings: DlqListing[] = [];
  for (const kind of kinds) {
    listings.push(await listDlq(deps, kind, { ...read, ...(onProgress ? { onProgress: (n, estimate) => onProgress(kind, n, estimate) } : {}) }));
  }
  return listings;
}
