/**
 * Reading a queue without consuming it: each receive hides what it returns for a short visibility
 * timeout (so the next receive brings other messages), and at the end everything still held is made
 * visible again at once (ChangeMessageVisibilityBatch to 0), so nothing stays held. The read ends at an
 * empty receive, or after a few receives in a row that bring no message id not seen before.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';

export interface QueueDepth {
  /** SQS's ApproximateNumberOfMessages. */
  readonly visible: number;
  /** SQS's ApproximateNumberOfMessagesNotVisible (in flight: held by someone's receive). */
  readonly inFlight: number;
}

export async function queueDepth(client: SQSClient, queueUrl: string): Promise<QueueDepth> {
  const { Attributes: a = {} } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return { visible: Number(a.ApproximateNumberOfMessages ?? 0), inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) };
}

/** A region's lanes read together (core/lanes.ts): the normal queue plus its high lane where there is one. */
export async function lanesDepth(client: SQSClient, queueUrl: string, highQueueUrl?: string): Promise<QueueDepth> {
  const [normal, high] = await Promise.all([queueDepth(client, queueUrl), highQueueUrl ? queueDepth(client, highQueueUrl) : undefined]);
  return { visible: normal.visible + (high?.visible ?? 0), inFlight: normal.inFlight + (high?.inFlight ?? 0) };
}

export interface ReaderOptions {
  /** How long a received message stays hidden while this run holds it (seconds). */
  readonly visibilitySeconds: number;
  /** Long-poll time of each receive (0: short poll). On AWS a short poll samples servers: keep >= 1. */
  readonly waitSeconds: number;
  /** Receives in a row that bring no new message id before the read ends. */
  readonly idleReceives?: number;
  readonly signal?: AbortSignal;
}

export const READ_DEFAULTS = { visibilitySeconds: 60, waitSeconds: 1, idleReceives: 3 } as const;

export class QueueReader {
  /** messageId -> receipt handle of its latest receive: what is hidden by this run now. */
  private readonly held = new Map<string, string>();
  private readonly seen = new Set<string>();

  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    private readonly options: ReaderOptions = READ_DEFAULTS,
  ) {}

  /** Distinct messages read so far. */
  get read(): number {
    return this.seen.size;
  }

  /** Batches of messages not seen before, until the queue has nothing new to give. */
  async *batches(): AsyncGenerator<Message[]> {
    let idle = 0;
    while (!this.options.signal?.aborted) {
      const { Messages = [] } = await this.client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.queueUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: this.options.visibilitySeconds,
          WaitTimeSeconds: this.options.waitSeconds,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
        }),
      );
      if (!Messages.length) return;
      const fresh: Message[] = [];
      for (const message of Messages) {
        if (!message.MessageId || !message.ReceiptHandle) continue;
        // Every message received is hidden now, seen before or not: held until released or deleted.
        this.held.set(message.MessageId, message.ReceiptHandle);
        if (this.seen.has(message.MessageId)) continue;
        this.seen.add(message.MessageId);
        fresh.push(message);
      }
      if (!fresh.length) {
        if (++idle >= (this.options.idleReceives ?? READ_DEFAULTS.idleReceives)) return;
        continue;
      }
      idle = 0;
      yield fresh;
    }
  }

  /** The receipt handle of the latest receive of this message. */
  receiptHandle(messageId: string): string | undefined {
    return this.held.get(messageId);
  }

  /** The message was deleted: nothing to release. */
  forget(messageId: string): void {
    this.held.delete(messageId);
  }

  /**
   * Makes messages visible again at once (default: every one still held). Returns the ids that could
   * not be released: they stay hidden until their visibility timeout ends.
   */
  async release(messageIds: readonly string[] = [...this.held.keys()]): Promise<string[]> {
    const entries = messageIds.flatMap((id) => {
      const handle = this.held.get(id);
      return handle ? [{ id, handle }] : [];
    });
    const failed: string[] = [];
    for (let i = 0; i < entries.length; i += 10) {
      const chunk = entries.slice(i, i + 10);
      try {
        const result = await this.client.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.queueUrl,
            Entries: chunk.map((e, j) => ({ Id: String(j), ReceiptHandle: e.handle, VisibilityTimeout: 0 })),
          }),
        );
        for (const f of result.Failed ?? []) {
          const entry = chunk[Number(f.Id)];
          if (entry) failed.push(entry.id);
        }
      } catch {
        failed.push(...chunk.map((e) => e.id));
      }
      for (const e of chunk) this.held.delete(e.id);
    }
    return failed;
  }
}
