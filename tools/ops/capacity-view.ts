/**
 * What `capacity list` and the console's Regions page show per region: the configured capacity, the
 * explicit setting (with when and by whom), the fleet's presence (live and lapsed workers, when it
 * reports itself: core/presence.ts), the queue's reading, and the capacity the region is weighed by now
 * with its source (core/capacity.ts effectiveCapacity). Pure: the callers read the table and the
 * queues; the CLI's text of it is cli/capacity-table.ts.
 */
import {
  effectiveCapacity,
  presenceByRegion,
  settingsByRegion,
  type CapacitySetting,
  type EffectiveCapacity,
  type PresentWorkers,
} from '../../core/capacity.js';
import type { CapacityTable } from '../../aws/capacity.js';
import { readFleetItems } from '../../aws/presence.js';
import { countPresence } from '../../core/presence.js';
import type { QueueDepth } from './queue-reader.js';

export interface RegionCapacity {
  readonly region: string;
  readonly configured: number;
  /** True when the target does not say, and the functions' default (1) is shown. */
  readonly configuredAssumed?: true;
  readonly setting: CapacitySetting | null;
  /** The region's presence item counted now; null when it has none (a fleet that does not report, or unread). */
  readonly presence: PresentWorkers | null;
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

export function regionCapacities(
  regions: readonly CapacityRegionInput[],
  settings: readonly CapacitySetting[],
  presence: readonly PresentWorkers[] = [],
): RegionCapacity[] {
  const byRegion = settingsByRegion(settings);
  const present = presenceByRegion(presence);
  return regions.map((r) => {
    const configured = r.configured ?? DEFAULT_CAPACITY;
    const setting = byRegion.get(r.region) ?? null;
    const workers = present.get(r.region) ?? null;
    const waiting = count(r.depth?.visible);
    const inFlight = count(r.depth?.inFlight);
    return {
      region: r.region,
      configured,
      ...(r.configured === undefined ? { configuredAssumed: true as const } : {}),
      setting,
      presence: workers,
      waiting,
      inFlight,
      effective: effectiveCapacity({ configured, setting: setting ?? undefined, presence: workers ?? undefined, inFlight: inFlight ?? undefined, waiting: waiting ?? undefined }),
    };
  });
}

/** The capacity settings and the fleets' presence as the dispatch reads them, and what could not be read. */
export interface FleetReading {
  readonly settings: readonly CapacitySetting[];
  readonly presence: readonly PresentWorkers[];
  /** Each thing left out, said as the dispatch then falls back. */
  readonly warnings: readonly string[];
  /** False when the settings or a presence item could not be read. */
  readonly complete: boolean;
}

/**
 * The settings and the presence items in the snapshot's one read (aws/presence.ts), presence counted at
 * `now`: what `capacity list` and the console's Regions page show. Never throws: an unreadable table
 * leaves both out, with a warning, as the dispatch then weighs the regions as configured.
 */
export async function readFleet(table: CapacityTable, regions: readonly string[], now = Date.now()): Promise<FleetReading> {
  try {
    const fleet = await readFleetItems(table, regions);
    const warnings = [
      ...(fleet.settingsUnread ? ['capacity settings left unprocessed (throttled): shown without settings, as the dispatch falls back'] : []),
      ...fleet.problems.map((problem) => `${problem}: shown as absent, as the dispatch treats it`),
    ];
    return { settings: fleet.settings, presence: fleet.presence.map((p) => countPresence(p, now)), warnings, complete: fleet.complete };
  } catch (error) {
    const err = error as Error;
    return {
      settings: [],
      presence: [],
      warnings: [`${err.message}: shown without settings or presence, as the dispatch falls back to the configured capacities`],
      complete: false,
    };
  }
}
