/**
 * A worker's side of "a fleet that reports itself" (core/presence.ts): a reporter that keeps this
 * worker's entry in its region's presence item of the idempotency table, so that the dispatcher counts
 * the region's live workers (core/capacity.ts) and stealing workers weigh its backlog per worker
 * (worker/stealing.ts).
 *
 * Each renewal is ONE UpdateItem: `SET w_<id> = lease end` (epoch ms, this machine's clock plus
 * PRESENCE.leaseSeconds) and `REMOVE` the entries the previous renewal's ALL_NEW image showed as
 * forgettable (past their lease for PRESENCE.forgetAfterSeconds), each on the condition that it still
 * holds the value seen; should one have been renewed meanwhile (a worker come back under the same id),
 * the renewal is written again at once without the removals. Renewals run on a timer every
 * PRESENCE.heartbeatSeconds; an error is handed to `onError` and the next beat tries again: it is never
 * thrown into the worker's job. `stop()` removes the worker's own entry, so a clean shutdown drops out at
 * once; a worker that dies stops renewing and drops out when its lease passes.
 *
 * A renewal is billed on the whole item's size (one write unit per KB): a region of more than about 30
 * workers has an item over 1 KB. So that a worker's presence costs the same at any fleet size, the
 * beats are spaced by the units the last renewal consumed (ReturnConsumedCapacity): with an item of 3
 * units, a beat every 3 heartbeats, each lease 3 times as long (`scaleWithItemSize`, on by default). A
 * large fleet pays for it in how long a vanished worker still counts: its lease.
 *
 * The lease end is advice for counting, never a safety decision (docs/architecture.md, invariant 12):
 * a skewed clock only makes a worker count a little longer or shorter.
 *
 * IAM: `dynamodb:UpdateItem` on the idempotency table (in the home region), on the keys `#presence#*`.
 */
import { ConditionalCheckFailedException, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { forgettable, leasesFromAttributes, PRESENCE, presenceAttribute, presenceKey, workerIdSchema } from '../core/presence.js';
import { ATTR } from '../core/record.js';

export interface PresenceReporterOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** The region whose presence item holds this worker's entry (the region of the queues it works). */
  readonly region: string;
  /** Unique per worker process (core/presence.ts workerIdSchema). */
  readonly workerId: string;
  /** Between renewals, ms. Default PRESENCE.heartbeatSeconds. */
  readonly heartbeatMs?: number;
  /** How long an entry counts without a renewal, ms. Default PRESENCE.leaseSeconds. */
  readonly leaseMs?: number;
  /** Entries past their lease this long are removed by a renewal that saw them. Default PRESENCE.forgetAfterSeconds. */
  readonly forgetAfterMs?: number;
  /**
   * Space the beats (and lengthen the lease) by the write units the last renewal consumed, so that a
   * worker writes about one unit per heartbeat at any item size. Default true.
   */
  readonly scaleWithItemSize?: boolean;
  /** Wall clock, epoch ms (lease ends are written with it). Default Date.now. */
  readonly now?: () => number;
  /** A renewal or removal that failed; the next beat tries again. Default: console.warn. */
  readonly onError?: (error: unknown) => void;
}

export interface PresenceCounters {
  /** Renewals written. */
  readonly renewals: number;
  /** Renewals that failed (retried at the next beat). */
  readonly failures: number;
  /** Entries of other workers this reporter removed as forgotten. */
  readonly forgotten: number;
  /** UpdateItem calls made (renewals, writes again without removals, the removal on stop). */
  readonly writes: number;
  /** Write units the renewals consumed, in all (as DynamoDB reported them). */
  readonly writeUnits: number;
  /** The spacing of the beats now, ms (heartbeatMs times the item's units when scaled), and the lease written with the next. */
  readonly heartbeatMs: number;
  readonly leaseMs: number;
}

const describe = (error: unknown) => `${(error as Error)?.name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`;

const plain = (item: Record<string, AttributeValue> | undefined): Record<string, unknown> =>
  Object.fromEntries(Object.entries(item ?? {}).map(([name, value]) => [name, value.N ?? value.S]));

export class PresenceReporter {
  private readonly heartbeatMs: number;
  private readonly leaseMs: number;
  private readonly forgetAfterMs: number;
  private readonly now: () => number;
  private readonly attribute: string;
  private readonly key: Record<string, AttributeValue>;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<unknown> = Promise.resolve();
  private started = false;
  private stopped = false;
  /** What the last renewal's ALL_NEW image held: lease ends by worker id. */
  private seen = new Map<string, number>();
  private counts = { renewals: 0, failures: 0, forgotten: 0, writes: 0, writeUnits: 0 };
  /** Units of the item at the last two renewals (1 before any): the lease written covers the beats of the larger. */
  private units = 1;
  private spacing = 1;

