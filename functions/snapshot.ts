/**
 * Snapshot task: the depth of every regional queue, one client per region, cached for CACHE_TTL
 * within the container, and the regions' health shared by every container (core/health.ts), cached
 * briefly, and the capacities set at run time with the fleets' presence items (core/capacity.ts,
 * core/presence.ts), cached like the readings. A region that cannot be read is reported unknown, never
 * fatal; unreadable health is none; unreadable settings or presence items are absent.
 */
import middy from '@middy/core';
import { GetQueueAttributesCommand, type QueueAttributeName } from '@aws-sdk/client-sqs';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import type { AwsClients } from '../aws/clients.js';
import { readFleet } from '../aws/presence.js';
import { readHealth, takeProbe } from '../aws/region-health.js';
import type { CapacitySetting } from '../core/capacity.js';
import { countPresence, PRESENCE, type RegionPresence } from '../core/presence.js';
import type { DispatchConfig, RegionQueue } from '../core/config.js';
import type { RegionHealth } from '../core/health.js';
import { COUNT_ATTRIBUTES, countsOf, type LaneCounts, type Reading, type Snapshot } from '../core/snapshot.js';
import { SNAPSHOT_READ_TIMEOUT_MS } from '../core/topology.js';
import { builtOnFirstCall, dependenciesFromEnvironment, resolve, type HandlerDependencies } from './dependencies.js';
import { withLambdaContext } from './logger.js';
import { traced } from './tracing.js';

/** Health changes on a failure anywhere: read again after this long, whatever CACHE_TTL says. */
export const HEALTH_CACHE_MS = 2000;

/**
 * The longest the presence items may be kept: a cached item's leases are counted against the clock at
 * each snapshot, so a copy kept longer than a lease minus a heartbeat would show a fleet that renewed
 * since as gone. Half of that, so that a renewal lost in between does not either.
 */
export const FLEET_CACHE_MAX_MS = ((PRESENCE.leaseSeconds - PRESENCE.heartbeatSeconds) * 1000) / 2;

/**
 * How long the capacity settings and the presence items are kept: CACHE_TTL, never less than the
 * health's cache and never more than FLEET_CACHE_MAX_MS. A lapsed lease stops counting when it ends,
 * cached or not (leases are counted at each snapshot); this delays only what workers and operators wrote
 * since the read.
 */
export const fleetCacheMs = (cfg: Pick<DispatchConfig, 'cacheTtlSeconds'>) =>
  Math.min(FLEET_CACHE_MAX_MS, Math.max(HEALTH_CACHE_MS, cfg.cacheTtlSeconds * 1000));

/** Takes snapshots for one config, keeping what it read as long as it lives (a container). */
class SnapshotReader {
  readonly #readings = new Map<string, Extract<Reading, { known: true }>>();
  #health: { readAt: number; health: RegionHealth[] } | undefined;
  #fleet: { readAt: number; settings: CapacitySetting[]; presence: RegionPresence[] } | undefined;

  constructor(
    private readonly cfg: DispatchConfig,
    private readonly clients: AwsClients,
    private readonly log: Logger,
  ) {}

  async take(): Promise<Snapshot> {
    const [readings, regionHealth, fleet] = await Promise.all([
      Promise.all(this.cfg.regions.map((region) => this.read(region))),
      this.health(),
      this.fleet(),
    ]);
    // Leases are counted now, not when the items were read: a lease that ends while the items are
    // cached stops counting when it ends (the cache delays only what workers wrote since).
    const now = Date.now();
    const presence = fleet.presence.map((p) => countPresence(p, now));
    return { readings, health: regionHealth, capacities: fleet.settings, ...(presence.length ? { presence } : {}) };
  }

  /** Forgets every reading, health and capacity kept. */
  forget(): void {
    this.#readings.clear();
    this.#health = undefined;
    this.#fleet = undefined;
  }

