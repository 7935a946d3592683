/**
 * One simulated region: its queues (a high and a normal lane; without lanes everything travels in the
 * normal lane, one FIFO) and its workers, event by event. Each worker takes one message at a time and,
 * when it frees up, polls the lanes in the order core/lanes.ts gives it (pollOrder), taking from the
 * other lane when the first is empty, and keeps its turn state with afterTake: the shipped lane logic,
 * not a copy. The number of workers can change mid-run: added workers start polling at once; removed
 * ones stop at once when idle, else finish their current request and stop (idle ones go first).
 */
import { afterTake, FIRST_TURN, pollOrder, STARVATION_LIMIT, type Lane, type LaneTurn } from '../../../core/lanes.js';
import type { EventQueue } from './events.js';
import { CountLog } from './lane-counts.js';

export interface RegionMessage {
  readonly id: number;
  readonly lane: Lane;
  /** Service time in mean service times (an Exp(1) draw). */
  readonly size: number;
}

export interface LaneRegionOptions {
  readonly workers: number;
  readonly meanServiceSeconds: number;
  /** The workers' guard: high messages in a row before one normal (core/lanes.ts); Infinity: strict priority. */
  readonly starvationLimit?: number;
  readonly events: EventQueue;
  /** Called when a worker starts a message (at `time`, taken from `lane`). */
  readonly onStart?: (message: RegionMessage, time: number) => void;
}

interface Worker {
  turn: LaneTurn;
  busy: boolean;
  /** When its current message ends (meaningful while busy). */
  busyUntil: number;
  /** Removed from the fleet: finishes its current message, takes no other. */
  stopping: boolean;
}

/** A FIFO with O(1) shift. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
  *[Symbol.iterator](): Iterator<T> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i] as T;
  }
}

export class LaneRegion {
  /** Every change of the counts, for the readings (tools/bench/sim/lane-counts.ts). */
  readonly log = new CountLog();
  private readonly queues: Record<Lane, Fifo<RegionMessage>> = { high: new Fifo(), normal: new Fifo() };
  private readonly workers = new Set<Worker>();
  /** Idle workers, longest idle first. */
  private readonly idle = new Fifo<Worker>();
  private readonly limit: number;

  constructor(private readonly options: LaneRegionOptions) {
    this.limit = options.starvationLimit ?? STARVATION_LIMIT;
    this.setWorkers(options.workers, 0);
  }

  /** Workers in the fleet now (those finishing their last message before stopping not counted). */
  get activeWorkers(): number {
    let n = 0;
    for (const w of this.workers) if (!w.stopping) n++;
    return n;
  }

  waiting(lane: Lane): number {
    return this.queues[lane].length;
  }

  enqueue(message: RegionMessage, now: number): void {
    this.log.record(now, message.lane, 'enqueue');
    this.queues[message.lane].push(message);
    // A worker is idle only while both lanes are empty, so it takes this message.
    const worker = this.idle.shift();
    if (worker) this.poll(worker, now);
  }

  /** Brings the fleet to `count` workers at `now`. */
  setWorkers(count: number, now: number): void {
    if (!(Number.isInteger(count) && count >= 0)) throw new Error(`workers must be a whole number >= 0, got ${count}`);
    const active = [...this.workers].filter((w) => !w.stopping);
    for (let n = active.length; n < count; n++) {
      const worker: Worker = { turn: FIRST_TURN, busy: false, busyUntil: now, stopping: false };
      this.workers.add(worker);
      this.poll(worker, now);
    }
    let remove = active.length - count;
    while (remove > 0 && this.idle.length) {
      this.workers.delete(this.idle.shift() as Worker);
      remove--;
    }
    for (let i = active.length - 1; remove > 0 && i >= 0; i--) {
      const worker = active[i] as Worker;
      if (worker.busy && !worker.stopping) {
        worker.stopping = true;
        remove--;
      }
    }
  }

  /**
   * The exact wait of a message enqueued now, and the work ahead per worker (the oracle's tie-breaker),
   * knowing the service times of the work queued and in progress. One lane only (no lanes), FIFO.
   */
  projection(now: number): { wait: number; workPerWorker: number } {
    if (this.queues.high.length) throw new Error('the oracle projects one FIFO lane; this region has messages in its high lane');
    const free: number[] = [];
    for (const w of this.workers) if (!w.stopping) free.push(w.busy ? w.busyUntil : now);
    if (!free.length) return { wait: Number.POSITIVE_INFINITY, workPerWorker: Number.POSITIVE_INFINITY };
    const earliest = () => {
      let k = 0;
      for (let i = 1; i < free.length; i++) if ((free[i] as number) < (free[k] as number)) k = i;
      return k;
    };
    for (const message of this.queues.normal) {
      const k = earliest();
      free[k] = Math.max(now, free[k] as number) + message.size * this.options.meanServiceSeconds;
    }
    let work = 0;
    for (const t of free) work += Math.max(0, t - now);
    return { wait: Math.max(0, (free[earliest()] as number) - now), workPerWorker: work / free.length };
  }

  /** The worker polls its lanes in order and starts the first message it finds; else it goes idle. */
  private poll(worker: Worker, now: number): void {
    for (const lane of pollOrder(worker.turn, this.limit)) {
      const message = this.queues[lane].shift();
      if (!message) continue;
      worker.turn = afterTake(worker.turn, lane);
      this.start(worker, message, now);
      return;
    }
    worker.busy = false;
    this.idle.push(worker);
  }

  private start(worker: Worker, message: RegionMessage, now: number): void {
    this.log.record(now, message.lane, 'start');
    const end = now + message.size * this.options.meanServiceSeconds;
    worker.busy = true;
    worker.busyUntil = end;
    this.options.events.at(end, () => this.finish(worker, message, end));
    this.options.onStart?.(message, now);
  }

  private finish(worker: Worker, message: RegionMessage, now: number): void {
    this.log.record(now, message.lane, 'end');
    worker.busy = false;
    if (worker.stopping) {
      this.workers.delete(worker);
      return;
    }
    this.poll(worker, now);
  }
}
