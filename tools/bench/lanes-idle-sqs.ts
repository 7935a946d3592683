/**
 * SQS's receive semantics in virtual time, for driving worker/lanes.ts LaneReceiver (the shipped class)
 * through hours of idle long polls in a moment (`npm run bench:lanes:idle`, test/worker/lanes-idle.test.ts).
 *
 * A receive of wait 0 answers at once, with a visible message or none. A receive of wait w > 0 answers at
 * once when a message is visible, else with the first message sent while it waits (receives waiting on one
 * queue are served in the order they started), else empty after w seconds. A received message is
 * invisible until deleted or handed back (visibility 0), as in SQS; each receive counts toward the
 * message's receive count. Requests take no time: the waits measured are the receiver's own schedule.
 * Not modelled: SQS's sampling of servers by a short poll (a receive of wait 0 on a queue of few
 * messages may answer empty although one is there), network round trips, errors.
 */
import type { Message } from '@aws-sdk/client-sqs';
import type { LaneClock, ReceiveOne } from '../../worker/lanes.js';

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly fire: () => void;
  cancelled: boolean;
}

/** A virtual clock in milliseconds: timers fire in order once every pending promise has settled. */
export class VirtualClock implements LaneClock {
  private t = 0;
  private seq = 0;
  private timers: Timer[] = [];

  now(): number {
    return this.t;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.at(this.t + Math.max(0, ms), resolve));
  }

  /** Runs `fire` at virtual time `at` (ms); returns a cancel function. */
  at(at: number, fire: () => void): () => void {
    const timer: Timer = { at: Math.max(at, this.t), seq: this.seq++, fire, cancelled: false };
    // Few timers at once (a receiver's polls and rests, the next arrival): a sorted insert is enough.
    let i = this.timers.length;
    while (i > 0 && (this.timers[i - 1] as Timer).at > timer.at) i--;
    this.timers.splice(i, 0, timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** Advances to `until` (ms), firing every timer due on the way, each after all promises have settled. */
  async run(until: number): Promise<void> {
    for (;;) {
      await settle();
      this.timers = this.timers.filter((timer) => !timer.cancelled);
      const next = this.timers[0];
      if (!next || next.at > until) break;
      this.timers.shift();
      this.t = next.at;
      next.fire();
    }
    this.t = Math.max(this.t, until);
    await settle();
  }
}

/** Lets every queued promise reaction run (a macrotask runs after the whole microtask queue). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Waiter {
  readonly resolve: (message: Message | undefined) => void;
  cancel: () => void;
}

interface Queue {
  readonly visible: Message[];
  readonly waiters: Waiter[];
  readonly receiveCounts: Map<string, number>;
  receives: number;
}

/** Queues with SQS's receive semantics on a VirtualClock. */
export class SimulatedSqs {
  private readonly queues = new Map<string, Queue>();
  private ids = 0;
  /** Every receive, in order: queue, virtual ms, wait asked. */
  readonly log: { queueUrl: string; at: number; waitSeconds: number }[] = [];

  constructor(readonly clock: VirtualClock) {}

  private queue(url: string): Queue {
    let queue = this.queues.get(url);
    if (!queue) this.queues.set(url, (queue = { visible: [], waiters: [], receiveCounts: new Map(), receives: 0 }));
    return queue;
  }

  private deliver(queue: Queue, message: Message): Message {
    const id = message.MessageId as string;
    const count = (queue.receiveCounts.get(id) ?? 0) + 1;
    queue.receiveCounts.set(id, count);
    return { ...message, ReceiptHandle: `${id}#${count}`, Attributes: { ApproximateReceiveCount: String(count) } };
  }

  /** ReceiveMessage of at most one message. */
  readonly receive: ReceiveOne = (queueUrl, waitSeconds) => {
    const queue = this.queue(queueUrl);
    queue.receives += 1;
    this.log.push({ queueUrl, at: this.clock.now(), waitSeconds });
    const message = queue.visible.shift();
    if (message) return Promise.resolve(this.deliver(queue, message));
    if (waitSeconds <= 0) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiter: Waiter = { resolve, cancel: () => undefined };
      waiter.cancel = this.clock.at(this.clock.now() + waitSeconds * 1000, () => {
        queue.waiters.splice(queue.waiters.indexOf(waiter), 1);
        resolve(undefined);
      });
      queue.waiters.push(waiter);
    });
  };

  /** SendMessage now; returns the message id. */
  send(queueUrl: string, body: string): string {
    const queue = this.queue(queueUrl);
    const message: Message = { MessageId: `m${++this.ids}`, Body: body };
    this.makeVisible(queue, message);
    return message.MessageId as string;
  }

  private makeVisible(queue: Queue, message: Message): void {
    const waiter = queue.waiters.shift();
    if (!waiter) {
      queue.visible.push(message);
      return;
    }
    waiter.cancel();
    waiter.resolve(this.deliver(queue, message));
  }

  /** ChangeMessageVisibility 0: the received message is visible again at once. */
  handBack(queueUrl: string, message: Message): void {
    const { MessageId, Body } = message;
    this.makeVisible(this.queue(queueUrl), { MessageId: MessageId as string, Body: Body as string });
  }

  /** Receives made on a queue so far. */
  receives(queueUrl: string): number {
    return this.queues.get(queueUrl)?.receives ?? 0;
  }

  /** Messages visible on a queue now. */
  visible(queueUrl: string): number {
    return this.queues.get(queueUrl)?.visible.length ?? 0;
  }

  /** Times a message was received (its ApproximateReceiveCount). */
  receiveCount(queueUrl: string, messageId: string): number {
    return this.queues.get(queueUrl)?.receiveCounts.get(messageId) ?? 0;
  }
}
