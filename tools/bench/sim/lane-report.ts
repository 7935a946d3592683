/** Printing the priority-lane comparison (tools/bench/lanes.ts): wait per priority with and without lanes, the targets, the guard. */
import { LANES, type Lane } from '../../../core/lanes.js';
import { PRIORITIES, type Priority } from '../../../core/request.js';
import { fixed, pct, table } from '../stats.js';
import type { FleetResult } from './fleet-model.js';
import { waitSummary, type WaitFilter } from './fleet-waits.js';
import type { LaneVariant } from './lane-scenarios.js';

export interface ClassFigures {
  readonly count: number;
  /** Total wait (master batching + regional queue), seconds, pooled over the runs. */
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
  /** p99 of each part alone. */
  readonly masterP99: number;
  readonly regionalP99: number;
}

export interface LaneCell {
  readonly variant: LaneVariant;
  readonly load: number;
  readonly byPriority: Readonly<Record<Priority, ClassFigures>>;
  readonly byLane: Readonly<Record<Lane, ClassFigures>>;
  /** Total wait p99 of each run alone (seed order), per priority. */
  readonly seedP99: Readonly<Record<Priority, readonly number[]>>;
  readonly executionsPer1000: number;
}

function figures(results: readonly FleetResult[], filter: WaitFilter): ClassFigures {
  const total = waitSummary(results, filter);
  return {
    count: total.count,
    p50: total.p50,
    p95: total.p95,
    p99: total.p99,
    max: total.max,
    mean: total.mean,
    masterP99: waitSummary(results, { ...filter, part: 'master' }).p99,
    regionalP99: waitSummary(results, { ...filter, part: 'regional' }).p99,
  };
}

export function laneCell(variant: LaneVariant, load: number, results: readonly FleetResult[]): LaneCell {
  const requests = results.reduce((n, r) => n + r.arrival.length, 0);
  return {
    variant,
    load,
    byPriority: Object.fromEntries(PRIORITIES.map((p) => [p, figures(results, { priority: p })])) as Record<Priority, ClassFigures>,
    byLane: Object.fromEntries(LANES.map((l) => [l, figures(results, { lane: l })])) as Record<Lane, ClassFigures>,
    seedP99: Object.fromEntries(PRIORITIES.map((p) => [p, results.map((r) => waitSummary([r], { priority: p }).p99)])) as Record<Priority, number[]>,
    executionsPer1000: (1000 * results.reduce((n, r) => n + r.executions, 0)) / Math.max(1, requests),
  };
}

const triple = (f: ClassFigures) => (f.count ? `${fixed(f.p50)} / ${fixed(f.p95)} / ${fixed(f.p99)}` : '-');
const ratio = (a: number, b: number) => (b > 0 && Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : '-');

const find = (cells: readonly LaneCell[], variant: LaneVariant, load: number) => cells.find((c) => c.variant === variant && c.load === load);

/** One priority: p50 / p95 / p99 of the total wait per variant and load, and the p99 ratio of lanes to none. */
export function priorityTable(cells: readonly LaneCell[], priority: Priority, loads: readonly number[], variants: readonly LaneVariant[]): string {
  const better = priority === 'high';
  return table([
    ['load', ...variants.map((v) => `${v}: p50 / p95 / p99 s`), better ? 'p99 without / with' : 'p99 with / without'],
    ...loads.map((load) => {
      const without = find(cells, 'without lanes', load)?.byPriority[priority];
      const withLanes = find(cells, 'with lanes', load)?.byPriority[priority];
      const r = without && withLanes ? (better ? ratio(without.p99, withLanes.p99) : ratio(withLanes.p99, without.p99)) : '';
      return [pct(load), ...variants.map((v) => {
        const f = find(cells, v, load)?.byPriority[priority];
        return f ? triple(f) : '';
      }), r];
    }),
  ]);
}

/** Where a priority's p99 comes from: the master batching and the regional queue, each alone. */
export function partsTable(cells: readonly LaneCell[], priority: Priority, loads: readonly number[], variants: readonly LaneVariant[]): string {
  return table([
    ['load', ...variants.map((v) => `${v}: master / regional p99 s`), 'executions per 1000 requests'],
    ...loads.map((load) => [
      pct(load),
      ...variants.map((v) => {
        const f = find(cells, v, load)?.byPriority[priority];
        return f ? `${fixed(f.masterP99)} / ${fixed(f.regionalP99)}` : '';
      }),
      variants.map((v) => fixed(find(cells, v, load)?.executionsPer1000 ?? Number.NaN, 0)).join(' / '),
    ]),
  ]);
}