  constructor(private readonly options: PresenceReporterOptions) {
    const workerId = workerIdSchema.safeParse(options.workerId);
    if (!workerId.success) throw new TypeError(`presence: ${workerId.error.issues.map((i) => i.message).join('; ')}`);
    if (!options.tableName) throw new TypeError('presence: tableName is required');
    if (!options.region) throw new TypeError('presence: region is required');
    this.heartbeatMs = options.heartbeatMs ?? PRESENCE.heartbeatSeconds * 1000;
    this.leaseMs = options.leaseMs ?? PRESENCE.leaseSeconds * 1000;
    this.forgetAfterMs = options.forgetAfterMs ?? PRESENCE.forgetAfterSeconds * 1000;
    if (!(this.heartbeatMs > 0)) throw new RangeError(`presence: heartbeatMs must be > 0, got ${this.heartbeatMs}`);
    if (!(this.leaseMs > this.heartbeatMs)) throw new RangeError(`presence: leaseMs (${this.leaseMs}) must be longer than heartbeatMs (${this.heartbeatMs})`);
    this.now = options.now ?? Date.now;
    this.attribute = presenceAttribute(options.workerId);
    this.key = { [ATTR.key]: { S: presenceKey(options.region) } };
  }

  get workerId(): string {
    return this.options.workerId;
  }

  counters(): PresenceCounters {
    return { ...this.counts, heartbeatMs: this.heartbeatMs * this.spacing, leaseMs: this.leaseMs * this.units };
  }

  /** Renews at once, then every heartbeat, until stop(). Returns this. */
  start(): this {
    if (this.stopped) throw new Error('presence: stopped');
    if (this.started) return this;
    this.started = true;
    this.beat();
    return this;
  }

  private beat(): void {
    if (this.stopped) return;
    this.inFlight = this.renew().finally(() => {
      if (this.stopped) return;
      this.timer = setTimeout(() => this.beat(), this.heartbeatMs * this.spacing);
      this.timer.unref?.();
    });
  }

  private report(error: unknown): void {
    try {
      (this.options.onError ?? ((e) => console.warn(`presence ${this.options.region}/${this.options.workerId}: ${describe(e)}`)))(error);
    } catch {
      // A failing error callback must not stop the beats.
    }
  }

  private async update(removals: ReadonlyArray<readonly [string, number]>): Promise<Record<string, AttributeValue> | undefined> {
    const names: Record<string, string> = { '#me': this.attribute };
    const values: Record<string, AttributeValue> = { ':until': { N: String(this.now() + this.leaseMs * this.units) } };
    const conditions: string[] = [];
    removals.forEach(([id, until], i) => {
      names[`#f${i}`] = presenceAttribute(id);
      values[`:f${i}`] = { N: String(until) };
      conditions.push(`#f${i} = :f${i}`);
    });
    this.counts.writes += 1;
    const { Attributes, ConsumedCapacity } = await this.options.client.send(
      new UpdateItemCommand({
        TableName: this.options.tableName,
        Key: this.key,
        UpdateExpression: `SET #me = :until${removals.length ? ` REMOVE ${removals.map((_, i) => `#f${i}`).join(', ')}` : ''}`,
        ...(conditions.length ? { ConditionExpression: conditions.join(' AND ') } : {}),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    const units = ConsumedCapacity?.CapacityUnits;
    if (units !== undefined && Number.isFinite(units) && units > 0) {
      this.counts.writeUnits += units;
      if (this.options.scaleWithItemSize !== false) {
        // The next beat comes after `units` heartbeats, but no later than the lease just written covers
        // three times over; the lease of the next renewal covers the new spacing.
        this.spacing = Math.max(1, Math.min(Math.ceil(units), this.units));
        this.units = Math.max(1, Math.ceil(units));
      }
    }
    return Attributes;
  }

  /** One renewal now (what the timer calls): true when written. Never throws. */
  async renew(): Promise<boolean> {
    const now = this.now();
    const stale = forgettable({ region: this.options.region, leases: this.seen }, now, this.forgetAfterMs)
      .filter((id) => id !== this.options.workerId)
      .map((id) => [id, this.seen.get(id) as number] as const);
    try {
      let item: Record<string, AttributeValue> | undefined;
      try {
        item = await this.update(stale);
        this.counts.forgotten += stale.length;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException) || !stale.length) throw error;
        // One of them was renewed since it was seen: write again, removing nothing.
        item = await this.update([]);
      }
      this.seen = leasesFromAttributes(plain(item));
      this.counts.renewals += 1;
      return true;
    } catch (error) {
      this.counts.failures += 1;
      this.report(error);
      return false;
    }
  }

  /**
   * Stops renewing and removes this worker's entry, so that it drops out at once. Never throws: a
   * removal that fails is reported, and the entry lapses with its lease.
   */
  async stop(): Promise<boolean> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.inFlight;
    try {
      this.counts.writes += 1;
      await this.options.client.send(
        new UpdateItemCommand({
          TableName: this.options.tableName,
          Key: this.key,
          UpdateExpression: 'REMOVE #me',
          ExpressionAttributeNames: { '#me': this.attribute },
        }),
      );
      return true;
    } catch (error) {
      this.report(error);
      return false;
    }
  }

  /** Stops renewing and leaves the entry to lapse, as a worker that dies does (for simulations). */
  abandon(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
