/**
 * The smoke command's reader of the regional queues: several long polls per queue, side by side with
 * the workers. A copy marked with this run (core/smoke.ts) is deleted and kept as found. Any other
 * message (real traffic, another run's smoke copy) is held, hidden, until the reader stops, and then
 * made visible again at once: every receive counts towards a message's maxReceiveCount, so each is
 * received once by this run, never again and again (handed back at once, the next poll would receive it
 * again, and after three such receives the queue would move it to its DLQ). What it costs: a message of
 * others waits for the run to end (seconds), one receive more. The reader runs only while copies are
 * awaited.
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
  /**
   * How long a message of others stays hidden if this reader never releases it (it dies): longer than
   * the run. Released at stop() in any case. Default 120.
   */
  readonly holdSeconds?: number;
  readonly onCopy?: (copy: SmokeCopy) => void;
  /** A receive or hand-back that failed (the poller pauses and goes on). */
  readonly onError?: (queue: CollectedQueue, error: unknown) => void;
}

export interface Collector {
  readonly copies: readonly SmokeCopy[];
  /** Other messages received, held and handed back at stop (real traffic, other runs). */
  readonly others: () => number;
  /** Stops the polls and makes every message of others visible again; returns how many could not be. */
  stop(): Promise<number>;
}

const describe = (error: unknown) => `${(error as Error)?.name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`;

/** Makes messages visible again at once; returns how many could not be (they come back after their hold). */
async function handBack(queue: CollectedQueue, handles: readonly string[]): Promise<number> {
  let failed = 0;
  for (let i = 0; i < handles.length; i += 10) {
    const chunk = handles.slice(i, i + 10);
    try {
      const answer = await queue.client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queue.queueUrl,
          Entries: chunk.map((handle, j) => ({ Id: String(j), ReceiptHandle: handle, VisibilityTimeout: 0 })),
        }),
      );
      failed += answer.Failed?.length ?? 0;
    } catch {
      failed += chunk.length;
    }
  }
  return failed;
}

export function startCollector(queues: readonly CollectedQueue[], options: CollectorOptions): Collector {
  const copies: SmokeCopy[] = [];
  let others = 0;
  /** Messages of others held by this reader, per queue: receipt handles to release at stop. */
  const held = new Map<CollectedQueue, string[]>(queues.map((q) => [q, []]));
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
            VisibilityTimeout: options.holdSeconds ?? 120,
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
      held.get(queue)?.push(...rest.map((m) => m.ReceiptHandle as string));
      await Promise.all(ours.map((m) => take(queue, m)));
    }
  };

  const running = queues.flatMap((queue) => Array.from({ length: options.pollersPerQueue ?? 3 }, () => poll(queue)));
  return {
    copies,
    others: () => others,
    async stop() {
      stopping = true;
      await Promise.all(running);
      const failed = await Promise.all([...held].map(([queue, handles]) => handBack(queue, handles)));
      return failed.reduce((n, f) => n + f, 0);
    },
  };
}
