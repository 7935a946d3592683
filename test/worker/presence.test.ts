/**
 * worker/presence.ts against dynalite through the real DynamoDB client: a worker's entry is renewed on a
 * timer, lapses when renewals stop, is removed at once on stop(), forgotten entries are removed by a
 * renewal that saw them (but not one renewed since), and errors never reach the caller.
 */
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { countPresence, leasesFromAttributes, presenceKey } from '../../core/presence.js';
import { PresenceReporter } from '../../worker/presence.js';
import { startLocalAws, type LocalAws } from '../support/local-aws.js';

let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => {
  await aws?.stop();
});

let regionCounter = 0;
const freshRegion = () => `test-region-${++regionCounter}`;

async function leases(region: string): Promise<Map<string, number>> {
  const { Item } = await aws.dynamo.send(
    new GetItemCommand({ TableName: aws.resources.tableName, Key: { request_id: { S: presenceKey(region) } }, ConsistentRead: true }),
  );
  return leasesFromAttributes(Object.fromEntries(Object.entries(Item ?? {}).map(([k, v]) => [k, v.N ?? v.S])));
}

const reporter = (region: string, workerId: string, extra: Partial<ConstructorParameters<typeof PresenceReporter>[0]> = {}) =>
  new PresenceReporter({ client: aws.dynamo, tableName: aws.resources.tableName, region, workerId, heartbeatMs: 100, leaseMs: 400, ...extra });