  /** One queue's counts; one attempt: a reading is advice, and a slow region must not hold the snapshot past its timeout. */
  private async counts(region: string, queueUrl: string): Promise<LaneCounts> {
    const client = this.clients.sqs(region, 1, Math.min(this.cfg.sqsRequestTimeoutMs, SNAPSHOT_READ_TIMEOUT_MS));
    const { Attributes = {} } = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: COUNT_ATTRIBUTES as QueueAttributeName[] }),
    );
    return countsOf(Attributes);
  }

  /** A region's reading: its lanes read together, totals at the top and the high lane's own counts. */
  private async read({ region, queueUrl, highQueueUrl }: RegionQueue): Promise<Reading> {
    const cached = this.#readings.get(region);
    if (cached && Date.now() - cached.readAt < this.cfg.cacheTtlSeconds * 1000) return cached;
    try {
      const [normal, high] = await Promise.all([this.counts(region, queueUrl), highQueueUrl ? this.counts(region, highQueueUrl) : undefined]);
      const reading = {
        region,
        known: true as const,
        visible: normal.visible + (high?.visible ?? 0),
        inFlight: normal.inFlight + (high?.inFlight ?? 0),
        delayed: normal.delayed + (high?.delayed ?? 0),
        ...(high ? { high } : {}),
        readAt: Date.now(),
      };
      this.#readings.set(region, reading);
      return reading;
    } catch (error) {
      const err = error as Error;
      this.log.warn('queue depth unreadable', { region, error: `${err.name}: ${err.message}` });
      return { region, known: false, error: `${err.name}: ${err.message}` };
    }
  }

  private async storedHealth(now: number): Promise<RegionHealth[]> {
    const kept = this.#health;
    if (kept && now - kept.readAt < Math.min(HEALTH_CACHE_MS, this.cfg.cacheTtlSeconds * 1000)) {
      // Open regions turn half-open with time, cached or not.
      return kept.health.map((h) => ({ ...h, state: now < h.until ? 'open' : 'half-open' }));
    }
    const fresh = await readHealth(this.cfg, now);
    this.#health = { readAt: now, health: fresh };
    return fresh;
  }

  /**
   * The regions' health for this execution: a half-open region stays half-open (one canary) only for
   * the execution that takes its probe; for the others it is still open.
   */
  private async health(): Promise<RegionHealth[]> {
    const now = Date.now();
    try {
      const stored = await this.storedHealth(now);
      return await Promise.all(
        stored.map(async (h) => (h.state === 'half-open' && !(await takeProbe(this.cfg, h.region, now)) ? { ...h, state: 'open' as const } : h)),
      );
    } catch (error) {
      const err = error as Error;
      this.log.warn('region health unreadable', { error: `${err.name}: ${err.message}` });
      return [];
    }
  }

  /**
   * Capacities set at run time (`capacity set`, an autoscaling hook) and the presence items of fleets
   * that report themselves, in one read, cached like the readings. Unreadable settings are none: every
   * region is then weighed as configured (or by its presence), and dispatch goes on; an unreadable
   * presence item is absent: its region is weighed as if its fleet did not report.
   */
  private async fleet(): Promise<{ settings: CapacitySetting[]; presence: RegionPresence[] }> {
    const now = Date.now();
    const kept = this.#fleet;
    if (kept && now - kept.readAt < fleetCacheMs(this.cfg)) return kept;
    try {
      const { settings, settingsUnread, presence, problems, complete } = await readFleet(this.cfg);
      if (settingsUnread) this.log.warn('capacity settings unreadable: regions weighed as configured', { error: 'key(s) left unprocessed (throttled)' });
      for (const problem of problems) this.log.warn('presence item unreadable: treated as absent', { error: problem });
      const fleet = { readAt: now, settings, presence };
      if (complete) this.#fleet = fleet;
      return fleet;
    } catch (error) {
      const err = error as Error;
      this.log.warn('capacity settings and presence unreadable: regions weighed as configured', { error: `${err.name}: ${err.message}` });
      return { settings: [], presence: [] };
    }
  }
}

/** Every reader alive in this process, for clearSnapshotCache; a reader dropped with its handler goes. */
const readers = new Set<WeakRef<SnapshotReader>>();

function track(reader: SnapshotReader): void {
  for (const ref of readers) if (!ref.deref()) readers.delete(ref);
  readers.add(new WeakRef(reader));
}

/** Every snapshot handler in this process forgets what it read: as a new container would (tests, the explorer between runs). */
export function clearSnapshotCache(): void {
  for (const ref of readers) ref.deref()?.forget();
}

export type SnapshotHandler = (event?: unknown, context?: Context) => Promise<Snapshot>;

/** The snapshot over its config and clients: the Lambda context in every log record, and the invocation traced where a tracer is configured. */
export function createSnapshotHandler(dependencies: HandlerDependencies): SnapshotHandler {
  const { config: cfg, clients, log } = resolve('snapshot', dependencies);
  const reader = new SnapshotReader(cfg, clients, log);
  track(reader);
  return middy(async () => reader.take(), { timeoutEarlyInMillis: 0 })
    .use(withLambdaContext(log))
    .use(traced()) as unknown as SnapshotHandler;
}

/** What Lambda calls: the snapshot over the function's environment. */
export const handler: SnapshotHandler = builtOnFirstCall(() => createSnapshotHandler(dependenciesFromEnvironment()));
