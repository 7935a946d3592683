/**
 * What `capacity list` and the console's Regions page show per region: the configured capacity, the
 * explicit setting (with when and by whom), the queue's reading, and the capacity the region is weighed
 * by now with its source (core/capacity.ts effectiveCapacity). Pure: the callers read the table and the
 * queues.
 */
import { effectiveCapacity, settingsByRegion, type CapacitySetting, type EffectiveCapacity } from '../../core/capacity.js';
import type { QueueDepth } from './queue-reader.js';

export interface RegionCapacity {
  readonly region: string;
  readonly configured: number;
  /** True when the target does not say, and the functions' default (1) is shown. */
  readonly configuredAssumed?: true;
  readonly setting: CapacitySetting | null;
  /** The queue's reading; null when it could not be read. */
  readonly waiting: number | null;
  readonly inFlight: number | null;
  readonly effective: EffectiveCapacity;
}

export interface CapacityRegionInput {
  readonly region: string;
  /** Undefined when the target does not say. */
  readonly configured: number | undefined;
  readonly depth?: QueueDepth | undefined;
}

/** The functions' default capacity for a region whose configuration names none (core/config.ts). */
export const DEFAULT_CAPACITY = 1;

const count = (n: number | undefined) => (n !== undefined && Number.isFinite(n) ? n : null);

export function regionCapacities(regions: readonly CapacityRegionInput[], settings: readonly CapacitySetting[]): RegionCapacity[] {
  const byRegion = settingsByRegion(settings);
  return regions.map((r) => {
    const configured = r.configured ?? DEFAULT_CAPACITY;
    const setting = byRegion.get(r.region) ?? null;
    const waiting = count(r.depth?.visible);
    const inFlight = count(r.depth?.inFlight);
    return {
      region: r.region,
      configured,
      ...(r.configured === undefined ? { configuredAssumed: true as const } : {}),
      setting,
      waiting,
      inFlight,
      effective: effectiveCapacity({ configured, setting: setting ?? undefined, inFlight: inFlight ?? undefined, waiting: waiting ?? undefined }),
    };
  });
}

const SOURCE_NOTE: Record<EffectiveCapacity['source'], string> = {
  set: 'set',
  estimated: 'estimated: in flight with a backlog',
  configured: 'configured',
};

/** "4 (set)", "6 (estimated: in flight with a backlog)", "0 (set: drained)". */
export function effectiveText(row: RegionCapacity): string {
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