describe('PresenceReporter', () => {
  it('renews its entry on a timer, each renewal one UpdateItem pushing the lease end', async () => {
    const region = freshRegion();
    const r = reporter(region, 'gpu-a').start();
    try {
      await vi.waitFor(async () => expect((await leases(region)).get('gpu-a')).toBeGreaterThan(Date.now()), { timeout: 2000 });
      const first = (await leases(region)).get('gpu-a') as number;
      await vi.waitFor(async () => expect((await leases(region)).get('gpu-a')).toBeGreaterThan(first), { timeout: 2000 });
      expect(countPresence({ region, leases: await leases(region) }, Date.now()).live).toBe(1);
      const c = r.counters();
      expect(c.failures).toBe(0);
      expect(c.writes).toBe(c.renewals);
    } finally {
      await r.stop();
    }
  });

  it('a worker that dies (no stop) lapses after its lease; a clean stop drops out at once', async () => {
    const region = freshRegion();
    const dying = reporter(region, 'gpu-dies').start();
    const leaving = reporter(region, 'gpu-leaves').start();
    await vi.waitFor(async () => expect(countPresence({ region, leases: await leases(region) }, Date.now()).live).toBe(2), { timeout: 2000 });
    dying.abandon();
    expect(await leaving.stop()).toBe(true);
    const afterStop = await leases(region);
    expect(afterStop.has('gpu-leaves')).toBe(false);
    expect(countPresence({ region, leases: afterStop }, Date.now()).live).toBe(1);
    // The dead one counts until its lease (400 ms) has passed, then as lapsed.
    await vi.waitFor(async () => expect(countPresence({ region, leases: await leases(region) }, Date.now())).toMatchObject({ live: 0, lapsed: 1 }), {
      timeout: 2000,
    });
  });

  it('removes entries forgotten long ago, but not one renewed since it was seen', async () => {
    const region = freshRegion();
    const old = Date.now() - 3_600_000;
    await aws.dynamo.send(
      new PutItemCommand({
        TableName: aws.resources.tableName,
        Item: { request_id: { S: presenceKey(region) }, w_gone: { N: String(old) }, w_back: { N: String(old) } },
      }),
    );
    const r = reporter(region, 'gpu-c', { heartbeatMs: 60_000, leaseMs: 120_000 });
    expect(await r.renew()).toBe(true); // sees both as forgettable
    // gpu-back comes back under the same id before the next renewal.
    await reporter(region, 'back', { heartbeatMs: 60_000, leaseMs: 120_000 }).renew();
    expect(await r.renew()).toBe(true); // the condition fails on w_back: written again without removals
    let now = await leases(region);
    expect(now.has('back')).toBe(true);
    expect(now.has('gone')).toBe(true);
    expect(await r.renew()).toBe(true); // now only w_gone is forgettable
    now = await leases(region);
    expect(now.has('gone')).toBe(false);
    expect(now.has('back')).toBe(true);
    expect(r.counters().forgotten).toBe(1);
    await r.stop();
  });

  it('errors are reported and retried at the next beat, never thrown', async () => {
    const errors: unknown[] = [];
    const r = new PresenceReporter({
      client: aws.dynamo,
      tableName: 'no-such-table',
      region: freshRegion(),
      workerId: 'gpu-e',
      heartbeatMs: 50,
      leaseMs: 200,
      onError: (e) => errors.push(e),
    });
    r.start();
    await vi.waitFor(() => expect(r.counters().failures).toBeGreaterThanOrEqual(2), { timeout: 3000 });
    expect(await r.stop()).toBe(false);
    expect((errors[0] as Error).name).toBe('ResourceNotFoundException');
  });

  it("spaces its beats by the item's billed size, so a worker writes about one unit per heartbeat in a fleet of any size; the lease covers three beats", async () => {
    const region = freshRegion();
    // 100 other workers: an item of about 3 KB, 3 write units a renewal.
    const Item: Record<string, { S: string } | { N: string }> = { request_id: { S: presenceKey(region) } };
    const until = Date.now() + 3_600_000;
    for (let i = 0; i < 100; i++) Item[`w_gpu-node-${String(i).padStart(4, '0')}`] = { N: String(until) };
    await aws.dynamo.send(new PutItemCommand({ TableName: aws.resources.tableName, Item }));
    let now = 1_000_000;
    const r = reporter(region, 'gpu-big', { heartbeatMs: 20_000, leaseMs: 60_000, now: () => now });
    expect(await r.renew()).toBe(true);
    const first = r.counters();
    expect(first.writeUnits).toBeGreaterThanOrEqual(3);
    const units = first.writeUnits;
    // The first lease was written before the size was known; the next beat is not later than it covers thrice.
    expect((await leases(region)).get('gpu-big')).toBe(now + 60_000);
    expect(first.heartbeatMs).toBe(20_000);
    expect(first.leaseMs).toBe(60_000 * units);
    now += 20_000;
    expect(await r.renew()).toBe(true);
    const second = r.counters();
    expect((await leases(region)).get('gpu-big')).toBe(now + 60_000 * units);
    expect(second.heartbeatMs).toBe(20_000 * units);
    expect(second.leaseMs).toBeGreaterThanOrEqual(3 * second.heartbeatMs);
    // Units per heartbeat: about one, whatever the item's size.
    expect((second.writeUnits - first.writeUnits) / (second.heartbeatMs / 20_000)).toBe(1);
    // Without scaling: a beat every heartbeat, each billed on the whole item.
    const fixed = reporter(region, 'gpu-fixed', { heartbeatMs: 20_000, leaseMs: 60_000, now: () => now, scaleWithItemSize: false });
    expect(await fixed.renew()).toBe(true);
    expect(await fixed.renew()).toBe(true);
    expect(fixed.counters().heartbeatMs).toBe(20_000);
    expect(fixed.counters().writeUnits).toBeGreaterThanOrEqual(6);
    await r.stop();
    await fixed.stop();
  });

  it('refuses a bad worker id or timing with a clear error', () => {
    expect(() => reporter('r', 'bad id')).toThrow(/workerId may hold only/);
    expect(() => reporter('r', 'ok', { heartbeatMs: 500, leaseMs: 400 })).toThrow(/leaseMs \(400\) must be longer than heartbeatMs \(500\)/);
  });
});
