/**
 * A fleet that reports itself. Each worker keeps an entry in its region's presence item of the
 * idempotency table (presenceKey), renewed every PRESENCE.heartbeatSeconds and good for
 * PRESENCE.leaseSeconds; a worker that stops renewing (a Spot reclaim, a crash) drops out once its lease
 * has passed. The dispatcher counts a region's live entries as its workers (core/capacity.ts): a region
 * whose item exists and holds no live entry has lost its fleet and takes no new work while another
 * region has workers.
 *
 * One item per region, one attribute per worker (`w_<workerId>` = lease end, epoch ms), not one item
 * per worker: the dispatcher reads it with the health items it already reads (one consistent read per
 * region), and a worker renews it with one UpdateItem. An entry costs ~60 bytes, so an item holds about
 * 16,000 workers within DynamoDB's 400 KB; a renewal is billed on the item's size (1 write unit per KB),
 * so a worker spaces its beats, and lengthens its lease, by the units of its last renewal
 * (worker/presence.ts scaleWithItemSize): the lease of a large fleet's workers is a multiple of leaseSeconds.
 *
 * No AWS import.
 */
import { z } from 'zod';

/** The presence item of a region ('#' cannot start a request_id: core/record.ts). */
export const presenceKey = (region: string) => `#presence#${region}`;

export const PRESENCE = {
  /** How often a worker renews its entry. */
  heartbeatSeconds: 20,
  /** How long an entry counts without a renewal: three heartbeats, so one lost write does not drop it. */
  leaseSeconds: 60,
  /** Entries past their lease for this long are removed by the next renewal that sees them. */
  forgetAfterSeconds: 600,
} as const;

/** The attribute of a worker's entry in its region's presence item. */
export const PRESENCE_ATTRIBUTE_PREFIX = 'w_';

/** Letters, digits and - _ . : (a hostname, an instance id, a UUID), 1-100 characters. */
export const workerIdSchema = z
  .string()
  .min(1, 'workerId must not be empty')
  .max(100, 'workerId must be at most 100 characters')
  .regex(/^[A-Za-z0-9._:-]+$/, 'workerId may hold only letters, digits and . _ : -');

export const presenceAttribute = (workerId: string) => `${PRESENCE_ATTRIBUTE_PREFIX}${workerIdSchema.parse(workerId)}`;

/** A region's presence item, read into lease ends by worker id (epoch ms). */
export interface RegionPresence {
  readonly region: string;
  readonly leases: ReadonlyMap<string, number>;
}

export interface PresenceCount {
  readonly region: string;
  /** Workers whose lease has not passed. */
  readonly live: number;
  /** Entries whose lease has passed (stopped or vanished workers not yet forgotten). */
  readonly lapsed: number;
  /** When the last live lease ends (epoch ms); undefined when none is live. */
  readonly liveUntil?: number;
}

/** Live and lapsed workers of a region at `now` (epoch ms). */
export function countPresence(presence: RegionPresence, now: number): PresenceCount {
  let live = 0;
  let lapsed = 0;
  let liveUntil: number | undefined;
  for (const until of presence.leases.values()) {
    if (until > now) {
      live++;
      liveUntil = liveUntil === undefined ? until : Math.max(liveUntil, until);
    } else lapsed++;
  }
  return { region: presence.region, live, lapsed, ...(liveUntil === undefined ? {} : { liveUntil }) };
}

/** Entries a renewal at `now` may remove: past their lease for longer than PRESENCE.forgetAfterSeconds. */
export function forgettable(presence: RegionPresence, now: number, forgetAfterMs = PRESENCE.forgetAfterSeconds * 1000): string[] {
  return [...presence.leases].filter(([, until]) => until + forgetAfterMs <= now).map(([id]) => id);
}

/** Lease ends by worker id from an item's attributes (plain numbers); other attributes are ignored. */
export function leasesFromAttributes(attributes: Readonly<Record<string, unknown>>): Map<string, number> {
  const leases = new Map<string, number>();
  for (const [name, value] of Object.entries(attributes)) {
    if (!name.startsWith(PRESENCE_ATTRIBUTE_PREFIX)) continue;
    const until = typeof value === 'number' ? value : Number(value);
    if (Number.isFinite(until)) leases.set(name.slice(PRESENCE_ATTRIBUTE_PREFIX.length), until);
  }
  return leases;
}

/**
 * The longest a region whose workers all vanished can still be offered new work: its last lease (a
 * multiple `itemUnits` of leaseSeconds when the item is billed over one write unit), then the
 * dispatcher's cache of the presence items (`cacheSeconds`), then one batching window.
 */
export function vanishedFleetBoundSeconds(cacheSeconds: number, batchWindowSeconds: number, itemUnits = 1): number {
  return PRESENCE.leaseSeconds * Math.max(1, Math.ceil(itemUnits)) + cacheSeconds + batchWindowSeconds;
}
