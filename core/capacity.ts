/**
 * The capacity a region is weighed by: how many requests it works on at once (its GPU workers). The
 * configured number (REGION_QUEUES / REGION_CAPACITY) is fixed at deploy time; the fleet behind a queue
 * is not. So capacity follows the fleet, by this rule:
 *
 * 1. An explicit value wins: set by an operator (`dispatch capacity set REGION N`) or by an autoscaling
 *    hook, kept as one item per region in the idempotency table (core/record.ts capacityKey) until it is
 *    cleared. It is taken as given, even below what the queue shows in flight (a fleet being scaled in
 *    still finishes its messages).
 * 2. Where nothing is set and the region's fleet reports itself (its presence item exists: core/presence.ts),
 *    its live workers (source 'present'). An item that holds no live entry is a fleet that vanished:
 *    capacity 0, so the region takes no new work while another region has capacity above 0.
 * 3. Where nothing is set and no presence item exists, it is estimated from the queue: a region with a backlog (messages waiting)
 *    has every worker busy, so its messages in flight are a lower bound on its workers. Capacity is then
 *    max(configured, in flight).
 * 4. Otherwise (no backlog, or no reading) the configured number: the floor of the estimate and the
 *    default. A fleet that does not report (no presence item) is weighed exactly as before presence.
 *
 * A set capacity of 0 means "drained": the region should take nothing while any region has capacity
 * above 0; so does a fleet that reported itself and is gone. When every region is at 0, nothing is excluded by capacity (dispatch goes on rather than
 * burning receive counts into the DLQ, as with MAX_QUEUE_DEPTH_THRESHOLD): how the selection weighs
 * them then is the selection's choice (core/select.ts). Configured capacities are always > 0
 * (core/config.ts), so 0 comes only from a setting or from an empty presence item.
 *
 * No AWS import.
 */
import { z } from 'zod';
import type { PresenceCount } from './presence.js';

/** Larger than any fleet behind one queue: a typo's guard, not a quota. */
export const MAX_CAPACITY = 100_000;

/** Where an effective capacity came from. */
export type CapacitySource = 'set' | 'present' | 'estimated' | 'configured';

export const capacityValueSchema = z
  .number({ error: 'capacity must be a number' })
  .int('capacity must be a whole number')
  .min(0, 'capacity must be >= 0 (0 drains the region)')
  .max(MAX_CAPACITY, `capacity must be <= ${MAX_CAPACITY}`);

/** One region's explicit capacity, as stored and as read. */
export const capacitySettingSchema = z.object({
  region: z.string().min(1, 'region must not be empty'),
  capacity: capacityValueSchema,
  /** Epoch ms. */
  setAt: z.number().int().nonnegative(),
  /** Who set it (an operator, a hook): free text for the people reading `capacity list`. */
  setBy: z.string().min(1, 'setBy must not be empty').max(200, 'setBy must be at most 200 characters'),
});
export type CapacitySetting = z.infer<typeof capacitySettingSchema>;

const workerCount = z.number().int().nonnegative();
/**
 * A region's presence item counted when the snapshot was taken (core/presence.ts countPresence), as
 * the snapshot carries it: only regions whose item exists appear.
 */
export const presentWorkersSchema = z.object({
  region: z.string().min(1),
  live: workerCount,
  lapsed: workerCount,
  liveUntil: z.number().optional(),
});
export type PresentWorkers = z.infer<typeof presentWorkersSchema>;
// The snapshot carries countPresence's answer as it is.
const _sameShape: (count: PresenceCount) => PresentWorkers = (count) => count;
void _sameShape;

export interface CapacityInput {
  /** The deployed configuration's capacity (> 0). */
  readonly configured: number;
  /** The region's explicit setting, if any. */
  readonly setting?: CapacitySetting | undefined;
  /** The region's presence item counted (core/presence.ts countPresence), when the item exists. */
  readonly presence?: Pick<PresenceCount, 'live'> | undefined;
  /** Messages in flight in the region's queue (ApproximateNumberOfMessagesNotVisible). */
  readonly inFlight?: number | undefined;
  /** Messages waiting in the region's queue (ApproximateNumberOfMessages). */
  readonly waiting?: number | undefined;
}

export interface EffectiveCapacity {
  readonly capacity: number;
  readonly source: CapacitySource;
}

const known = (n: number | undefined): n is number => n !== undefined && Number.isFinite(n);

/** The capacity a region is weighed by now, and why (the rule in the header). */
export function effectiveCapacity(input: CapacityInput): EffectiveCapacity {
  if (input.setting) return { capacity: input.setting.capacity, source: 'set' };
  if (input.presence) return { capacity: input.presence.live, source: 'present' };
  const { configured, inFlight, waiting } = input;
  if (known(waiting) && waiting > 0 && known(inFlight) && inFlight > configured) return { capacity: inFlight, source: 'estimated' };
  return { capacity: configured, source: 'configured' };
}

/** Presence counts by region (the last one wins if a region appears twice). */
export function presenceByRegion<P extends { readonly region: string }>(presence: readonly P[]): Map<string, P> {
  return new Map(presence.map((p) => [p.region, p]));
}

/** Settings by region (the last one wins if a region appears twice). */
export function settingsByRegion(settings: readonly CapacitySetting[]): Map<string, CapacitySetting> {
  return new Map(settings.map((s) => [s.region, s]));
}
