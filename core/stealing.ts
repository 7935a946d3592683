/**
 * Work stealing: a worker whose own lanes are empty takes work from other regions' lanes, so that the
 * first free GPU anywhere takes a waiting request. What it takes still goes through the fence (worker/):
 * a stolen copy is the same copy, accepted once, so stealing makes no new copies and processes nothing
 * twice.
 *
 * Which region to steal from: among the regions the operator allows (an allow-list, for data locality)
 * and whose round trip is within the operator's latency limit, the one with the longest backlog per
 * worker, high lanes first (a high message anywhere before a normal one anywhere). Two settings let it
 * take before its own normal lane, not only when its lanes are empty: another region's high lane
 * (otherHighFirst), a region whose fleet vanished (fleetlessFirst). Pure: the readings
 * are the caller's (queue depths read by the worker, workers from the presence items).
 *
 * No AWS import.
 */
import { z } from 'zod';
import type { Lane } from './lanes.js';

export const stealingSettingsSchema = z.object({
  /** Regions this worker may take work from (never its own: its own lanes come first anyway). */
  allowRegions: z.array(z.string().min(1)).default([]),
  /** Skip a region whose measured round trip is above this (ms); undefined: no limit. */
  maxLatencyMs: z.number().positive().optional(),
  /** Backlog per worker a region must show before anyone steals from it (messages). */
  minBacklogPerWorker: z.number().nonnegative().default(1),
  /**
   * What a stolen request costs before it can start here (its input fetched from the other region),
   * seconds, and how long a request takes (the mean): with both, a lane is worth a steal only when its
   * wait there (backlog per worker x serviceSeconds) is longer than the start-up. Default 0: not weighed.
   */
  startupSeconds: z.number().nonnegative().default(0),
  serviceSeconds: z.number().positive().optional(),
  /**
   * Another region's high lane before the worker's own normal lane (after its own high lane), not only
   * when its lanes are empty: a high request waits for the first free worker anywhere.
   */
  otherHighFirst: z.boolean().default(true),
  /**
   * A region whose fleet has vanished (presence: no live worker) before the worker's own normal lane:
   * its stranded backlog is served in about the order it arrived, as one pooled queue would.
   */
  fleetlessFirst: z.boolean().default(true),
});
export type StealingSettings = z.infer<typeof stealingSettingsSchema>;

/** What a worker knows of another region when its own lanes are empty. */
export interface StealCandidate {
  readonly region: string;
  /** Messages waiting (visible) per lane; undefined when the read failed. */
  readonly waiting: Readonly<Partial<Record<Lane, number>>>;
  /** Live workers there (presence); undefined when the region reports none. */
  readonly workers?: number;
  /** The worker's measured round trip to that region (ms); undefined when not measured yet. */
  readonly latencyMs?: number;
}

export interface StealChoice {
  readonly region: string;
  readonly lane: Lane;
  /** Waiting messages per worker that made the choice (the worker counted as one more when none). */
  readonly backlogPerWorker: number;
}

/**
 * Where to take the next message from, or undefined: nowhere allowed has a backlog worth a cross-region
 * receive. High lanes are compared first; a region without presence counts one worker.
 */
export function chooseSteal(ownRegion: string, candidates: readonly StealCandidate[], settings: StealingSettings): StealChoice | undefined {
  const eligible = eligibleCandidates(ownRegion, candidates, settings);
  const least = Math.max(settings.minBacklogPerWorker, startupBacklog(settings));
  for (const lane of ['high', 'normal'] as const) {
    const best = longestBacklog(eligible, lane, least);
    if (best) return best;
  }
  return undefined;
}

/** The backlog per worker whose wait is the start-up cost (0 when it is not weighed). */
function startupBacklog(settings: StealingSettings): number {
  return settings.serviceSeconds && settings.startupSeconds > 0 ? settings.startupSeconds / settings.serviceSeconds : 0;
}

/**
 * Where to take from before the worker's own normal lane (its own high lane comes first): another
 * region's high lane (otherHighFirst), else a region with no live worker (fleetlessFirst), its high lane
 * then its normal one; any backlog counts (for another region's high lane, only a wait longer than the
 * start-up when that is weighed: a fleetless region has no one else). Undefined when neither setting is
 * on or nothing waits there.
 */
export function chooseBeforeOwnNormal(ownRegion: string, candidates: readonly StealCandidate[], settings: StealingSettings): StealChoice | undefined {
  if (!settings.otherHighFirst && !settings.fleetlessFirst) return undefined;
  const eligible = eligibleCandidates(ownRegion, candidates, settings);
  const anyBacklog = Number.MIN_VALUE;
  if (settings.otherHighFirst) {
    // A high request waits less for a worker of its own region than the start-up would cost: left there.
    const high = longestBacklog(eligible, 'high', Math.max(anyBacklog, startupBacklog(settings)));
    if (high) return high;
  }
  if (settings.fleetlessFirst) {
    const fleetless = eligible.filter((c) => c.workers === 0);
    for (const lane of ['high', 'normal'] as const) {
      const best = longestBacklog(fleetless, lane, anyBacklog);
      if (best) return best;
    }
  }
  return undefined;
}

/** Other regions the allow-list admits, within the latency limit (an unmeasured one is admitted). */
function eligibleCandidates(ownRegion: string, candidates: readonly StealCandidate[], settings: StealingSettings): StealCandidate[] {
  const allowed = new Set(settings.allowRegions);
  return candidates.filter(
    (c) => c.region !== ownRegion && allowed.has(c.region) && (settings.maxLatencyMs === undefined || c.latencyMs === undefined || c.latencyMs <= settings.maxLatencyMs),
  );
}

/** The lane with the most waiting per live worker (a region without presence, or with none, counts one); ties: the first. */
function longestBacklog(candidates: readonly StealCandidate[], lane: Lane, minPerWorker: number): StealChoice | undefined {
  let best: StealChoice | undefined;
  for (const c of candidates) {
    const waiting = c.waiting[lane];
    if (waiting === undefined || waiting <= 0) continue;
    const perWorker = waiting / Math.max(1, c.workers ?? 1);
    if (perWorker < minPerWorker) continue;
    if (!best || perWorker > best.backlogPerWorker) best = { region: c.region, lane, backlogPerWorker: perWorker };
  }
  return best;
}

/**
 * Whether a worker serving `models` may take a message for `model` (the copy's MESSAGE_ATTRIBUTE.model,
 * core/record.ts); no list: it serves every model.
 */
export function servesModel(models: readonly string[] | undefined, model: string | undefined): boolean {
  if (!models || models.length === 0) return true;
  return model !== undefined && models.includes(model);
}
