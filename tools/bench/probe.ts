/** Measuring helpers for the end-to-end bench: a memory sampler and a drain that counts by request_id. */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';

export interface MemoryPeak {
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly samples: number;
}

/** Samples process.memoryUsage() every `everyMs` until stopped; returns the peaks. */
export function sampleMemory(everyMs = 100): { stop(): MemoryPeak } {
  let rss = 0;
  let heap = 0;
  let samples = 0;
  const take = () => {
    const m = process.memoryUsage();
    rss = Math.max(rss, m.rss);
    heap = Math.max(heap, m.heapUsed);
    samples++;
  };
  take();
  const timer = setInterval(take, everyMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      take();
      return { rssBytes: rss, heapUsedBytes: heap, samples };
    },
  };
}

/**
 * Receives and deletes everything in a queue; counts each body's request_id (or "(unreadable)") and hands
 * each message to `onMessage` with it (the SentTimestamp system attribute is requested).
 * Stops after two empty receives in a row: the local SQS answers exactly, the second is a safeguard.
 */
export async function drainByRequestId(
  client: SQSClient,
  queueUrl: string,
  counts: Map<string, number>,
  onMessage?: (requestId: string, message: Message) => void,
): Promise<number> {
  let drained = 0;
  let empty = 0;
  while (empty < 2) {
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageSystemAttributeNames: ['SentTimestamp'] }),
    );
    if (!Messages.length) {
      empty++;
      continue;
    }
    empty = 0;
    for (const message of Messages) {
      let id = '(unreadable)';
      try {
        id = String((JSON.parse(message.Body ?? '') as { request_id?: unknown }).request_id);
      } catch {
        // counted as unreadable
      }
      counts.set(id, (counts.get(id) ?? 0) + 1);
      onMessage?.(id, message);
    }
    await client.send(
      new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }),
    );
    drained += Messages.length;
  }
  return drained;
}

export const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
