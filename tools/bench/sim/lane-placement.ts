/**
 * How one dispatcher places one batch, with or without priority lanes, through the shipped code:
 * regionLoads and the policy from core/policy.ts, laneLoads and laneOf from core/lanes.ts.
 *
 * - Without lanes (today): the batch is sorted by priority, high first (stable, as core/select.ts does
 *   before it calls the policy), and the policy places it all on the combined loads.
 * - With lanes: the high messages first, on laneLoads(combined, high lanes, 'high'): a high message
 *   waits only behind in-flight work and the high lane; then the normal and low ones on the combined
 *   loads, which count the high messages just placed.
 * Regions weighed at 0 are left out as core/select.ts leaves them out (leaveOutDrained).
 * The readings carry per-lane counts (each lane is its own SQS queue, read apart); the combined reading
 * of a region is their sum, shaped like core/snapshot.ts's Reading.
 */
import { LANES, laneLoads, laneOf, type HighLaneLoad } from '../../../core/lanes.js';
import { regionLoads, type Policy } from '../../../core/policy.js';
import { leaveOutDrained } from '../../../core/select.js';
import type { Random } from '../../../core/random.js';
import { PRIORITIES, type Priority } from '../../../core/request.js';
import type { Reading } from '../../../core/snapshot.js';
import type { RegionCounts } from './lane-counts.js';

export interface LaneReading {
  readonly region: string;
  readonly counts: RegionCounts;
  readonly readAt: number;
}

/** A dispatcher's reading and what it placed since (all lanes, and of which high), per region in configured order. */
export interface DispatcherView {
  readonly readings: readonly LaneReading[];
  readonly since: number[];
  readonly highSince: number[];
}

export interface BatchPlacement {
  readonly priorities: readonly Priority[];
  readonly lanes: boolean;
  readonly policy: Policy;
  /** Region names and the capacity the policy is told, in configured order (as the readings). */
  readonly capacities: ReadonlyArray<{ region: string; capacity: number }>;
  /**
   * The configured capacities: as core/select.ts weighedRegions does, a region at 0 is left out while
   * another has capacity, and all are weighed as configured when none has (leaveOutDrained).
   */
  readonly configured?: ReadonlyArray<{ region: string; capacity: number }>;
  readonly maxQueueDepthThreshold: number;
  readonly random: Random;
  readonly ageSeconds: number;
}

export const combinedReading = ({ region, counts, readAt }: LaneReading): Reading => ({
  region,
  known: true,
  visible: counts.high.visible + counts.normal.visible,
  inFlight: counts.high.inFlight + counts.normal.inFlight,
  delayed: 0,
  readAt,
});

const rank = (p: Priority) => PRIORITIES.indexOf(p);

/** The region (index in configured order) of each message, in the order given; updates the view's counts. */
export function placeBatch(view: DispatcherView, batch: BatchPlacement): number[] {
  const index = new Map(batch.capacities.map((c, i) => [c.region, i]));
  const combined = view.readings.map(combinedReading);
  const weighed = batch.configured ? leaveOutDrained(batch.capacities, batch.configured) : batch.capacities;
  const loads = () =>
    regionLoads(weighed, combined, new Map(batch.capacities.map((c, i) => [c.region, view.since[i] as number] as const).filter(([, n]) => n > 0)));
  const order = batch.priorities.map((_, k) => k).sort((a, b) => rank(batch.priorities[a] as Priority) - rank(batch.priorities[b] as Priority));
  const choices: number[] = new Array(batch.priorities.length);
  const place = (messages: readonly number[], regions: ReturnType<typeof loads>, high: boolean) => {
    if (!messages.length) return;
    const names = batch.policy(messages.length, { regions, maxQueueDepthThreshold: batch.maxQueueDepthThreshold, random: batch.random, ageSeconds: batch.ageSeconds });
    if (names.length !== messages.length) throw new Error(`the policy returned ${names.length} choices for ${messages.length} messages`);
    names.forEach((name, n) => {
      const i = index.get(name);
      if (i === undefined) throw new Error(`the policy chose "${name}", which is not a simulated region`);
      view.since[i] = (view.since[i] as number) + 1;
      if (high) view.highSince[i] = (view.highSince[i] as number) + 1;
      choices[messages[n] as number] = i;
    });
  };
  if (!batch.lanes) {
    place(order, loads(), false);
    return choices;
  }
  const highLanes = () =>
    new Map<string, HighLaneLoad>(view.readings.map((r, i) => [r.region, { waiting: r.counts.high.visible, placedSince: view.highSince[i] as number }]));
  for (const lane of LANES) {
    const messages = order.filter((k) => laneOf(batch.priorities[k] as Priority) === lane);
    if (messages.length) place(messages, laneLoads(loads(), highLanes(), lane), lane === 'high');
  }
  return choices;
}
