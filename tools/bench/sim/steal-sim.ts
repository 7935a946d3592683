/**
 * Work stealing in the fleet simulation (tools/bench/sim/fleet-model.ts, lane-region.ts): what a worker of
 * one region reads of the others when its own lanes are empty, and where it steals from, chosen by the
 * shipped core/stealing.ts chooseSteal (not a copy).
 *
 * A reading, as worker/stealing.ts makes one: each other region's waiting messages per lane
 * (ApproximateNumberOfMessages, `sqsLagSeconds` behind the queues, as the dispatchers' readings are) and
 * its live workers from the presence items (a vanished worker keeps counting until its lease ends:
 * `presenceLagSeconds` after a fleet change), each region's round trip `receiveSeconds`.
 */
import type { Lane } from '../../../core/lanes.js';
import { chooseBeforeOwnNormal, chooseSteal, stealingSettingsSchema, type StealCandidate } from '../../../core/stealing.js';
import type { CountReader } from './lane-counts.js';
import type { LaneRegion, RegionStealing } from './lane-region.js';

export interface StealingSimSettings {
  /**
   * Per thief region, the regions its workers may take from (core/stealing.ts allowRegions); a region not
   * listed steals from none. Undefined: every region may take from every other.
   */
  readonly allow?: Readonly<Record<string, readonly string[]>>;
  /** core/stealing.ts minBacklogPerWorker (default its schema's). */
  readonly minBacklogPerWorker?: number;
  /** core/stealing.ts maxLatencyMs (default: no limit). */
  readonly maxLatencyMs?: number;
  /** Shortest time between two readings by one worker (worker/stealing.ts checkEverySeconds). */
  readonly checkEverySeconds: number;
  /** An idle worker's own long poll: it tries to steal again at the end of each. */
  readonly idlePollSeconds: number;
  /** Round trip of a cross-region request (a reading, a receive), seconds. */
  readonly receiveSeconds: number;
  /** Added before a stolen request can start (input data fetched from the other region), seconds. */
  readonly startupSeconds: number;
  /** How long a vanished worker keeps counting in its region's presence (its lease). */
  readonly presenceLagSeconds: number;
  /** No steal attempt after this time (default: twice the arrivals' duration, plus a day). */
  readonly untilSeconds?: number;
  /** core/stealing.ts otherHighFirst (default its schema's). */
  readonly otherHighFirst?: boolean;
  /** core/stealing.ts fleetlessFirst (default its schema's). */
  readonly fleetlessFirst?: boolean;
  /** core/stealing.ts startupSeconds / serviceSeconds: the worker weighs `startupSeconds` against a wait of this many seconds per request; undefined: not weighed. */
  readonly weighedServiceSeconds?: number;
}

/** What of a fleet run's settings (tools/bench/sim/fleet-model.ts FleetSettings) the stealers use. */
export interface StealingRunSettings {
  readonly regions: ReadonlyArray<{ readonly region: string; readonly workers: number }>;
  readonly fleetChanges?: ReadonlyArray<{ readonly atSeconds: number; readonly workers: readonly number[] }>;
  readonly sqsLagSeconds?: number;
  readonly durationSeconds: number;
  /** Lanes on: the stealers read the high and the normal lane. */
  readonly lanes?: object;
  readonly stealing?: StealingSimSettings;
}

/** Workers present in each region at any time (the fleet changes applied), for the presence readings. */
function fleetAt(settings: StealingRunSettings): (region: number, time: number) => number {
  const changes = [...(settings.fleetChanges ?? [])].sort((a, b) => a.atSeconds - b.atSeconds);
  return (region, time) => {
    let workers = (settings.regions[region] as StealingRunSettings['regions'][number]).workers;
    for (const change of changes) if (change.atSeconds <= time) workers = change.workers[region] as number;
    return workers;
  };
}

/** Per region index, what its workers need to steal; `regions` is read late (they are built with it). */
export function stealingFor(settings: StealingRunSettings, regions: () => readonly LaneRegion[]): (index: number) => RegionStealing {
  const s = settings.stealing;
  if (!s) throw new Error('no stealing settings');
  const names = settings.regions.map((r) => r.region);
  const lag = settings.sqsLagSeconds ?? 0;
  const workersAt = fleetAt(settings);
  const lanes: readonly Lane[] = settings.lanes ? ['high', 'normal'] : ['normal'];
  // One reader per region for every thief: readings are made in time order, each `lag` behind.
  let readers: CountReader[] | undefined;
  const until = s.untilSeconds ?? 2 * settings.durationSeconds + 86_400;
  return (index) => {
    const own = names[index] as string;
    const core = stealingSettingsSchema.parse({
      allowRegions: s.allow ? [...(s.allow[own] ?? [])] : names.filter((n) => n !== own),
      ...(s.minBacklogPerWorker === undefined ? {} : { minBacklogPerWorker: s.minBacklogPerWorker }),
      ...(s.maxLatencyMs === undefined ? {} : { maxLatencyMs: s.maxLatencyMs }),
      ...(s.otherHighFirst === undefined ? {} : { otherHighFirst: s.otherHighFirst }),
      ...(s.fleetlessFirst === undefined ? {} : { fleetlessFirst: s.fleetlessFirst }),
      ...(s.weighedServiceSeconds === undefined ? {} : { startupSeconds: s.startupSeconds, serviceSeconds: s.weighedServiceSeconds }),
    });
    const allowed = new Set(core.allowRegions);
    const read = (now: number): StealCandidate[] | undefined => {
      // While the regions are being built (time 0) there is nothing to read yet.
      if (regions().length < names.length) return undefined;
      readers ??= regions().map((r) => r.log.reader());
      const at = Math.max(0, now - lag);
      const candidates: StealCandidate[] = [];
      names.forEach((region, j) => {
        if (j === index || !allowed.has(region)) return;
        const counts = (readers as CountReader[])[j]?.at(at);
        if (!counts) return;
        const waiting: Partial<Record<Lane, number>> = {};
        for (const lane of lanes) waiting[lane] = counts[lane].visible;
        candidates.push({ region, waiting, workers: workersAt(j, Math.max(0, now - s.presenceLagSeconds)), latencyMs: s.receiveSeconds * 1000 });
      });
      return candidates;
    };
    const target = (choice: ReturnType<typeof chooseSteal>) => (choice ? { region: names.indexOf(choice.region), lane: choice.lane } : undefined);
    return {
      regions,
      receiveSeconds: s.receiveSeconds,
      startupSeconds: s.startupSeconds,
      checkEverySeconds: s.checkEverySeconds,
      idlePollSeconds: s.idlePollSeconds,
      untilSeconds: until,
      choose: (now) => {
        const candidates = read(now);
        return candidates && target(chooseSteal(own, candidates, core));
      },
      ...(core.otherHighFirst || core.fleetlessFirst
        ? {
            beforeOwnNormal: (now: number) => {
              const candidates = read(now);
              return candidates && target(chooseBeforeOwnNormal(own, candidates, core));
            },
          }
        : {}),
    };
  };
}
