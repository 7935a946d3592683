/** The text of `capacity list` (ops/capacity-view.ts makes the rows): one aligned line per region. */
import type { CapacitySetting, EffectiveCapacity } from '../../core/capacity.js';
import type { RegionCapacity } from '../ops/capacity-view.js';

const SOURCE_NOTE: Record<EffectiveCapacity['source'], string> = {
  set: 'set',
  present: 'present',
  estimated: 'estimated: in flight with a backlog',
  configured: 'configured',
};

/** "4 (set)", "6 (estimated: in flight with a backlog)", "0 (set: drained)", "3 (present: 3 live, 1 lapsed)". */
export function effectiveText(row: RegionCapacity): string {
  if (row.effective.source === 'present' && row.presence) {
    const { live, lapsed } = row.presence;
    return `${row.effective.capacity} (present: ${live} live, ${lapsed} lapsed${live === 0 ? ': drained' : ''})`;
  }
  const drained = row.effective.source === 'set' && row.effective.capacity === 0 ? ': drained' : '';
  return `${row.effective.capacity} (${SOURCE_NOTE[row.effective.source]}${drained})`;
}

export function settingText(setting: CapacitySetting | null): string {
  return setting ? `${setting.capacity} at ${new Date(setting.setAt).toISOString()} by ${setting.setBy}` : '-';
}

/** The report as aligned rows (region, configured, set, waiting, in flight, weighed by). */
export function capacityTable(rows: readonly RegionCapacity[]): string[] {
  const header = ['region', 'configured', 'waiting', 'in flight', 'weighed by', 'set'];
  const table = rows.map((r) => [
    r.region,
    `${r.configured}${r.configuredAssumed ? '?' : ''}`,
    r.waiting === null ? '?' : String(r.waiting),
    r.inFlight === null ? '?' : String(r.inFlight),
    effectiveText(r),
    settingText(r.setting),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => (row[i] as string).length)));
  const numeric = new Set([1, 2, 3]);
  const format = (cells: string[]) =>
    cells
      .map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i] as number) : cell.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [format(header), ...table.map(format)];
}