export interface LaneTarget {
  readonly target: string;
  readonly load: number;
  readonly value: number;
  readonly limit: number;
  /** 'ge': value >= limit; 'le': value <= limit. */
  readonly sense: 'ge' | 'le';
  readonly met: boolean;
  /** The same ratio run by run (seed by seed): lowest and highest. */
  readonly seedRange: readonly [number, number];
}

/** H: high p99 without lanes / with lanes >= 10 at 90% load; N: normal (and low) p99 with / without <= 1.10, every load. */
export function laneTargets(cells: readonly LaneCell[], loads: readonly number[]): LaneTarget[] {
  const checks: LaneTarget[] = [];
  const at = (load: number) => [find(cells, 'without lanes', load), find(cells, 'with lanes', load)] as const;
  const range = (a: LaneCell, b: LaneCell, priority: Priority): [number, number] => {
    const ratios = a.seedP99[priority].map((v, k) => v / (b.seedP99[priority][k] as number));
    return [Math.min(...ratios), Math.max(...ratios)];
  };
  const [without90, with90] = at(0.9);
  if (without90 && with90 && with90.byPriority.high.count) {
    const value = without90.byPriority.high.p99 / with90.byPriority.high.p99;
    checks.push({ target: 'H: high p99 without lanes / with lanes >= 10', load: 0.9, value, limit: 10, sense: 'ge', met: value >= 10, seedRange: range(without90, with90, 'high') });
  }
  for (const priority of ['normal', 'low'] as const) {
    for (const load of loads) {
      const [without, withLanes] = at(load);
      if (!without || !withLanes || !without.byPriority[priority].count) continue;
      const value = withLanes.byPriority[priority].p99 / without.byPriority[priority].p99;
      checks.push({ target: `N: ${priority} p99 with lanes / without <= 1.10`, load, value, limit: 1.1, sense: 'le', met: value <= 1.1, seedRange: range(withLanes, without, priority) });
    }
  }
  return checks;
}

export function laneTargetsText(checks: readonly LaneTarget[]): string {
  if (!checks.length) return 'targets: not evaluated (they need the variants without and with lanes; H needs load 0.9)';
  return [
    'targets (total wait p99, pooled over the seeds):',
    ...checks.map((c) => {
      const margin = c.sense === 'ge' ? c.value - c.limit : c.limit - c.value;
      const verdict = c.met ? `met by ${margin.toFixed(3)}` : `MISSED by ${(-margin).toFixed(3)}`;
      const seeds = c.seedRange[0] === c.seedRange[1] ? '' : `  (run by run ${c.seedRange[0].toFixed(2)}-${c.seedRange[1].toFixed(2)})`;
      return `  ${c.target.padEnd(46)} load ${pct(c.load).padStart(3)}: ${c.value.toFixed(3)}  ${verdict}${seeds}`;
    }),
  ].join('\n');
}

export interface GuardCell {
  readonly highShare: number;
  /** The workers' limit; Infinity: strict priority. */
  readonly limit: number;
  readonly byLane: Readonly<Record<Lane, ClassFigures>>;
}

export const guardCell = (highShare: number, limit: number, results: readonly FleetResult[]): GuardCell => ({
  highShare,
  limit,
  byLane: Object.fromEntries(LANES.map((l) => [l, figures(results, { lane: l })])) as Record<Lane, ClassFigures>,
});

/** The starvation guard against strict priority: each lane's p99 and longest wait, per high share. */
export function guardTable(cells: readonly GuardCell[], limit: number): string {
  const shares = [...new Set(cells.map((c) => c.highShare))];
  const get = (share: number, l: number) => cells.find((c) => c.highShare === share && c.limit === l);
  const pair = (share: number, lane: Lane, key: 'p99' | 'max') => `${fixed(get(share, limit)?.byLane[lane][key] ?? Number.NaN)} / ${fixed(get(share, Number.POSITIVE_INFINITY)?.byLane[lane][key] ?? Number.NaN)}`;
  return table([
    ['high share', 'normal lane p99: guard / strict s', 'normal lane max', 'high lane p99: guard / strict s', 'high lane max', 'normal p99 strict / guard'],
    ...shares.map((share) => {
      const guard = get(share, limit)?.byLane.normal.p99 ?? Number.NaN;
      const strict = get(share, Number.POSITIVE_INFINITY)?.byLane.normal.p99 ?? Number.NaN;
      return [pct(share), pair(share, 'normal', 'p99'), pair(share, 'normal', 'max'), pair(share, 'high', 'p99'), pair(share, 'high', 'max'), ratio(strict, guard)];
    }),
  ]);
}
