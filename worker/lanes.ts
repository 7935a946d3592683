/**
 * Taking work from a region's lanes in priority order (core/lanes.ts): the high lane first, the normal
 * lane after STARVATION_LIMIT high messages in a row, so that neither lane starves the other. For any
 * worker that polls SQS itself; the simulated workers of the local stack use it.
 */
import type { Message } from '@aws-sdk/client-sqs';
import { afterTake, FIRST_TURN, pollOrder, STARVATION_LIMIT, type Lane, type LaneTurn } from '../core/lanes.js';

/** A region's lanes: the normal queue, and its high-priority lane where it has one. */
export interface LaneQueues {
  readonly normal: string;
  readonly high?: string;
}

export interface LaneMessage {
  readonly lane: Lane;
  readonly queueUrl: string;
  readonly message: Message;
}

/** One ReceiveMessage of at most one message; undefined when the queue had none. */
export type ReceiveOne = (queueUrl: string, waitSeconds: number) => Promise<Message | undefined>;

export interface LaneReceiverOptions {
  /** Long-poll wait on the last lane asked, when the first had nothing (default 1 s: a high message waits at most this). */
  readonly idleWaitSeconds?: number;
  readonly starvationLimit?: number;
}

/**
 * One worker's receiver: each next() asks the lanes in this worker's order, the first without waiting,
 * the last with a short long-poll, and returns the first message found with its lane.
 */
export class LaneReceiver {
  private turn: LaneTurn = FIRST_TURN;

  constructor(
    private readonly receive: ReceiveOne,
    private readonly queues: LaneQueues,
    private readonly options: LaneReceiverOptions = {},
  ) {}

  async next(): Promise<LaneMessage | undefined> {
    const lanes: Lane[] = this.queues.high ? pollOrder(this.turn, this.options.starvationLimit ?? STARVATION_LIMIT) : ['normal'];
    for (const [i, lane] of lanes.entries()) {
      const queueUrl = lane === 'high' ? (this.queues.high as string) : this.queues.normal;
      const message = await this.receive(queueUrl, i === lanes.length - 1 ? (this.options.idleWaitSeconds ?? 1) : 0);
      if (message) {
        this.turn = afterTake(this.turn, lane);
        return { lane, queueUrl, message };
      }
    }
    return undefined;
  }
}
