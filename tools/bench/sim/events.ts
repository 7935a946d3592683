/**
 * The future events of an event-driven simulation: a binary min-heap on time, first in first out among
 * equal times (so a run replays exactly). Each event is an action to run at its time.
 */
export interface TimedAction {
  readonly time: number;
  readonly run: () => void;
}

interface Entry extends TimedAction {
  readonly seq: number;
}

const before = (a: Entry, b: Entry) => a.time < b.time || (a.time === b.time && a.seq < b.seq);

export class EventQueue {
  private readonly heap: Entry[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  /** Time of the next event; +Infinity when none. */
  nextTime(): number {
    return this.heap.length ? (this.heap[0] as Entry).time : Number.POSITIVE_INFINITY;
  }

  at(time: number, run: () => void): void {
    if (!Number.isFinite(time)) throw new Error(`event time must be finite, got ${time}`);
    const a = this.heap;
    const entry: Entry = { time, run, seq: this.seq++ };
    let i = a.length;
    a.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, a[parent] as Entry)) break;
      a[i] = a[parent] as Entry;
      i = parent;
    }
    a[i] = entry;
  }

  /** Removes and returns the next event; undefined when none. */
  pop(): TimedAction | undefined {
    const a = this.heap;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined) return undefined;
    if (a.length) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const r = l + 1;
        const c = r < a.length && before(a[r] as Entry, a[l] as Entry) ? r : l;
        if (!before(a[c] as Entry, last)) break;
        a[i] = a[c] as Entry;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }

  /** Runs every event due at or before `time`, in order (events they schedule included). */
  runUntil(time: number): void {
    while (this.heap.length && (this.heap[0] as Entry).time <= time) (this.pop() as TimedAction).run();
  }
}
