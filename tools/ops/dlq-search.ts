/**
 * The copies of one request in a DLQ, found by reading the whole queue without consuming it (every
 * message read is made visible again): by the request_id attribute, or the request_id in the body of a
 * request the intake found invalid; with the intake's marker item `#intake-dlq#<master message id>`
 * (core/record.ts) of such a request, found through the copy's source_message_id.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { intakeDeadLetterKey } from '../../core/record.js';
import { clientFor, dlqUrl, type DlqDeps } from './dlq.js';
import { baseReason, namesRequest, readDlqMessage, type DlqKind, type DlqMessage } from './dlq-model.js';
import { previewMessage, type MessagePreview } from './body-preview.js';
import { QueueReader, queueDepth, READ_DEFAULTS, type QueueDepth, type ReaderOptions } from './queue-reader.js';
import type { Target } from './target.js';

export { bodyRequestId, namesRequest } from './dlq-model.js';

/** The intake's marker of a master message it dead-lettered. */
export interface IntakeMarker {
  readonly key: string;
  readonly status?: string;
  readonly reason?: string;
  readonly batchId?: string;
  readonly deadLetterMessageId?: string;
  readonly expiresAt?: string;
}

export interface DeadLetterCopy {
  readonly queue: DlqKind;
  readonly messageId: string;
  readonly reason: string;
  readonly matchedBy: 'attribute' | 'body';
  readonly sourceMessageId?: string;
  readonly batchId?: string;
  readonly execution?: string;
  readonly sentAt?: string;
  readonly receiveCount?: number;
  /** Who put it there: the intake (invalid request), the workflow (no region took it), or SQS (master DLQ). */
  readonly by: 'intake' | 'workflow' | 'master queue redrive policy';
  /** The intake's marker (intake copies with a source_message_id). */
  readonly marker?: IntakeMarker | null;
}

export interface DlqSearch {
  readonly queue: DlqKind;
  readonly name: string;
  /** Distinct messages read (the whole queue as this read could see it). */
  readonly read: number;
  readonly approximate: QueueDepth;
  /** Messages this read made visible again failed to be: hidden until their visibility timeout ends. */
  readonly stillHidden: number;
}

/** Reads one DLQ whole without consuming it and keeps the copies of this request. */
export async function searchDlq(
  target: DlqDeps,
  kind: DlqKind,
  requestId: string,
  options: Partial<ReaderOptions> & { onProgress?: (read: number, estimate: number) => void } = {},
): Promise<{ search: DlqSearch; copies: DlqMessage[] }> {
  const url = dlqUrl(target, kind);
  const client = clientFor(target, url);
  const approximate = await queueDepth(client, url);
  const reader = new QueueReader(client, url, { ...READ_DEFAULTS, ...options });
  const copies: DlqMessage[] = [];
  let stillHidden = 0;
  try {
    for await (const batch of reader.batches()) {
      for (const raw of batch) {
        const message = readDlqMessage(kind, raw);
        if (namesRequest(message, requestId)) copies.push(message);
      }
      options.onProgress?.(reader.read, approximate.visible);
    }
  } finally {
    stillHidden = (await reader.release()).length;
  }
  return { search: { queue: kind, name: url.split('/').at(-1) ?? url, read: reader.read, approximate, stillHidden }, copies };
}

async function readMarker(target: Pick<Target, 'dynamo' | 'tableName'>, sourceMessageId: string): Promise<IntakeMarker | null> {
  const key = intakeDeadLetterKey(sourceMessageId);
  const { Item } = await target.dynamo().send(new GetItemCommand({ TableName: target.tableName, Key: { request_id: { S: key } }, ConsistentRead: true }));
  if (!Item) return null;
  const s = (name: string) => Item[name]?.S;
  const expires = Item.expiresAt?.N;
  return {
    key,
    ...(s('status') ? { status: s('status') } : {}),
    ...(s('reason') ? { reason: s('reason') } : {}),
    ...(s('batchId') ? { batchId: s('batchId') } : {}),
    ...(s('deadLetterMessageId') ? { deadLetterMessageId: s('deadLetterMessageId') } : {}),
    ...(expires ? { expiresAt: new Date(Number(expires) * 1000).toISOString() } : {}),
  };
}

