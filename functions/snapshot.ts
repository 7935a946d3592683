/**
 * Snapshot task: the depth of every regional queue, one client per region, cached for CACHE_TTL
 * within the container, and the regions' health shared by every container (core/health.ts), cached
 * briefly. A region that cannot be read is reported unknown, never fatal; unreadable health is none.
 */
import middy from '@middy/core';
import { GetQueueAttributesCommand, type QueueAttributeName } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { sqsClient } from '../aws/clients.js';
import { readCapacities } from '../aws/capacity.js';
import { readHealth, takeProbe } from '../aws/region-health.js';
import type { CapacitySetting } from '../core/capacity.js';
import { config, type DispatchConfig, type RegionQueue } from '../core/config.js';
import type { RegionHealth } from '../core/health.js';
import { COUNT_ATTRIBUTES, countsOf, type LaneCounts, type Reading, type Snapshot } from '../core/snapshot.js';
import { SNAPSHOT_READ_TIMEOUT_MS } from '../core/topology.js';
import { logger, withLambdaContext } from './logger.js';
import { traced } from './tracing.js';

const log = logger('snapshot');
const cache = new Map<string, Extract<Reading, { known: true }>>();

/** Health changes on a failure anywhere: read again after this long, whatever CACHE_TTL says. */
export const HEALTH_CACHE_MS = 2000;
let healthCache: { readAt: number; health: RegionHealth[] } | undefined;

/** One queue's counts; one attempt: a reading is advice, and a slow region must not hold the snapshot past its timeout. */
async function counts(cfg: DispatchConfig, region: string, queueUrl: string): Promise<LaneCounts> {
  const { Attributes = {} } = await sqsClient(cfg, region, 1, Math.min(cfg.sqsRequestTimeoutMs, SNAPSHOT_READ_TIMEOUT_MS)).send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: COUNT_ATTRIBUTES as QueueAttributeName[] }),
  );
  return countsOf(Attributes);
}

/** A region's reading: its lanes read together, totals at the top and the high lane's own counts. */
async function read(cfg: DispatchConfig, { region, queueUrl, highQueueUrl }: RegionQueue): Promise<Reading> {
  const cached = cache.get(region);
  if (cached && Date.now() - cached.readAt < cfg.cacheTtlSeconds * 1000) return cached;
  try {
    const [normal, high] = await Promise.all([counts(cfg, region, queueUrl), highQueueUrl ? counts(cfg, region, highQueueUrl) : undefined]);
    const reading = {
      region,
      known: true as const,
      visible: normal.visible + (high?.visible ?? 0),
      inFlight: normal.inFlight + (high?.inFlight ?? 0),
      delayed: normal.delayed + (high?.delayed ?? 0),
      ...(high ? { high } : {}),
      readAt: Date.now(),
    };
    cache.set(region, reading);
    return reading;
  } catch (error) {
    const err = error as Error;
    log.warn('queue depth unreadable', { region, error: `${err.name}: ${err.message}` });
    return { region, known: false, error: `${err.name}: ${err.message}` };
  }
}

async function storedHealth(cfg: DispatchConfig, now: number): Promise<RegionHealth[]> {
  if (healthCache && now - healthCache.readAt < Math.min(HEALTH_CACHE_MS, cfg.cacheTtlSeconds * 1000)) {
    // Open regions turn half-open with time, cached or not.
    return healthCache.health.map((h) => ({ ...h, state: now < h.until ? 'open' : 'half-open' }));
  }
  const fresh = await readHealth(cfg, now);
  healthCache = { readAt: now, health: fresh };
  return fresh;
}

/**
 * The regions' health for this execution: a half-open region stays half-open (one canary) only for
 * the execution that takes its probe; for the others it is still open.
 */
async function health(cfg: DispatchConfig): Promise<RegionHealth[]> {
  const now = Date.now();
  try {
    const stored = await storedHealth(cfg, now);
    return await Promise.all(
      stored.map(async (h) => (h.state === 'half-open' && !(await takeProbe(cfg, h.region, now)) ? { ...h, state: 'open' as const } : h)),
    );
  } catch (error) {
    const err = error as Error;
    log.warn('region health unreadable', { error: `${err.name}: ${err.message}` });
    return [];
  }
}

let capacityCache: { readAt: number; settings: CapacitySetting[] } | undefined;

/**
 * Capacities set at run time (`capacity set`, an autoscaling hook), cached like the readings. Unreadable
 * settings are none: every region is then weighed as configured, and dispatch goes on.
 */
async function capacities(cfg: DispatchConfig): Promise<CapacitySetting[]> {
  const now = Date.now();
  if (capacityCache && now - capacityCache.readAt < Math.max(HEALTH_CACHE_MS, cfg.cacheTtlSeconds * 1000)) return capacityCache.settings;
  try {
    const settings = await readCapacities(cfg);
    capacityCache = { readAt: now, settings };
    return settings;
  } catch (error) {
    const err = error as Error;
    log.warn('capacity settings unreadable: regions weighed as configured', { error: `${err.name}: ${err.message}` });
    return [];
  }
}

export async function takeSnapshot(cfg: DispatchConfig): Promise<Snapshot> {
  const [readings, regionHealth, settings] = await Promise.all([
    Promise.all(cfg.regions.map((region) => read(cfg, region))),
    health(cfg),
    capacities(cfg),
  ]);
  return { readings, health: regionHealth, capacities: settings };
}

/** Forget cached readings and health (tests, and the local stack between runs). */
export function clearSnapshotCache(): void {
  cache.clear();
  healthCache = undefined;
  capacityCache = undefined;
}

/** What Lambda calls: the Lambda context in every log record, and the invocation traced where a tracer is configured. */
export const handler = middy(async () => takeSnapshot(config()), { timeoutEarlyInMillis: 0 })
  .use(withLambdaContext(log))
  .use(traced()) as unknown as (event?: unknown, context?: Context) => Promise<Snapshot>;
