/** Queue-depth readings of the regional queues, as the snapshot function returns them. No AWS import. */
import { z } from 'zod';
import { capacitySettingSchema, presentWorkersSchema } from './capacity.js';
import { regionHealthSchema } from './health.js';

const count = z.number().int().nonnegative();
/** One queue's counts. */
export const laneCountsSchema = z.object({ visible: count, inFlight: count, delayed: count });
export type LaneCounts = z.infer<typeof laneCountsSchema>;

/** The GetQueueAttributes names a queue's counts are read from. */
export const COUNT_ATTRIBUTES = ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'];

/** A queue's counts from its GetQueueAttributes answer (SQS gives them as strings; absent ones are 0). */
export function countsOf(a: Partial<Record<string, string>>): LaneCounts {
  return {
    visible: Number(a.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(a.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}

export const readingSchema = z.union([
  z.object({
    region: z.string(),
    known: z.literal(true),
    /** ApproximateNumberOfMessages: waiting for a worker (every lane of the region). */
    visible: count,
    /** ApproximateNumberOfMessagesNotVisible: being processed (every lane). */
    inFlight: count,
    /** ApproximateNumberOfMessagesDelayed (every lane). */
    delayed: count,
    /** Of which in the high-priority lane (core/lanes.ts); absent when the region has none. */
    high: laneCountsSchema.optional(),
    readAt: z.number(),
  }),
  z.object({ region: z.string(), known: z.literal(false), error: z.string() }),
]);
export type Reading = z.infer<typeof readingSchema>;

export const snapshotSchema = z.object({
  readings: z.array(readingSchema),
  /** Regions whose sends failed lately (core/health.ts); healthy ones are absent. */
  health: z.array(regionHealthSchema).default([]),
  /** Capacities set at run time (core/capacity.ts); regions without one are weighed as configured. */
  capacities: z.array(capacitySettingSchema).optional(),
  /**
   * The live and lapsed workers of each region whose fleet reports itself (core/presence.ts), counted
   * when the snapshot was taken; regions without a presence item are absent (core/capacity.ts).
   */
  presence: z.array(presentWorkersSchema).optional(),
});
export type Snapshot = z.infer<typeof snapshotSchema>;

/** Messages a region already holds that a new one would wait behind. */
export const backlog = (reading: Extract<Reading, { known: true }>) => reading.visible + reading.inFlight + reading.delayed;

/** Seconds since the oldest known reading was taken (readings are cached for CACHE_TTL); 0 when none. */
export function snapshotAgeSeconds(snapshot: Snapshot, nowMs: number): number {
  const times = snapshot.readings.flatMap((r) => (r.known ? [r.readAt] : []));
  return times.length ? Math.max(0, (nowMs - Math.min(...times)) / 1000) : 0;
}

/** Identifies one set of readings, so that what was dispatched since it can be counted. */
export function snapshotKey(snapshot: Snapshot): string {
  return snapshot.readings.map((r) => (r.known ? `${r.region}@${r.readAt}` : `${r.region}?`)).join(',');
}

/**
 * Messages this container placed per region since a given snapshot: the "dispatched since the
 * snapshot" term of the estimated wait. Within one container only; other containers' placements are
 * unseen, which the policy's handling of stale readings covers.
 */
export class DispatchedSince {
  private key = '';
  private counts = new Map<string, number>();

  /** Counts for this snapshot (a new snapshot starts from zero). */
  for(snapshot: Snapshot): ReadonlyMap<string, number> {
    const key = snapshotKey(snapshot);
    if (key !== this.key) {
      this.key = key;
      this.counts = new Map();
    }
    return this.counts;
  }

  add(snapshot: Snapshot, regions: Iterable<string>): void {
    const counts = this.for(snapshot) as Map<string, number>;
    for (const region of regions) counts.set(region, (counts.get(region) ?? 0) + 1);
  }
}