/** A copy as `status` reports it: who put it there, and the intake's marker of an invalid request. */
export async function describeCopy(target: Pick<Target, 'dynamo' | 'tableName'>, message: DlqMessage, requestId: string): Promise<DeadLetterCopy> {
  // The workflow's copies carry an `execution` attribute; the intake's a `receive_count` or no request_id attribute.
  const by: DeadLetterCopy['by'] =
    message.queue === 'master' ? 'master queue redrive policy' : message.attributes.execution ? 'workflow' : 'intake';
  const marker = by === 'intake' && message.sourceMessageId ? await readMarker(target, message.sourceMessageId) : undefined;
  return {
    queue: message.queue,
    messageId: message.messageId,
    reason: baseReason(message),
    matchedBy: namesRequest(message, requestId) ?? 'attribute',
    ...(message.sourceMessageId ? { sourceMessageId: message.sourceMessageId } : {}),
    ...(message.attributes.batch_id ? { batchId: message.attributes.batch_id } : {}),
    ...(message.attributes.execution ? { execution: message.attributes.execution } : {}),
    ...(message.sentAt ? { sentAt: message.sentAt } : {}),
    ...(message.receiveCount !== undefined ? { receiveCount: message.receiveCount } : {}),
    by,
    ...(marker !== undefined ? { marker } : {}),
  };
}

/** Every copy of one request in these DLQs, as `status` reports them, and what each search read. */
export interface DeadLetterSearch<C extends DeadLetterCopy = DeadLetterCopy> {
  readonly dlqs: DlqSearch[];
  readonly deadLetters: C[];
}

/** A copy with its body and attributes, cut as ops/body-preview.ts cuts them (the console shows them). */
export type PreviewedCopy = DeadLetterCopy & { readonly preview: MessagePreview };

export interface FindOptions extends Partial<ReaderOptions> {
  onProgress?: (kind: DlqKind, read: number, estimate: number) => void;
  /** Keep each copy's body and attributes, the body cut to this many bytes (`status` leaves them out). */
  bodyBytes?: number;
}

/**
 * Searches the DLQs one after the other (each read hides what it reads for a while) for copies of one
 * request, matched by namesRequest, and describes each copy (describeCopy). `status` and the console's
 * request story both look with this; the console asks for the bodies too (`bodyBytes`).
 */
export async function findDeadLetters(
  target: DlqDeps,
  kinds: readonly DlqKind[],
  requestId: string,
  options: FindOptions & { bodyBytes: number },
): Promise<DeadLetterSearch<PreviewedCopy>>;
export async function findDeadLetters(target: DlqDeps, kinds: readonly DlqKind[], requestId: string, options?: FindOptions): Promise<DeadLetterSearch>;
export async function findDeadLetters(target: DlqDeps, kinds: readonly DlqKind[], requestId: string, options: FindOptions = {}): Promise<DeadLetterSearch> {
  const { onProgress, bodyBytes, ...read } = options;
  const dlqs: DlqSearch[] = [];
  const deadLetters: Array<DeadLetterCopy | PreviewedCopy> = [];
  for (const kind of kinds) {
    const { search, copies } = await searchDlq(target, kind, requestId, { ...read, ...(onProgress ? { onProgress: (n, estimate) => onProgress(kind, n, estimate) } : {}) });
    dlqs.push(search);
    for (const copy of copies) {
      const described = await describeCopy(target, copy, requestId);
      deadLetters.push(bodyBytes === undefined ? described : { ...described, preview: previewMessage(copy.body, copy.attributes, bodyBytes) });
    }
  }
  return { dlqs, deadLetters };
}
