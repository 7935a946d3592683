/**
 * Snapshot task: the depth of every regional queue, one client per region, cached for CACHE_TTL
 * within the container. A region that cannot be read is reported unknown, never fatal.
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { sqsClient } from '../aws/clients.js';
import { config, type DispatchConfig, type RegionQueue } from '../core/config.js';
import type { Reading, Snapshot } from '../core/snapshot.js';
import { logger } from './logger.js';

const log = logger('snapshot');
const cache = new Map<string, Extract<Reading, { known: true }>>();

async function read(cfg: DispatchConfig, { region, queueUrl }: RegionQueue): Promise<Reading> {
  const cached = cache.get(region);
  if (cached && Date.now() - cached.readAt < cfg.cacheTtlSeconds * 1000) return cached;
  try {
    // One attempt: a reading is advice, and a slow region must not hold the snapshot past its timeout.
    const { Attributes: a = {} } = await sqsClient(cfg, region, 1).send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
      }),
    );
    const reading = {
      region,
      known: true as const,
      visible: Number(a.ApproximateNumberOfMessages ?? 0),
      inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
      delayed: Number(a.ApproximateNumberOfMessagesDelayed ?? 0),
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

export async function takeSnapshot(cfg: DispatchConfig): Promise<Snapshot> {
  return { readings: await Promise.all(cfg.regions.map((region) => read(cfg, region))) };
}

/** Forget cached readings (tests, and the local stack between runs). */
export function clearSnapshotCache(): void {
  cache.clear();
}

export const handler = async (): Promise<Snapshot> => takeSnapshot(config());
