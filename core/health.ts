/**
 * Region health shared by every container: a region whose forward failed is "open" (no new
 * placements) for a short while, then "half-open" (one canary message per execution) until a send
 * there succeeds, which clears it. A circuit breaker per region, kept as one item per region in the
 * idempotency table (core/record.ts: regionHealthKey) so that every execution sees it. No AWS import.
 */
import { z } from 'zod';

export const regionHealthSchema = z.object({
  region: z.string(),
  state: z.enum(['open', 'half-open']),
  /** Epoch ms: open until then, half-open after. */
  until: z.number(),
  /** Failures recorded since the region was last healthy. */
  failures: z.number().int().nonnegative(),
  error: z.string(),
});
export type RegionHealth = z.infer<typeof regionHealthSchema>;

/** The stored item, read into plain values (epoch ms `until`). */
export interface HealthRecord {
  readonly region: string;
  readonly until: number;
  readonly failures: number;
  readonly error: string;
}

/**
 * What a stored record means now. A record long past its open time (more than `forgetAfterMs`) is
 * forgotten: nobody placed a canary there for that long, so nothing is known against the region.
 */
export function healthOf(record: HealthRecord, nowMs: number, forgetAfterMs: number): RegionHealth | undefined {
  if (nowMs >= record.until + forgetAfterMs) return undefined;
  return { ...record, state: nowMs < record.until ? 'open' : 'half-open' };
}

/** Regions that get no placement now. */
export const openRegions = (health: readonly RegionHealth[]) => new Set(health.filter((h) => h.state === 'open').map((h) => h.region));

/** Regions that get one canary message per execution. */
export const halfOpenRegions = (health: readonly RegionHealth[]) =>
  new Set(health.filter((h) => h.state === 'half-open').map((h) => h.region));
