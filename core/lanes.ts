/**
 * Priority lanes. Pure code, no AWS import.
 *
 * Two lanes, end to end: `high` beside `normal` in the master queue and in every region. `low` shares
 * the normal lane (the original system's three priorities only ever ordered a batch; the figures in
 * docs/lanes.md show a separate low lane buys nothing a worker's lane order does not). Workers take the
 * high lane first, with a guard: after STARVATION_LIMIT high messages in a row while the normal lane
 * had work, one normal message is taken, so normal work always gets at least 1 in STARVATION_LIMIT + 1
 * of a busy worker's turns.
 */
import { estimateWorkers, type RegionLoad } from './policy.js';
import type { Priority } from './request.js';

export const LANES = ['high', 'normal'] as const;
export type Lane = (typeof LANES)[number];

/** The lane a request travels in: high in its own, normal and low together. */
export const laneOf = (priority: Priority): Lane => (priority === 'high' ? 'high' : 'normal');

/** High messages a worker takes in a row, while normal ones wait, before it takes one normal message. */
export const STARVATION_LIMIT = 4;

/** A worker's lane state: how many high messages it took in a row. */
export interface LaneTurn {
  readonly highInARow: number;
}

export const FIRST_TURN: LaneTurn = { highInARow: 0 };

/** The lanes to poll, in order, for the worker's next message. */
export function pollOrder(turn: LaneTurn, limit = STARVATION_LIMIT): Lane[] {
  return turn.highInARow >= limit ? ['normal', 'high'] : ['high', 'normal'];
}

/** The worker's state after it took a message from `lane`. */
export function afterTake(turn: LaneTurn, lane: Lane): LaneTurn {
  return { highInARow: lane === 'high' ? turn.highInARow + 1 : 0 };
}

/** The key under which placements in a region's high lane are counted (core/snapshot.ts DispatchedSince). */
export const highLaneKey = (region: string) => `${region}#high`;

/** What a region's high lane holds, per its reading and this container's placements since. */
export interface HighLaneLoad {
  /** Visible and delayed high messages per the reading; undefined when unread. */
  readonly waiting: number | undefined;
  /** High messages this container placed there since the reading. */
  readonly placedSince: number;
}

/**
 * The regions as a message of `lane` sees them. A normal message waits behind everything queued in its
 * region (high first, then normal): the combined loads. A high message waits only behind the high
 * messages queued there and for a worker to free up: its load is what is in flight (workers busy with
 * any lane) plus the high lane's waiting messages, over the workers the combined reading shows.
 */
export function laneLoads(combined: readonly RegionLoad[], high: ReadonlyMap<string, HighLaneLoad>, lane: Lane): RegionLoad[] {
  if (lane === 'normal') return [...combined];
  const workers = estimateWorkers(combined);
  return combined.map((r, i) => {
    const h = high.get(r.region);
    // A region without a high lane: a high message there waits behind everything, as a normal one.
    if (!h) return { ...r, workers: workers[i] as number };
    if (r.backlog === undefined || h.waiting === undefined) {
      return { region: r.region, capacity: r.capacity, backlog: undefined, workers: workers[i] as number };
    }
    const inFlight = r.inFlight ?? 0;
    return {
      region: r.region,
      capacity: r.capacity,
      backlog: inFlight + h.waiting + h.placedSince,
      workers: workers[i] as number,
      ...(h.placedSince ? { placedSince: h.placedSince } : {}),
      ...(inFlight ? { inFlight } : {}),
    };
  });
}
