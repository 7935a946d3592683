/**
 * The snapshot reads the fleets' presence items (core/presence.ts, aws/presence.ts) with the capacity
 * settings, in one consistent BatchGetItem, against the local DynamoDB server through the real SDK
 * client: live and lapsed workers counted at each snapshot (a lease that ends while the items are cached
 * stops counting when it ends), unreadable items absent and logged, a failing table never fatal.
 */
import { DeleteItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { writeCapacity } from '../../aws/capacity.js';
import { createClients, type AwsClients } from '../../aws/clients.js';
import { readFleetItems } from '../../aws/presence.js';
import { PRESENCE, presenceAttribute, presenceKey } from '../../core/presence.js';
import { capacityKey } from '../../core/record.js';
import { createSnapshotHandler, FLEET_CACHE_MAX_MS, fleetCacheMs, type SnapshotHandler } from '../../functions/snapshot.js';
import { localConfig } from '../../tools/local/dispatch.js';
import { startLocalAws, type LocalAws, type LocalFaults } from '../support/local-aws.js';

let aws: LocalAws & { readonly faults: LocalFaults };
const opened: AwsClients[] = [];
const table = () => ({ client: aws.dynamo, tableName: aws.resources.tableName });
const regions = () => aws.resources.regions.map((r) => r.region);

beforeAll(async () => {
  aws = await startLocalAws({ faults: true });
});
afterAll(async () => {
  opened.forEach((clients) => clients.destroy());
  await aws?.stop();
});
afterEach(async () => {
  aws.faults.dynamodb.rules.clear();
  for (const region of regions()) {
    for (const key of [presenceKey(region), capacityKey(region)]) {
      await aws.dynamo.send(new DeleteItemCommand({ TableName: aws.resources.tableName, Key: { request_id: { S: key } } }));
    }
  }
});

/** A new snapshot container (nothing cached), with a logger the test can watch. */
function snapshotFunction(cacheTtlSeconds = 5): { take: SnapshotHandler; warnings: () => string[] } {
  const config = localConfig(aws.resources, aws.codeEndpoints, { cacheTtlSeconds });
  const clients = createClients(config);
  opened.push(clients);
  const logger = new Logger({ serviceName: 'snapshot', logLevel: 'SILENT' });
  const warn = vi.spyOn(logger, 'warn');
  const take = createSnapshotHandler({ config, clients, logger });
  return { take, warnings: () => warn.mock.calls.map((call) => `${String(call[0])} ${JSON.stringify(call[1] ?? {})}`) };
}

/** What a worker's renewal does (worker/presence.ts): SET w_<id> = lease end. */
async function renew(region: string, workerId: string, leaseEnd: number): Promise<void> {
  await aws.dynamo.send(
    new UpdateItemCommand({
      TableName: aws.resources.tableName,
      Key: { request_id: { S: presenceKey(region) } },
      UpdateExpression: 'SET #w = :until',
      ExpressionAttributeNames: { '#w': presenceAttribute(workerId) },
      ExpressionAttributeValues: { ':until': { N: String(leaseEnd) } },
    }),
  );
}

describe('the snapshot and the presence items', () => {
  it('carries no presence when no fleet reports itself (as before presence)', async () => {
    const snapshot = await snapshotFunction().take();
    expect(snapshot.presence).toBeUndefined();
    expect(snapshot.capacities).toEqual([]);
  });

  it("counts each reporting region's live and lapsed workers; regions without an item are absent", async () => {
    const now = Date.now();
    await renew('us-west-2', 'gpu-a', now + 60_000);
    await renew('us-west-2', 'gpu-b', now + 30_000);
    await renew('us-west-2', 'gpu-c', now - 1_000);
    await renew('us-west-1', 'gpu-d', now - 5_000);
    const snapshot = await snapshotFunction().take();
    expect(snapshot.presence).toEqual([
      { region: 'us-west-2', live: 2, lapsed: 1, liveUntil: now + 60_000 },
      { region: 'us-west-1', live: 0, lapsed: 1 },
    ]);
  });

  it('reads the settings and the presence items in one BatchGetItem, and keeps both for the cache', async () => {
    const now = Date.now();
    await renew('us-east-1', 'gpu-a', now + 60_000);
    await writeCapacity(table(), 'us-west-2', 3, 'test');
    const [first] = regions();
    // Counts (delays by 0 ms) every request holding both kinds of key: the snapshot's own read.
    aws.faults.dynamodb.rules.add({
      actions: ['BatchGetItem'],
      match: { RequestItems: { [aws.resources.tableName]: { Keys: [{ request_id: { S: capacityKey(first as string) } }, { request_id: { S: presenceKey(first as string) } }] } } },
      mode: 'delay',
      ms: 0,
    });
    const { take } = snapshotFunction();
    const snapshot = await take();
    expect(snapshot.capacities?.map((s) => [s.region, s.capacity])).toEqual([['us-west-2', 3]]);
    expect(snapshot.presence).toEqual([{ region: 'us-east-1', live: 1, lapsed: 0, liveUntil: now + 60_000 }]);
    await take();
    await take();
    expect(aws.faults.dynamodb.rules.list()[0]?.fired).toBe(1);
  });

  it('stops counting a lease when it ends, even while the item is cached', async () => {
    const leaseEnd = Date.now() + 400;
    await renew('us-west-1', 'gpu-a', leaseEnd);
    const { take } = snapshotFunction(5);
    expect((await take()).presence).toEqual([{ region: 'us-west-1', live: 1, lapsed: 0, liveUntil: leaseEnd }]);
    // The item changes in the table; the snapshot still holds what it read (CACHE_TTL 5 s)...
    await aws.dynamo.send(new DeleteItemCommand({ TableName: aws.resources.tableName, Key: { request_id: { S: presenceKey('us-west-1') } } }));
    await new Promise((resolve) => setTimeout(resolve, leaseEnd + 50 - Date.now()));
    // ...and counts it again now: the lease has ended.
    expect((await take()).presence).toEqual([{ region: 'us-west-1', live: 0, lapsed: 1 }]);
  });

  it('treats an unreadable presence item as absent, logs it, and reads the others', async () => {
    const now = Date.now();
    await renew('us-east-1', 'gpu-a', now + 60_000);
    // An entry that is not a number: the item could hide a live worker, so it is not counted at all.
    await aws.dynamo.send(
      new UpdateItemCommand({
        TableName: aws.resources.tableName,
        Key: { request_id: { S: presenceKey('us-west-2') } },
        UpdateExpression: 'SET w_good = :until, w_bad = :text',
        ExpressionAttributeValues: { ':until': { N: String(now + 60_000) }, ':text': { S: 'soon' } },
      }),
    );
    const { take, warnings } = snapshotFunction();
    const snapshot = await take();
    expect(snapshot.presence).toEqual([{ region: 'us-east-1', live: 1, lapsed: 0, liveUntil: now + 60_000 }]);
    expect(warnings().join('\n')).toMatch(/presence item unreadable.*us-west-2: w_bad is not a number/);
  });

  it('goes on when the table fails: no settings, no presence, the readings as ever, and a warning', async () => {
    await renew('us-west-1', 'gpu-a', Date.now() - 1_000);
    await writeCapacity(table(), 'us-west-2', 0, 'test');
    aws.faults.dynamodb.rules.add({
      actions: ['BatchGetItem'],
      match: { RequestItems: { [aws.resources.tableName]: { Keys: [{ request_id: { S: presenceKey('us-west-1') } }] } } },
      mode: 'error',
      error: 'internal',
    });
    const { take, warnings } = snapshotFunction();
    const snapshot = await take();
    expect(snapshot.presence).toBeUndefined();
    expect(snapshot.capacities).toEqual([]);
    expect(snapshot.readings.every((r) => r.known)).toBe(true);
    expect(warnings().join('\n')).toMatch(/capacity settings and presence unreadable: regions weighed as configured/);
    // Not kept: the next snapshot reads again, and sees both once the table answers.
    aws.faults.dynamodb.rules.clear();
    const again = await take();
    expect(again.presence).toEqual([{ region: 'us-west-1', live: 0, lapsed: 1 }]);
    expect(again.capacities?.map((s) => s.capacity)).toEqual([0]);
  });
});

describe('how long the snapshot keeps the presence items', () => {
  it('never longer than half a lease minus a heartbeat, whatever CACHE_TTL says: a fleet that renewed since is never shown gone', () => {
    expect(fleetCacheMs({ cacheTtlSeconds: 5 })).toBe(5_000);
    expect(fleetCacheMs({ cacheTtlSeconds: 0 })).toBe(2_000);
    // The original's 60 s cache, or a cost lever's 300 s: a live fleet renewing every 20 s for 60 s leases must stay live.
    for (const cacheTtlSeconds of [60, 300]) {
      expect(fleetCacheMs({ cacheTtlSeconds })).toBe(FLEET_CACHE_MAX_MS);
      expect(fleetCacheMs({ cacheTtlSeconds })).toBeLessThan((PRESENCE.leaseSeconds - PRESENCE.heartbeatSeconds) * 1000);
    }
  });
});

describe('readFleetItems', () => {
  it('reads nothing for no regions, and refuses more regions than one BatchGetItem holds', async () => {
    expect(await readFleetItems(table(), [])).toMatchObject({ settings: [], presence: [], complete: true });
    await expect(readFleetItems(table(), Array.from({ length: 51 }, (_, i) => `r-${i}`))).rejects.toThrow(/50 at most/);
  });
});
