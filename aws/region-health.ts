/**
 * Region health in the idempotency table (core/health.ts): one item per region, written when a
 * forward to it fails, cleared when a send to it succeeds again, read by the snapshot. Every call is
 * best effort: health is advice, and a table that cannot be reached must not stop dispatch.
 */
import { BatchGetItemCommand, DeleteItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { DispatchConfig } from '../core/config.js';
import { healthOf, type RegionHealth } from '../core/health.js';
import { regionHealthKey } from '../core/record.js';
import { cutChars } from '../core/sqs-text.js';
import { dynamoClient } from './clients.js';

/** Health calls are quick or skipped: they sit on the snapshot's and the forward's time budget. */
export const HEALTH_REQUEST_TIMEOUT_MS = 1000;

/** How long after its open time a health record still counts (half-open) before it is forgotten. */
export const forgetAfterMs = (cfg: DispatchConfig) => cfg.regionHealthSeconds * 1000 * 10;

const client = (cfg: DispatchConfig) => dynamoClient(cfg, { requestTimeoutMs: HEALTH_REQUEST_TIMEOUT_MS, maxAttempts: 1 });

/** Marks a region open for REGION_HEALTH_SECONDS from now. */
export async function markUnhealthy(cfg: DispatchConfig, region: string, error: string, nowMs = Date.now()): Promise<void> {
  if (cfg.regionHealthSeconds <= 0) return;
  const until = nowMs + cfg.regionHealthSeconds * 1000;
  await client(cfg).send(
    new UpdateItemCommand({
      TableName: cfg.idempotencyTableName,
      Key: { request_id: { S: regionHealthKey(region) } },
      UpdateExpression: 'SET #until = :until, #error = :error, expiresAt = :expiresAt ADD failures :one',
      ExpressionAttributeNames: { '#until': 'until', '#error': 'error' },
      ExpressionAttributeValues: {
        ':until': { N: String(until) },
        ':error': { S: cutChars(error, 500) },
        ':expiresAt': { N: String(Math.ceil((until + forgetAfterMs(cfg)) / 1000)) },
        ':one': { N: '1' },
      },
    }),
  );
}

/** Clears a region's record once a send there succeeded, unless a newer failure opened it meanwhile. */
export async function markHealthy(cfg: DispatchConfig, region: string, nowMs = Date.now()): Promise<void> {
  if (cfg.regionHealthSeconds <= 0) return;
  await client(cfg)
    .send(
      new DeleteItemCommand({
        TableName: cfg.idempotencyTableName,
        Key: { request_id: { S: regionHealthKey(region) } },
        ConditionExpression: '#until <= :now',
        ExpressionAttributeNames: { '#until': 'until' },
        ExpressionAttributeValues: { ':now': { N: String(nowMs) } },
      }),
    )
    .catch((error: Error) => {
      if (error.name !== 'ConditionalCheckFailedException') throw error;
    });
}

/** How long one execution holds the right to probe a half-open region (its forward's worst case). */
export const PROBE_SLOT_MS = 15_000;

/**
 * Takes the one probe of a half-open region, so that a single execution at a time sends it a canary
 * (and pays its timeout) instead of every execution at once. True when this caller may probe.
 */
export async function takeProbe(cfg: DispatchConfig, region: string, nowMs = Date.now()): Promise<boolean> {
  try {
    await client(cfg).send(
      new UpdateItemCommand({
        TableName: cfg.idempotencyTableName,
        Key: { request_id: { S: regionHealthKey(region) } },
        UpdateExpression: 'SET probeUntil = :probeUntil',
        ConditionExpression: '#until <= :now AND (attribute_not_exists(probeUntil) OR probeUntil <= :now)',
        ExpressionAttributeNames: { '#until': 'until' },
        ExpressionAttributeValues: { ':now': { N: String(nowMs) }, ':probeUntil': { N: String(nowMs + PROBE_SLOT_MS) } },
      }),
    );
    return true;
  } catch (error) {
    if ((error as Error).name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}

/** Every configured region's health now; healthy regions are absent. */
export async function readHealth(cfg: DispatchConfig, nowMs = Date.now()): Promise<RegionHealth[]> {
  if (cfg.regionHealthSeconds <= 0 || !cfg.regions.length) return [];
  const keys = cfg.regions.map((r) => ({ request_id: { S: regionHealthKey(r.region) } }));
  const { Responses = {} } = await client(cfg).send(
    new BatchGetItemCommand({ RequestItems: { [cfg.idempotencyTableName]: { Keys: keys, ConsistentRead: true } } }),
  );
  const health: RegionHealth[] = [];
  for (const item of Responses[cfg.idempotencyTableName] ?? []) {
    const region = cfg.regions.find((r) => regionHealthKey(r.region) === item.request_id?.S)?.region;
    if (!region) continue;
    const known = healthOf(
      { region, until: Number(item.until?.N ?? 0), failures: Number(item.failures?.N ?? 0), error: item.error?.S ?? '' },
      nowMs,
      forgetAfterMs(cfg),
    );
    if (known) health.push(known);
  }
  return health;
}
