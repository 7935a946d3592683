/**
 * The regions' presence items (core/presence.ts), read by the snapshot together with the capacities set
 * at run time (aws/capacity.ts): both are small items of the idempotency table, both advice, both
 * cached alike, so one consistent BatchGetItem reads every region's two items (capacityKey, presenceKey).
 *
 * The call is strict, the items lenient:
 * - a table that cannot be read (an error, a timeout) THROWS CapacityError, and the caller decides (the
 *   snapshot then weighs every region as configured, as before presence);
 * - a capacity item left unprocessed (throttled) leaves every setting unread, as readCapacitySettings
 *   would (`settingsUnread`): the settings are read whole or not at all;
 * - a presence item that is unreadable (left unprocessed, not under its region's key, or an entry that
 *   is not a number) is treated as absent and named in `problems`: the region is weighed as if its fleet
 *   did not report, never as a fleet that vanished.
 *
 * Workers write the items (worker/presence.ts); this module only reads them.
 */
import { BatchGetItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { CapacitySetting } from '../core/capacity.js';
import type { DispatchConfig } from '../core/config.js';
import { PRESENCE_ATTRIBUTE_PREFIX, leasesFromAttributes, presenceKey, type RegionPresence } from '../core/presence.js';
import { capacityKey } from '../core/record.js';
import { CapacityError, capacityTable, settingFromItem, type CapacityTable } from './capacity.js';

/** What one read of the regions' capacity and presence items found. */
export interface FleetItems {
  /** The regions' explicit capacities (those that have one), in the regions' order. */
  readonly settings: CapacitySetting[];
  /** True when capacity items were left unprocessed: `settings` is then empty, and says nothing. */
  readonly settingsUnread: boolean;
  /** The presence items that exist and could be read, in the regions' order. */
  readonly presence: RegionPresence[];
  /** False when any key was left unprocessed: what was read is used, and not kept (read again next time). */
  readonly complete: boolean;
  /** The presence items treated as absent, and why (for the log). */
  readonly problems: string[];
}

/** A presence item's lease ends, or why it is unreadable. */
export function presenceFromItem(region: string, item: Record<string, AttributeValue>): RegionPresence | { error: string } {
  if (item.request_id?.S !== presenceKey(region)) return { error: `presence item of ${region} is not under its key` };
  const plain: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(item)) {
    if (!name.startsWith(PRESENCE_ATTRIBUTE_PREFIX)) continue;
    // An entry that is not a number could be a live worker read wrong: the whole item is unreadable,
    // rather than counting one worker fewer (or a fleet of none).
    if (value.N === undefined || !Number.isFinite(Number(value.N))) return { error: `presence item of ${region}: ${name} is not a number` };
    plain[name] = Number(value.N);
  }
  return { region, leases: leasesFromAttributes(plain) };
}

/**
 * The capacity settings and presence items of these regions, in one consistent BatchGetItem (2 keys per
 * region: at most 50 regions, BatchGetItem's 100 keys). Throws CapacityError when the table cannot be read.
 */
export async function readFleetItems(table: CapacityTable, regions: readonly string[]): Promise<FleetItems> {
  const wanted = [...new Set(regions)];
  if (!wanted.length) return { settings: [], settingsUnread: false, complete: true, presence: [], problems: [] };
  if (wanted.length > 50) throw new CapacityError(`${wanted.length} regions: one BatchGetItem reads the items of 50 at most`);
  const keys = [...wanted.map(capacityKey), ...wanted.map(presenceKey)];
  let answer;
  try {
    answer = await table.client.send(
      new BatchGetItemCommand({ RequestItems: { [table.tableName]: { Keys: keys.map((key) => ({ request_id: { S: key } })), ConsistentRead: true } } }),
    );
  } catch (error) {
    const err = error as Error;
    throw new CapacityError(`capacity and presence items unreadable in ${table.tableName}: ${err?.name ?? 'Error'}: ${err?.message ?? String(error)}`, { cause: error });
  }
  const problems: string[] = [];
  const unprocessed = new Set((answer.UnprocessedKeys?.[table.tableName]?.Keys ?? []).map((k) => k.request_id?.S));
  const settingsUnread = wanted.some((region) => unprocessed.has(capacityKey(region)));
  const items = new Map((answer.Responses?.[table.tableName] ?? []).map((item) => [item.request_id?.S, item]));
  const settings = settingsUnread ? [] : wanted.flatMap((region) => settingFromItem(items.get(capacityKey(region))) ?? []);
  const presence: RegionPresence[] = [];
  for (const region of wanted) {
    if (unprocessed.has(presenceKey(region))) {
      problems.push(`presence item of ${region} unread: left unprocessed (throttled)`);
      continue;
    }
    const item = items.get(presenceKey(region));
    if (!item) continue;
    const read = presenceFromItem(region, item);
    if ('error' in read) problems.push(read.error);
    else presence.push(read);
  }
  return { settings, settingsUnread, complete: unprocessed.size === 0, presence, problems };
}

/** Every configured region's items, for the snapshot (a short timeout, one attempt: aws/capacity.ts capacityTable). */
export function readFleet(cfg: DispatchConfig): Promise<FleetItems> {
  return readFleetItems(capacityTable(cfg), cfg.regions.map((r) => r.region));
}
