/**
 * Taking work from a region's lanes in priority order (core/lanes.ts): the high lane first, the normal
 * lane after STARVATION_LIMIT high messages in a row, so that neither lane starves the other. For any
 * worker that polls SQS itself; the simulated workers of the local stack use it.
 *
 * Busy (the last next() returned a message): each next() asks the lanes in this worker's order without
 * waiting, and returns the first message found. Idle (nothing found): both lanes are watched at once,
 * each by one long poll (LANE_RECEIVE): the high lane all the time, 20 s per receive; the normal lane
 * 20 s per receive with a rest of 5 s after each empty one. An idle worker so makes 9 receives per
 * 100 s (236,520 a month, $0.095 at $0.40 per million), and a high message arriving at it is taken at
 * once; a normal one waits at most the rest (5 s). A watch poll still open when next() returns stays
 * open: what it brings is held, and the next next() returns it (before any receive of that lane), in
 * lane order. close() waits for the open polls and gives back what is held, to hand back to SQS.
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

/**
 * The idle receiver's settings, as deployed (the cost model reads them). An idle worker long-polls each
 * lane with `idleWaitSeconds`; after an empty receive a lane rests `idleRestSeconds` before the next.
 * `idleCycle`: the shortest period after which both lanes' idle schedules repeat, and the receives each
 * lane makes in it (a region without a high lane: its normal lane alone, without rest, 1 per 20 s).
 */
export const LANE_RECEIVE = {
  idleWaitSeconds: { high: 20, normal: 20 },
  idleRestSeconds: { high: 0, normal: 5 },
  idleCycle: { seconds: 100, receives: 9, receivesPerLane: { high: 5, normal: 4 } },
} as const;

/** Per lane, or one figure for both. */
export type PerLane = number | Partial<Readonly<Record<Lane, number>>>;

/** Time, injectable so that a simulation can drive the receiver: milliseconds. */
export interface LaneClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const SYSTEM_CLOCK: LaneClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface LaneReceiverOptions {
  /** Long-poll wait of each lane while idle, whole seconds 0..20 (default LANE_RECEIVE.idleWaitSeconds). */
  readonly idleWaitSeconds?: PerLane;
  /** A lane's rest after an empty idle receive, seconds (default LANE_RECEIVE.idleRestSeconds; none without a high lane). */
  readonly idleRestSeconds?: PerLane;
  /**
   * 'watch' (default): as above. 'sequential': the receiver before the watch, for comparison: each next()
   * asks the lanes in order, the first without waiting, the last with its idleWaitSeconds.
   */
  readonly mode?: 'watch' | 'sequential';
  readonly starvationLimit?: number;
  readonly clock?: LaneClock;
}

const perLane = (value: PerLane | undefined, lane: Lane, fallback: number): number =>
  value === undefined ? fallback : typeof value === 'number' ? value : (value[lane] ?? fallback);

/** Receives per second an idle worker makes with these settings (both lanes, or the normal lane alone). */
export function idleReceivesPerSecond(options: Pick<LaneReceiverOptions, 'idleWaitSeconds' | 'idleRestSeconds' | 'mode'> = {}, hasHigh = true): number {
  const wait = (lane: Lane) => perLane(options.idleWaitSeconds, lane, LANE_RECEIVE.idleWaitSeconds[lane]);
  if (options.mode === 'sequential') return hasHigh ? 2 / Math.max(wait('normal'), 0.001) : 1 / Math.max(wait('normal'), 0.001);
  const rest = (lane: Lane) => (hasHigh ? perLane(options.idleRestSeconds, lane, LANE_RECEIVE.idleRestSeconds[lane]) : 0);
  const lanes: Lane[] = hasHigh ? ['high', 'normal'] : ['normal'];
  return lanes.reduce((sum, lane) => sum + 1 / Math.max(wait(lane) + rest(lane), 0.001), 0);
}

/** One worker's receiver (see the header). */
export class LaneReceiver {
  private turn: LaneTurn = FIRST_TURN;
  private idle = false;
  /** Open watch polls, one per lane at most. */
  private readonly pending = new Map<Lane, Promise<void>>();
  /** Messages a watch poll brought after next() had returned: at most one per lane. */
  private readonly held = new Map<Lane, Message>();
  private readonly restUntil = new Map<Lane, number>();
  /** Watch polls that came back empty, ever. */
  private empties = 0;
  private failure: { error: unknown } | undefined;
  private readonly clock: LaneClock;

  constructor(
    private readonly receive: ReceiveOne,
    private readonly queues: LaneQueues,
    private readonly options: LaneReceiverOptions = {},
  ) {
    this.clock = options.clock ?? SYSTEM_CLOCK;
  }

  private order(): Lane[] {
    return this.queues.high ? pollOrder(this.turn, this.options.starvationLimit ?? STARVATION_LIMIT) : ['normal'];
  }

  private urlOf(lane: Lane): string {
    return lane === 'high' ? (this.queues.high as string) : this.queues.normal;
  }

