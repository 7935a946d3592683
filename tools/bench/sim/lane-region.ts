/**
 * One simulated region: its queues (a high and a normal lane; without lanes everything travels in the
 * normal lane, one FIFO) and its workers, event by event. Each worker takes one message at a time and,
 * when it frees up, polls the lanes in the order core/lanes.ts gives it (pollOrder), taking from the
 * other lane when the first is empty, and keeps its turn state with afterTake: the shipped lane logic,
 * not a copy. The number of workers can change mid-run: added workers start polling at once; removed
 * ones stop at once when idle, else finish their current request and stop (idle ones go first).
 *
 * Stealing (optional, `stealing`): a worker whose own lanes are empty does what worker/stealing.ts does
 * (tools/bench/sim/steal-sim.ts decides where from, with core/stealing.ts chooseSteal): it receives again
 * from the lane it last stole from, if any; else, when its last reading is at least `checkEverySeconds`
 * old, it reads the other regions and receives one message from the lane chosen. Each reading and each
 * receive takes `receiveSeconds`; a stolen message starts `startupSeconds` after it is received (the
 * worker busy meanwhile) and counts in the other region's queue (received, then ended) as SQS would. A
 * worker that found nothing goes idle: an own message wakes it at once (its long polls), and at the end
 * of each idle poll (`idlePollSeconds`) it tries to steal again. With otherHighFirst or fleetlessFirst
 * (`beforeOwnNormal`), each free moment after its own high lane takes from the lane its last reading
 * chose (a reading when due, busy or idle), until that lane is empty. Without `stealing`, nothing changes.
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
  /** Called when a worker starts a message (at `time`, taken from `lane`); `stolen` when taken from another region. */
  readonly onStart?: (message: RegionMessage, time: number, stolen?: boolean) => void;
  /** Work stealing by this region's workers; undefined: none. */
  readonly stealing?: RegionStealing;
}

/** Where a worker steals from: a region (index in the list the context knows) and its lane. */
export interface StealTarget {
  readonly region: number;
  readonly lane: Lane;
}

/** What a region's workers need to steal: the other regions, and a reading with a choice (steal-sim.ts). */
export interface RegionStealing {
  /** The regions, this one included (late-bound: they are built after their options). */
  readonly regions: () => readonly LaneRegion[];
  /** A reading of the other regions made at `now` by a worker of this region, and the choice made from it. */
  readonly choose: (now: number) => StealTarget | undefined;
  readonly receiveSeconds: number;
  readonly startupSeconds: number;
  readonly checkEverySeconds: number;
  readonly idlePollSeconds: number;
  /** No steal attempt after this time (the simulation must end when a backlog can never be reached). */
  readonly untilSeconds: number;
  /**
   * otherHighFirst / fleetlessFirst (core/stealing.ts chooseBeforeOwnNormal), from a reading made at
   * `now`: where to take from after the own high lane and before the own normal lane. Undefined: neither on.
   */
  readonly beforeOwnNormal?: (now: number) => StealTarget | undefined;
}

interface Worker {
  turn: LaneTurn;
  busy: boolean;
  /** When its current message ends (meaningful while busy). */
  busyUntil: number;
  /** Removed from the fleet: finishes its current message, takes no other. */
  stopping: boolean;
  /** Bumped each time the worker goes idle (an idle entry of an older epoch is stale). */
  idleEpoch: number;
  /** Stealing: when the worker last read the other regions, and the lane it last stole from. */
  lastReading: number;
  current?: StealTarget;
  /** From the last reading: the lane taken before the own normal one, and the idle choice not used yet. */
  prior?: StealTarget | undefined;
  idleChoice?: StealTarget | undefined;
}

