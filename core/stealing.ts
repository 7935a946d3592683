/**
 * Work stealing: a worker whose own lanes are empty takes work from other regions' lanes, so that the
 * first free GPU anywhere takes a waiting request. What it takes still goes through the fence (worker/):
 * a stolen copy is the same copy, accepted once, so stealing makes no new copies and processes nothing
 * twice.
 *
 * Which region to steal from: among the regions the operator allows (an allow-list, for data locality)
 * and whose round trip is within the operator's latency limit, the one with the longest backlog per
 * worker, high lanes first (a high message anywhere before a normal one anywhere). Pure: the readings
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
  const allowed = new Set(settings.allowRegions);
  const eligible = candidates.filter(
    (c) => c.region !== ownRegion && allowed.has(c.region) && (settings.maxLatencyMs === undefined || c.latencyMs === undefined || c.latencyMs <= settings.maxLatencyMs),
  );
  for (const lane of ['high', 'normal'] as const) {
    let best: StealChoice | undefined;
    for (const c of eligible) {
      const waiting = c.waiting[lane];
      if (waiting === undefined || waiting <= 0) continue;
      const perWorker = waiting / Math.max(1, c.workers ?? 1);
      if (perWorker < settings.minBacklogPerWorker) continue;
      if (!best || perWorker > best.backlogPerWorker) best = { region: c.region, lane, backlogPerWorker: perWorker };
    }
    if (best) return best;
  }
  return undefined;
}

/**
 * Whether a worker serving `models` may take a message for `model` (the copy's MESSAGE_ATTRIBUTE.model,
 * core/record.ts); no list: it serves every model.
 */
export function servesModel(models: readonly string[] | undefined, model: string | undefined): boolean {
  if (!models || models.length === 0) return true;
  return model !== undefined && models.includes(model);
}
