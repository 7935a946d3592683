/**
 * The taker's side of a lease (after awslabs/amazon-dynamodb-lock-client): a held lease is taken over
 * only by a fence that has itself seen the lease's version unchanged for the lease's whole duration, by
 * its own monotonic clock, and the take-over write is conditional on that version. No two clocks are
 * compared: the holder counts its lease from before it sent its write, the watcher from after it read
 * that write back, so the holder always stops trusting its lease before any watcher may take it over.
 *
 * Observations live in the Fence (one per worker process or pool): a copy handed back with
 * `retryAfterSeconds` and received again by a worker with the same Fence is taken over then.
 */
import type { FenceRecord } from './record.js';
import type { SeenVersion } from './persistence.js';

export interface Sighting {
  readonly token: string;
  readonly seen: SeenVersion;
  /** The lease's duration as the record states it. */
  readonly leaseMs: number;
  /** Monotonic ms when this version was first seen (after the read that returned it). */
  readonly since: number;
}

/** What identifies one lease: its version, or for an acceptance written without one, who held it until when. */
export function seenVersion(record: FenceRecord): SeenVersion {
  if (record.leaseVersion !== undefined) return { leaseVersion: record.leaseVersion };
  return {
    ...(record.acceptedBy !== undefined ? { acceptedBy: record.acceptedBy } : {}),
    ...(record.acceptedUntil !== undefined ? { acceptedUntil: record.acceptedUntil } : {}),
  };
}

const sameVersion = (a: SeenVersion, b: SeenVersion) =>
  a.leaseVersion === b.leaseVersion && a.acceptedBy === b.acceptedBy && a.acceptedUntil === b.acceptedUntil;

/**
 * The lease's duration from the record: leaseSeconds; for an acceptance without it, acceptedUntil minus
 * acceptedAt (both from the holder's one clock, so a duration, whatever that clock's offset); else the
 * watcher's own lease.
 */
function leaseMsOf(record: FenceRecord, fallbackSeconds: number): number {
  if (record.leaseSeconds !== undefined) return record.leaseSeconds * 1000;
  if (record.acceptedUntil !== undefined && record.acceptedAt !== undefined && record.acceptedUntil >= record.acceptedAt) {
    return Math.max(record.acceptedUntil - record.acceptedAt, fallbackSeconds) * 1000;
  }
  return fallbackSeconds * 1000;
}

/** Sightings kept at most (the oldest are forgotten first: forgetting one only makes its watch start again). */
const MAX_SIGHTINGS = 10_000;

export class LeaseWatch {
  private readonly sightings = new Map<string, Sighting>();

  constructor(private readonly monotonic: () => number) {}

  /**
   * A look at the same copy's lease held in `record`, read just now. The watch goes on while the
   * version is the one seen before; a new version (a heartbeat, another holder) starts it again.
   */
  look(requestId: string, token: string, record: FenceRecord, fallbackLeaseSeconds: number): Sighting {
    const now = this.monotonic();
    const seen = seenVersion(record);
    const before = this.sightings.get(requestId);
    const sighting =
      before && before.token === token && sameVersion(before.seen, seen)
        ? before
        : { token, seen, leaseMs: leaseMsOf(record, fallbackLeaseSeconds), since: now };
    this.sightings.delete(requestId);
    this.sightings.set(requestId, sighting);
    if (this.sightings.size > MAX_SIGHTINGS) this.sightings.delete(this.sightings.keys().next().value as string);
    return sighting;
  }

  /** The sighting of this copy watched for its whole lease: it may be taken over, at that version. */
  ripe(requestId: string, token: string): Sighting | undefined {
    const sighting = this.sightings.get(requestId);
    return sighting && sighting.token === token && this.remainingMs(sighting) <= 0 ? sighting : undefined;
  }

  /** How much longer this sighting must be watched. */
  remainingMs(sighting: Sighting): number {
    return sighting.since + sighting.leaseMs - this.monotonic();
  }

  forget(requestId: string): void {
    this.sightings.delete(requestId);
  }
}