interface IdleEntry {
  readonly worker: Worker;
  readonly epoch: number;
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
  /** Idle workers, longest idle first (entries of workers no longer idle in that epoch are skipped). */
  private readonly idle = new Fifo<IdleEntry>();
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
    const worker = this.shiftIdle();
    if (worker) this.poll(worker, now);
  }

  /** A thief's receive: the oldest message of `lane`, now in flight here (undefined when the lane is empty). */
  takeForThief(lane: Lane, now: number): RegionMessage | undefined {
    const message = this.queues[lane].shift();
    if (message) this.log.record(now, message.lane, 'start');
    return message;
  }

  /** A stolen message ends: it leaves this region's in-flight count. */
  endForThief(message: RegionMessage, now: number): void {
    this.log.record(now, message.lane, 'end');
  }

  /** The longest idle worker, its entry taken off the idle list; undefined when none is idle. */
  private shiftIdle(): Worker | undefined {
    for (;;) {
      const entry = this.idle.shift();
      if (!entry) return undefined;
      if (entry.worker.idleEpoch === entry.epoch) {
        entry.worker.idleEpoch++;
        return entry.worker;
      }
    }
  }

  private goIdle(worker: Worker, now: number): void {
    worker.busy = false;
    const epoch = worker.idleEpoch;
    this.idle.push({ worker, epoch });
    const stealing = this.options.stealing;
    if (!stealing) return;
    // The end of the idle poll: still idle (same epoch) and in the fleet, it tries to steal again.
    const wake = now + stealing.idlePollSeconds;
    if (wake > stealing.untilSeconds) return;
    this.options.events.at(wake, () => {
      if (worker.idleEpoch !== epoch || !this.workers.has(worker)) return;
      worker.idleEpoch++;
      worker.busy = true;
      this.steal(worker, wake);
    });
  }

  /** Brings the fleet to `count` workers at `now`. */
  setWorkers(count: number, now: number): void {
    if (!(Number.isInteger(count) && count >= 0)) throw new Error(`workers must be a whole number >= 0, got ${count}`);
    const active = [...this.workers].filter((w) => !w.stopping);
    for (let n = active.length; n < count; n++) {
      const worker: Worker = { turn: FIRST_TURN, busy: false, busyUntil: now, stopping: false, idleEpoch: 0, lastReading: Number.NEGATIVE_INFINITY };
      this.workers.add(worker);
      this.poll(worker, now);
    }
    let remove = active.length - count;
    for (let worker = remove > 0 ? this.shiftIdle() : undefined; worker; worker = remove > 0 ? this.shiftIdle() : undefined) {
      this.workers.delete(worker);
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
    const s = this.options.stealing;
    // worker/stealing.ts beforeOwnNormal: a reading when due (busy or idle), then, the own high lane
    // empty, the lane it chose until that comes back empty.
    if (s?.beforeOwnNormal && !this.queues.high.length && now <= s.untilSeconds) {
      const fresh = this.readWhenDue(worker, now);
      const target = worker.prior;
      if (target) {
        const at = now + (fresh ? 2 : 1) * s.receiveSeconds;
        worker.busy = true;
        this.receiveAt(worker, target, at, () => {
          worker.prior = undefined;
          this.backToOwn(worker, at);
        });
        return;
      }
    }
    for (const lane of pollOrder(worker.turn, this.limit)) {
      const message = this.queues[lane].shift();
      if (!message) continue;
      worker.turn = afterTake(worker.turn, lane);
      this.start(worker, message, now);
      return;
    }
    const stealing = this.options.stealing;
    if (stealing && now <= stealing.untilSeconds) {
      worker.busy = true;
      this.steal(worker, now);
      return;
    }
    this.goIdle(worker, now);
  }

  /** worker/stealing.ts steal(): the lane that gave last, else a fresh reading when due; busy meanwhile. */
  private steal(worker: Worker, now: number): void {
    const s = this.options.stealing as RegionStealing;
    const current = worker.current;
    if (current) {
      const at = now + s.receiveSeconds;
      this.receiveAt(worker, current, at, () => {
        worker.current = undefined;
        this.readAndSteal(worker, at);
      });
      return;
    }
    this.readAndSteal(worker, now);
  }

  /** worker/stealing.ts readWhenDue: a reading when the last is checkEverySeconds old, both choices made from it. */
  private readWhenDue(worker: Worker, now: number): boolean {
    const s = this.options.stealing as RegionStealing;
    if (now - worker.lastReading < s.checkEverySeconds) return false;
    worker.lastReading = now;
    worker.prior = s.beforeOwnNormal?.(now);
    worker.idleChoice = s.choose(now);
    return true;
  }

  private readAndSteal(worker: Worker, now: number): void {
    const s = this.options.stealing as RegionStealing;
    const fresh = this.readWhenDue(worker, now);
    const choice = worker.idleChoice;
    worker.idleChoice = undefined;
    if (!fresh && !choice) {
      this.backToOwn(worker, now);
      return;
    }
    // The reading's round trip (when one was made now), then (with a choice) the receive's.
    const read = fresh ? now + s.receiveSeconds : now;
    if (!choice) {
      this.options.events.at(read, () => {
        if (!this.stopIfRemoved(worker)) this.backToOwn(worker, read);
      });
      return;
    }
    const at = read + s.receiveSeconds;
    this.receiveAt(
      worker,
      choice,
      at,
      () => this.backToOwn(worker, at),
      () => (worker.current = choice),
    );
  }

  /** A receive from `target` answered at `at` (the worker busy meanwhile): a message started there (`taken`), else `empty`. */
  private receiveAt(worker: Worker, target: StealTarget, at: number, empty: () => void, taken: () => void = () => undefined): void {
    this.options.events.at(at, () => {
      if (this.stopIfRemoved(worker)) return;
      if (this.receiveStolen(worker, target, at)) taken();
      else empty();
    });
  }

  /** Nothing stolen: its own lanes again (a message may have come meanwhile), else idle. */
  private backToOwn(worker: Worker, now: number): void {
    for (const lane of pollOrder(worker.turn, this.limit)) {
      const message = this.queues[lane].shift();
      if (!message) continue;
      worker.turn = afterTake(worker.turn, lane);
      this.start(worker, message, now);
      return;
    }
    this.goIdle(worker, now);
  }

  /** A worker removed while it was stealing stops instead of receiving. */
  private stopIfRemoved(worker: Worker): boolean {
    if (!worker.stopping) return false;
    this.workers.delete(worker);
    return true;
  }

  private receiveStolen(worker: Worker, target: StealTarget, now: number): boolean {
    const s = this.options.stealing as RegionStealing;
    const victim = s.regions()[target.region];
    const message = victim?.takeForThief(target.lane, now);
    if (!victim || !message) return false;
    const begin = now + s.startupSeconds;
    const end = begin + message.size * this.options.meanServiceSeconds;
    worker.busy = true;
    worker.busyUntil = end;
    this.options.events.at(end, () => {
      victim.endForThief(message, end);
      worker.busy = false;
      if (worker.stopping) {
        this.workers.delete(worker);
        return;
      }
      this.poll(worker, end);
    });
    this.options.onStart?.(message, begin, true);
    return true;
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
