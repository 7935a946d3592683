/**
 * What SQS's approximate counts of one region's queues would show, per lane, at any past time: every
 * change (a message enqueued, started by a worker, ended) is logged as it happens, and a reader walks the
 * log forward to the time it is asked about (readings trail the queues by SQS's lag, and the time
 * asked about only moves forward).
 */
import type { Lane } from '../../../core/lanes.js';

export interface LaneCounts {
  /** ApproximateNumberOfMessages: waiting for a worker. */
  readonly visible: number;
  /** ApproximateNumberOfMessagesNotVisible: being processed. */
  readonly inFlight: number;
}

export type RegionCounts = Readonly<Record<Lane, LaneCounts>>;

export type CountChange = 'enqueue' | 'start' | 'end';

const CODE: Record<Lane, Record<CountChange, number>> = {
  high: { enqueue: 0, start: 1, end: 2 },
  normal: { enqueue: 3, start: 4, end: 5 },
};

export class CountLog {
  private readonly times: number[] = [];
  private readonly codes: number[] = [];

  /** Times must not go backwards (the simulation logs in time order). */
  record(time: number, lane: Lane, change: CountChange): void {
    const last = this.times.at(-1);
    if (last !== undefined && time < last) throw new Error(`count log went backwards: ${time} after ${last}`);
    this.times.push(time);
    this.codes.push(CODE[lane][change]);
  }

  reader(): CountReader {
    return new CountReader(this.times, this.codes);
  }
}

export class CountReader {
  private cursor = 0;
  private lastAsked = Number.NEGATIVE_INFINITY;
  /** Per code: how many of the logged changes up to the time asked. */
  private readonly seen = [0, 0, 0, 0, 0, 0];

  constructor(
    private readonly times: readonly number[],
    private readonly codes: readonly number[],
  ) {}

  /** The counts as they were at `time` (never earlier than a previous call). */
  at(time: number): RegionCounts {
    if (time < this.lastAsked) throw new Error(`counts asked at ${time} after ${this.lastAsked}`);
    this.lastAsked = time;
    while (this.cursor < this.times.length && (this.times[this.cursor] as number) <= time) {
      const code = this.codes[this.cursor] as number;
      this.seen[code] = (this.seen[code] as number) + 1;
      this.cursor++;
    }
    const [he, hs, hd, ne, ns, nd] = this.seen as [number, number, number, number, number, number];
    return { high: { visible: he - hs, inFlight: hs - hd }, normal: { visible: ne - ns, inFlight: ns - nd } };
  }
}
