/**
 * The dead-letter queues as the smoke command reads them: every one the target names (master,
 * master high, dispatch, each region's and its high lane's), their approximate counts, and a read of
 * each whole without consuming it (ops/queue-reader.ts) that keeps the smoke requests of this run and
 * deletes them, so that a failed run leaves nothing in a DLQ (the report keeps each one's reason).
 */
import { DeleteMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { readDlqMessage } from './dlq-model.js';
import { QueueReader, queueDepth, READ_DEFAULTS, type QueueDepth } from './queue-reader.js';
import type { Target } from './target.js';

export type SmokeDlqDeps = Pick<Target, 'homeRegion' | 'masterDeadLetterQueueUrl' | 'masterHighDeadLetterQueueUrl' | 'dispatchDeadLetterQueueUrl' | 'regions' | 'sqs'>;

export interface DlqRef {
  /** "master DLQ", "dispatch DLQ", "us-west-2 DLQ", "us-west-2 high DLQ", ... */
  readonly label: string;
  readonly url: string;
  readonly region: string;
}

export function smokeDlqs(target: SmokeDlqDeps): DlqRef[] {
  const home = target.homeRegion;
  const refs: DlqRef[] = [];
  const add = (label: string, url: string | undefined, region: string) => url && refs.push({ label, url, region });
  add('master DLQ', target.masterDeadLetterQueueUrl, home);
  add('master high DLQ', target.masterHighDeadLetterQueueUrl, home);
  add('dispatch DLQ', target.dispatchDeadLetterQueueUrl, home);
  for (const r of target.regions) {
    add(`${r.region} DLQ`, r.deadLetterQueueUrl, r.region);
    add(`${r.region} high DLQ`, r.highDeadLetterQueueUrl, r.region);
  }
  return refs;
}

/** visible + in flight: what SQS says a queue holds. */
export const held = (depth: QueueDepth) => depth.visible + depth.inFlight;

export type DepthRead = QueueDepth | { readonly error: string };

export async function dlqDepths(target: Pick<Target, 'sqs'>, refs: readonly DlqRef[]): Promise<Map<string, DepthRead>> {
  const entries = await Promise.all(
    refs.map(async (ref): Promise<[string, DepthRead]> => {
      try {
        return [ref.label, await queueDepth(target.sqs(ref.region), ref.url)];
      } catch (error) {
        return [ref.label, { error: `${(error as Error).name}: ${(error as Error).message}` }];
      }
    }),
  );
  return new Map(entries);
}

/** A smoke request of this run found in a DLQ (and deleted from it). */
export interface DeadLetteredSmoke {
  readonly queue: string;
  readonly requestId: string;
  readonly reason?: string;
  readonly receiveCount?: number;
  readonly deleted: boolean;
}

export interface DlqRead {
  readonly queue: string;
  readonly read: number;
  /** Messages of others this read could not make visible again (hidden until their visibility ends). */
  readonly stillHidden: number;
  /** The read was cut by its time bound before the queue had nothing new to give. */
  readonly partial?: boolean;
  readonly error?: string;
}

async function searchOne(client: SQSClient, ref: DlqRef, requestIds: ReadonlySet<string>, signal: AbortSignal | undefined, found: DeadLetteredSmoke[]): Promise<DlqRead> {
  // The DLQ kind only labels the message; this read keeps the queue's own label.
  const reader = new QueueReader(client, ref.url, { ...READ_DEFAULTS, visibilitySeconds: 30, ...(signal ? { signal } : {}) });
  let error: string | undefined;
  try {
    for await (const batch of reader.batches()) {
      for (const raw of batch) {
        const message = readDlqMessage('dispatch', raw);
        if (!message.requestId || !requestIds.has(message.requestId)) continue;
        let deleted = true;
        try {
          await client.send(new DeleteMessageCommand({ QueueUrl: ref.url, ReceiptHandle: reader.receiptHandle(message.messageId) }));
          reader.forget(message.messageId);
        } catch {
          deleted = false;
        }
        found.push({
          queue: ref.label,
          requestId: message.requestId,
          ...(message.reason ? { reason: message.reason } : {}),
          ...(message.receiveCount ? { receiveCount: message.receiveCount } : {}),
          deleted,
        });
      }
    }
  } catch (e) {
    error = `${(e as Error).name}: ${(e as Error).message}`;
  }
  const stillHidden = (await reader.release()).length;
  return { queue: ref.label, read: reader.read, stillHidden, ...(signal?.aborted ? { partial: true } : {}), ...(error ? { error } : {}) };
}

/** Reads every DLQ for this run's request ids; `signal` cuts the reads short (a partial read says so). */
export async function searchDlqs(
  target: Pick<Target, 'sqs'>,
  refs: readonly DlqRef[],
  requestIds: ReadonlySet<string>,
  signal?: AbortSignal,
): Promise<{ reads: DlqRead[]; found: DeadLetteredSmoke[] }> {
  const found: DeadLetteredSmoke[] = [];
  const reads = await Promise.all(refs.map((ref) => searchOne(target.sqs(ref.region), ref, requestIds, signal, found)));
  return { reads, found };
}