  private wait(lane: Lane): number {
    return perLane(this.options.idleWaitSeconds, lane, LANE_RECEIVE.idleWaitSeconds[lane]);
  }

  private rest(lane: Lane): number {
    return this.queues.high ? perLane(this.options.idleRestSeconds, lane, LANE_RECEIVE.idleRestSeconds[lane]) : 0;
  }

  private take(lane: Lane, message: Message): LaneMessage {
    this.turn = afterTake(this.turn, lane);
    this.idle = false;
    return { lane, queueUrl: this.urlOf(lane), message };
  }

  private takeHeld(lane: Lane): LaneMessage | undefined {
    const message = this.held.get(lane);
    if (!message) return undefined;
    this.held.delete(lane);
    return this.take(lane, message);
  }

  private watch(lane: Lane): void {
    const poll = this.receive(this.urlOf(lane), this.wait(lane)).then(
      (message) => {
        this.pending.delete(lane);
        if (message) this.held.set(lane, message);
        else {
          this.empties += 1;
          const rest = this.rest(lane);
          if (rest > 0) this.restUntil.set(lane, this.clock.now() + rest * 1000);
        }
      },
      (error: unknown) => {
        this.pending.delete(lane);
        this.failure ??= { error };
      },
    );
    this.pending.set(lane, poll);
  }

  private throwFailure(): void {
    const failure = this.failure;
    if (!failure) return;
    this.failure = undefined;
    this.idle = false;
    throw failure.error;
  }

  /**
   * A message without waiting on an open poll: what a watch poll already brought, else one receive
   * without waiting on each lane no poll watches (in lane order); undefined when neither. For a worker
   * that has other work at hand (worker/stealing.ts: a lane that keeps giving): its own lanes stay
   * watched, and are asked first, without the stolen work waiting for an own long poll to end.
   * `lanes`: only those (the high lane, before a steal that comes before the own normal lane).
   */
  async nextNow(lanes?: readonly Lane[]): Promise<LaneMessage | undefined> {
    this.throwFailure();
    for (const lane of this.order()) {
      if (lanes && !lanes.includes(lane)) continue;
      const held = this.takeHeld(lane);
      if (held) return held;
      if (this.pending.has(lane)) continue;
      const message = await this.receive(this.urlOf(lane), 0);
      if (message) return this.take(lane, message);
    }
    return undefined;
  }

  /** The next message with its lane; undefined when an idle long poll came back empty. */
  async next(): Promise<LaneMessage | undefined> {
    if (this.options.mode === 'sequential') return this.nextSequential();
    this.throwFailure();
    const lanes = this.order();
    if (!this.idle) {
      // Busy: as before, in order and without waiting; a lane that a watch poll still watches is left to it.
      const message = await this.nextNow();
      if (message) return message;
    }
    // Idle: every lane watched by a long poll at once (a resting lane from the end of its rest).
    this.idle = true;
    const empties = this.empties;
    for (;;) {
      for (const [i, lane] of lanes.entries()) {
        if (!this.held.has(lane)) continue;
        // A lane before it that no poll watches now (its poll came back before this next()) is asked
        // first, without waiting: a message may have arrived there since.
        for (const before of lanes.slice(0, i)) {
          if (this.pending.has(before)) continue;
          const message = await this.receive(this.urlOf(before), 0);
          if (message) return this.take(before, message);
        }
        return this.takeHeld(lane) as LaneMessage;
      }
      this.throwFailure();
      if (this.empties > empties) return undefined;
      const now = this.clock.now();
      let wake = Number.POSITIVE_INFINITY;
      for (const lane of lanes) {
        if (this.pending.has(lane)) continue;
        const until = this.restUntil.get(lane) ?? 0;
        if (until <= now) this.watch(lane);
        else wake = Math.min(wake, until);
      }
      const waits: Promise<void>[] = [...this.pending.values()];
      if (wake < Number.POSITIVE_INFINITY) waits.push(this.clock.sleep(wake - now));
      await Promise.race(waits);
    }
  }

  /** The receiver before the watch: the lanes in order, the first without waiting, the last with its wait. */
  private async nextSequential(): Promise<LaneMessage | undefined> {
    const lanes = this.order();
    for (const [i, lane] of lanes.entries()) {
      const last = i === lanes.length - 1;
      const message = await this.receive(this.urlOf(lane), last ? perLane(this.options.idleWaitSeconds, lane, 1) : 0);
      if (message) return this.take(lane, message);
    }
    return undefined;
  }

  /**
   * Stops watching: waits for the open polls and returns the messages held (none after this), which
   * the caller hands back (ChangeMessageVisibility 0) or processes. next() must not be called after.
   */
  async close(): Promise<LaneMessage[]> {
    while (this.pending.size) await Promise.all([...this.pending.values()]);
    const held = [...this.held.entries()].map(([lane, message]) => ({ lane, queueUrl: this.urlOf(lane), message }));
    this.held.clear();
    this.failure = undefined;
    return held;
  }
}
