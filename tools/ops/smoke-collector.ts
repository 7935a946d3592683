/**
 * The smoke command's reader of the regional queues: several long polls per queue, side by side with
 * the workers. A copy marked with this run (core/smoke.ts) is deleted and kept as found; any other
 * message (real traffic, another run's smoke copy) is made visible again at once. Every receive counts
 * towards a message's maxReceiveCount, so the reader runs only while copies are awaited.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { MESSAGE_ATTRIBUTE } from '../../core/record.js';
import { SMOKE_ATTRIBUTE } from '../../core/smoke.js';

export interface CollectedQueue {
  readonly region: string;
  readonly lane: 'normal' | 'high';
  readonly queueUrl: string;
  readonly client: SQSClient;
}

/** A copy of this run, taken from a regional queue and deleted there. */
export interface SmokeCopy {
  readonly region: string;
  readonly lane: 'normal' | 'high';
  readonly requestId: string;
  readonly token?: string;
  readonly sqsMessageId: string;
  /** How many times SQS handed it out, this receive included (more than 1: a worker handed it back). */
  readonly receiveCount: number;
  /** False when the delete failed: the copy comes back after its visibility timeout. */
  readonly deleted: boolean;
  readonly deleteError?: string;
}

export interface CollectorOptions {
  readonly runId: string;
  /** Long polls running at once on each queue. Default 3: more than a worker's share of the receives. */
  readonly pollersPerQueue?: number;
  /** Long-poll wait, whole seconds (stop() waits for the polls in flight). Default 1. */
  readonly waitSeconds?: number;
  /** How long a received message stays hidden before it is deleted or handed back. Default 30. */
  readonly visibilitySeconds?: number;
  readonly onCopy?: (copy: SmokeCopy) => void;
  /** A receive or hand-back that failed (the poller pauses and goes on). */
  readonly onError?: (queue: CollectedQueue, error: unknown) => void;
}

export interface Collector {
  readonly copies: readonly SmokeCopy[];
  /** Other messages received and handed back (real traffic, other runs). */
  readonly others: () => number;
  stop(): Promise<void>;
}

const describe = (error: unknown) => `${(error as Error)?.name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`;

async function handBack(queue: CollectedQueue, messages: readonly Message[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    const chunk = messages.slice(i, i + 10);
    await queue.client.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queue.queueUrl,
        Entries: chunk.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle as string, VisibilityTimeout: 0 })),
      }),
    );
  }
}

export function startCollector(queues: readonly CollectedQueue[], options: CollectorOptions): Collector {
  const copies: SmokeCopy[] = [];
  let others = 0;
  let stopping = false;
  const pause = () => new Promise((resolve) => setTimeout(resolve, 200));

  const take = async (queue: CollectedQueue, message: Message): Promise<void> => {
    const attribute = (name: string) => message.MessageAttributes?.[name]?.StringValue;
    const base = {
      region: queue.region,
      lane: queue.lane,
      requestId: attribute(MESSAGE_ATTRIBUTE.requestId) ?? '',
      ...(attribute(MESSAGE_ATTRIBUTE.dispatchToken) ? { token: attribute(MESSAGE_ATTRIBUTE.dispatchToken) as string } : {}),
      sqsMessageId: message.MessageId ?? '',
      receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 1),
    };
    let copy: SmokeCopy;
    try {
      await queue.client.send(new DeleteMessageCommand({ QueueUrl: queue.queueUrl, ReceiptHandle: message.ReceiptHandle }));
      copy = { ...base, deleted: true };
    } catch (error) {
      copy = { ...base, deleted: false, deleteError: describe(error) };
    }
    copies.push(copy);
    options.onCopy?.(copy);
  };

  const poll = async (queue: CollectedQueue): Promise<void> => {
    while (!stopping) {
      let messages: Message[];
      try {
        const answer = await queue.client.send(
          new ReceiveMessageCommand({
            QueueUrl: queue.queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: options.waitSeconds ?? 1,
            VisibilityTimeout: options.visibilitySeconds ?? 30,
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          }),
        );
        messages = (answer.Messages ?? []).filter((m) => m.ReceiptHandle);
      } catch (error) {
        options.onError?.(queue, error);
        await pause();
        continue;
      }
      const ours = messages.filter((m) => m.MessageAttributes?.[SMOKE_ATTRIBUTE]?.StringValue === options.runId);
      const rest = messages.filter((m) => !ours.includes(m));
      others += rest.length;
      try {
        await Promise.all([handBack(queue, rest), ...ours.map((m) => take(queue, m))]);
      } catch (error) {
        // Not handed back: those come back after the short visibility above.
        options.onError?.(queue, error);
      }
    }
  };

  const running = queues.flatMap((queue) => Array.from({ length: options.pollersPerQueue ?? 3 }, () => poll(queue)));
  return {
    copies,
    others: () => others,
    async stop() {
      stopping = true;
      await Promise.all(running);
    },
  };
}
