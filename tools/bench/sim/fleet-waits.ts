/** Wait figures from runs of tools/bench/sim/fleet-model.ts: pooled over runs, by priority, lane and arrival window. */
import { laneOf, type Lane } from '../../../core/lanes.js';
import { PRIORITIES, type Priority } from '../../../core/request.js';
import { summarize, type Summary } from '../stats.js';
import type { FleetResult } from './fleet-model.js';

/** total: master batching + regional queue; master: master queue to dispatch; regional: regional queue to a worker. */
export type WaitPart = 'total' | 'master' | 'regional';

export interface WaitFilter {
  readonly priority?: Priority;
  /** Requests of this lane (normal: normal and low). */
  readonly lane?: Lane;
  /** Arrivals on the master queue in [from, to). */
  readonly from?: number;
  readonly to?: number;
  readonly part?: WaitPart;
}

/** The waits of the requests that pass the filter, pooled over the runs. */
export function waitsOf(results: readonly FleetResult[], filter: WaitFilter = {}): Float64Array {
  const part = filter.part ?? 'total';
  const p = filter.priority === undefined ? -1 : PRIORITIES.indexOf(filter.priority);
  const from = filter.from ?? Number.NEGATIVE_INFINITY;
  const to = filter.to ?? Number.POSITIVE_INFINITY;
  const out: number[] = [];
  for (const r of results) {
    for (let k = 0; k < r.arrival.length; k++) {
      const priority = r.priority[k] as number;
      if (p >= 0 && priority !== p) continue;
      if (filter.lane && laneOf(PRIORITIES[priority] as Priority) !== filter.lane) continue;
      const t = r.arrival[k] as number;
      if (t < from || t >= to) continue;
      const master = r.masterWait[k] as number;
      const regional = r.regionalWait[k] as number;
      out.push(part === 'master' ? master : part === 'regional' ? regional : master + regional);
    }
  }
  return Float64Array.from(out);
}

export const waitSummary = (results: readonly FleetResult[], filter: WaitFilter = {}): Summary => summarize(waitsOf(results, filter));
