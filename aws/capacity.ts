/**
 * Regions' explicit capacities (core/capacity.ts) in the idempotency table: one item per region, keyed
 * request_id = capacityKey(region), written by `dispatch capacity set` (or an autoscaling hook), removed
 * by `capacity clear`, read by the snapshot. The item lives until it is cleared (no expiresAt).
 *
 * Each function takes the table it works on ({ client, tableName }): the CLI passes its target's client,
 * the functions one made from their config (`capacityTable`: a short timeout, one attempt, as for region
 * health: the read sits on the snapshot's time budget).
 *
 * Reading is strict about the table and lenient about items: a table that cannot be read (an error, a
 * timeout, keys left unprocessed) THROWS, so that the caller decides (the snapshot falls back to the
 * configured capacities); an item that does not hold a valid setting is ignored, as if nothing were set.
 */
import {
  BatchGetItemCommand,
  DeleteItemCommand,
  PutItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import { capacitySettingSchema, type CapacitySetting } from '../core/capacity.js';
import type { DispatchConfig } from '../core/config.js';
import { capacityKey } from '../core/record.js';
import { dynamoClient } from './clients.js';

/** The read sits on the snapshot's time budget: quick or failed. */
export const CAPACITY_REQUEST_TIMEOUT_MS = 1000;

/** Where capacity items live. */
export interface CapacityTable {
  readonly client: DynamoDBClient;
  readonly tableName: string;
}

/** A capacity call that failed: the table could not be read or written, or the value is not a valid setting. */
export class CapacityError extends Error {
  override name = 'CapacityError';
}

/** The functions' table, from their config. */
export const capacityTable = (cfg: DispatchConfig): CapacityTable => ({
  client: dynamoClient(cfg, { requestTimeoutMs: CAPACITY_REQUEST_TIMEOUT_MS, maxAttempts: 1 }),
  tableName: cfg.idempotencyTableName,
});

const n = z.object({ N: z.string() }).transform((v) => Number(v.N));
const s = z.object({ S: z.string() }).transform((v) => v.S);

/** A stored item read into a setting; unknown attributes are ignored. */
const itemSchema = z
  .object({ request_id: s, region: s, capacity: n, setAt: n, setBy: s })
  .refine((item) => item.request_id === capacityKey(item.region), 'the item is not under its region\'s key')
  .transform(({ region, capacity, setAt, setBy }) => ({ region, capacity, setAt, setBy }))
  .pipe(capacitySettingSchema);

/** The setting an item holds, or undefined when it holds none (missing or malformed attributes). */
export function settingFromItem(item: Record<string, AttributeValue> | undefined): CapacitySetting | undefined {
  const parsed = itemSchema.safeParse(item);
  return parsed.success ? parsed.data : undefined;
}

const failure = (what: string, error: unknown) =>
  new CapacityError(`${what}: ${(error as Error)?.name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`, { cause: error });

/**
 * The settings of these regions (those that have one), in one consistent BatchGetItem. Throws
 * CapacityError when the table cannot be read; ignores items that hold no valid setting.
 */
export async function readCapacitySettings(table: CapacityTable, regions: readonly string[]): Promise<CapacitySetting[]> {
  const wanted = [...new Set(regions)];
  if (!wanted.length) return [];
  let answer;
  try {
    answer = await table.client.send(
      new BatchGetItemCommand({
        RequestItems: { [table.tableName]: { Keys: wanted.map((region) => ({ request_id: { S: capacityKey(region) } })), ConsistentRead: true } },
      }),
    );
  } catch (error) {
    throw failure(`capacity settings unreadable in ${table.tableName}`, error);
  }
  const unprocessed = answer.UnprocessedKeys?.[table.tableName]?.Keys?.length ?? 0;
  if (unprocessed) throw new CapacityError(`capacity settings unreadable in ${table.tableName}: ${unprocessed} key(s) left unprocessed (throttled)`);
  const settings = (answer.Responses?.[table.tableName] ?? []).flatMap((item) => settingFromItem(item) ?? []);
  // In the regions' order, one per region.
  return wanted.flatMap((region) => settings.find((setting) => setting.region === region) ?? []);
}

/** Every configured region's setting, for the snapshot: throws when the table cannot be read. */
export function readCapacities(cfg: DispatchConfig): Promise<CapacitySetting[]> {
  return readCapacitySettings(capacityTable(cfg), cfg.regions.map((r) => r.region));
}

/** Sets a region's capacity (replacing any earlier setting) and returns what was stored. */
export async function writeCapacity(table: CapacityTable, region: string, capacity: number, setBy: string, nowMs = Date.now()): Promise<CapacitySetting> {
  const parsed = capacitySettingSchema.safeParse({ region, capacity, setAt: nowMs, setBy });
  if (!parsed.success) throw new CapacityError(`not a capacity setting: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  const setting = parsed.data;
  try {
    await table.client.send(
      new PutItemCommand({
        TableName: table.tableName,
        Item: {
          request_id: { S: capacityKey(setting.region) },
          region: { S: setting.region },
          capacity: { N: String(setting.capacity) },
          setAt: { N: String(setting.setAt) },
          setBy: { S: setting.setBy },
        },
      }),
    );
  } catch (error) {
    throw failure(`capacity of ${region} not written to ${table.tableName}`, error);
  }
  return setting;
}

/**
 * Removes a region's setting: from then on it is weighed by the estimate or its configured capacity.
 * Returns the setting removed, if there was one (a malformed item is removed too, and returns undefined).
 */
export async function clearCapacity(table: CapacityTable, region: string): Promise<CapacitySetting | undefined> {
  try {
    const { Attributes } = await table.client.send(
      new DeleteItemCommand({ TableName: table.tableName, Key: { request_id: { S: capacityKey(region) } }, ReturnValues: 'ALL_OLD' }),
    );
    return settingFromItem(Attributes);
  } catch (error) {
    throw failure(`capacity of ${region} not cleared in ${table.tableName}`, error);
  }
}
