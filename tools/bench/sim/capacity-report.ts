/** Printing the capacity comparison (tools/bench/capacity.ts): p99 wait after a fleet change, per capacity source, against the oracle. */
import { fixed, pct, table } from '../stats.js';
import type { FleetResult } from './fleet-model.js';
import { waitSummary } from './fleet-waits.js';

export interface CapacityCell {
  readonly scenario: string;
  readonly contender: string;
  readonly load: number;
  /** Regional wait p99 (s), pooled over the runs: arrivals after the change, and in the first window after it (transient runs). */
  readonly afterP99: number;
  readonly afterMean: number;
  readonly firstP99: number;
  readonly firstCount: number;
}

export interface CapacityWindows {
  readonly changeAtSeconds: number;
  /** The transient window after the change, seconds. */
  readonly firstSeconds: number;
}

export function capacityCell(scenario: string, contender: string, load: number, long: readonly FleetResult[], transient: readonly FleetResult[], w: CapacityWindows): CapacityCell {
  const first = waitSummary(transient, { from: w.changeAtSeconds, to: w.changeAtSeconds + w.firstSeconds, part: 'regional' });
  const after = waitSummary(long, { from: w.changeAtSeconds, part: 'regional' });
  return {
    scenario,
    contender,
    load,
    afterP99: after.p99,
    afterMean: after.mean,
    firstP99: first.p99,
    firstCount: first.count,
  };
}

const xOracle = (value: number, oracle: number | undefined) => (oracle && oracle > 0 ? `${(value / oracle).toFixed(2)}x (${fixed(value)})` : `(${fixed(value)})`);

/** Rows: contenders; columns: loads; cells: the figure as a multiple of the oracle's, seconds in brackets. */
export function capacityTable(cells: readonly CapacityCell[], loads: readonly number[], head: string, value: (c: CapacityCell) => number): string {
  const names = [...new Set(cells.map((c) => c.contender))];
  const at = (name: string, load: number) => cells.find((c) => c.contender === name && c.load === load);
  return table([
    [head, ...loads.map((l) => `load ${pct(l)}`)],
    ...names.map((name) => [
      name,
      ...loads.map((load) => {
        const c = at(name, load);
        if (!c) return '';
        return name === 'oracle' ? `(${fixed(value(c))})` : xOracle(value(c), at('oracle', load) ? value(at('oracle', load) as CapacityCell) : undefined);
      }),
    ]),
  ]);
}

/** static p99 / live p99 after the change, per load: how much following the fleet buys. */
export function liveAgainstStatic(cells: readonly CapacityCell[], loads: readonly number[], live: string): string {
  const at = (name: string, load: number) => cells.find((c) => c.contender === name && c.load === load);
  const parts = loads.map((load) => {
    const s = at('static', load);
    const l = at(live, load);
    return s && l ? `${pct(load)} ${(s.afterP99 / l.afterP99).toFixed(2)}x` : '';
  });
  const wins = loads.every((load) => (at(live, load)?.afterP99 ?? Number.POSITIVE_INFINITY) < (at('static', load)?.afterP99 ?? 0));
  return `   static p99 / live p99 after the change: ${parts.filter(Boolean).join(', ')}; live lower at every load: ${wins ? 'yes' : 'NO'}`;
}
