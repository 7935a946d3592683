/**
 * A region whose fleet vanishes, on the whole local stack (intake, dispatch workflow, one SQS server per
 * region, dynalite) with simulated workers that report presence and steal (tools/local/fleet/workers.ts
 * `presence`, `stealing`): every worker of us-west-2 is killed (none restarting) while it has a backlog;
 * the other regions' workers drain it by stealing, through the fence. Every request is processed exactly
 * once (the workers' events and the fence's records agree), nothing is left in any queue or DLQ, and the
 * vanished region's presence shows no live worker.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { countPresence, leasesFromAttributes, presenceKey } from '../../../../core/presence.js';
import { startWorkers, sumSteals, type WorkerEvent, type Workers } from '../../../../tools/local/fleet/workers.js';
import { LOCAL_CREDENTIALS, sqsAt } from '../../../../tools/local/resources.js';
import { startLocalStack, type LocalStack } from '../../../../tools/local/stack.js';
import { request, until } from '../../../support/local-aws.js';

const VICTIM = 'us-west-2';
const REQUESTS = 60;
const LEASE_SECONDS = 3;

let stack: LocalStack;
let dynamo: DynamoDBClient;
const clients: Record<string, SQSClient> = {};

beforeAll(async () => {
  stack = await startLocalStack({ regionalVisibilitySeconds: LEASE_SECONDS, quickStop: true });
  const d = stack.description;
  dynamo = new DynamoDBClient({ region: d.homeRegion, endpoint: d.endpoints.dynamodb, credentials: LOCAL_CREDENTIALS, maxAttempts: 2 });
  for (const [region, endpoint] of Object.entries(d.endpoints.sqs)) clients[region] = sqsAt(region, endpoint);
});
afterAll(async () => {
  await stack?.stop();
  dynamo?.destroy();
  for (const c of Object.values(clients)) c.destroy();
});

const depth = async (region: string, url: string) => {
  const { Attributes: a = {} } = await (clients[region] as SQSClient).send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(a.ApproximateNumberOfMessages) + Number(a.ApproximateNumberOfMessagesNotVisible);
};

it('a vanished region is drained by the others through stealing, every request processed once, no DLQ', { timeout: 120_000 }, async () => {
  const d = stack.description;
  const events: WorkerEvent[] = [];
  const presence = { tableName: d.tableName, client: dynamo };
  const pools: Record<string, Workers> = {};
  for (const r of d.regions) {
    const others = d.regions.filter((o) => o.region !== r.region);
    pools[r.region] = startWorkers({
      region: r.region,
      client: clients[r.region] as SQSClient,
      queueUrl: r.queueUrl,
      ...(r.highQueueUrl ? { highQueueUrl: r.highQueueUrl } : {}),
      // The victim's workers are slow, so it holds a backlog when they die.
      workers: 2,
      secondsPerRequest: r.region === VICTIM ? 1 : 0.1,
      fence: { tableName: d.tableName, client: dynamo, leaseSeconds: LEASE_SECONDS },
      presence: { ...presence, heartbeatMs: 300, leaseMs: 1000 },
      stealing: {
        settings: { allowRegions: others.map((o) => o.region), checkEverySeconds: 0.3, minBacklogPerWorker: 0.5 },
        regions: others.map((o) => ({
          region: o.region,
          client: clients[o.region] as SQSClient,
          queues: { normal: o.queueUrl, ...(o.highQueueUrl ? { high: o.highQueueUrl } : {}) },
        })),
        presence,
      },
      onEvent: (e) => events.push(e),
    });
  }
  const home = clients[d.homeRegion] as SQSClient;
  const ids = Array.from({ length: REQUESTS }, (_, i) => `req-vanish-${i}`);
  for (let i = 0; i < ids.length; i += 10) {
    await home.send(
      new SendMessageBatchCommand({
        QueueUrl: d.masterQueueUrl,
        Entries: ids.slice(i, i + 10).map((id, j) => ({ Id: String(j), MessageBody: JSON.stringify(request(id)) })),
      }),
    );
  }
  const victim = d.regions.find((r) => r.region === VICTIM);
  if (!victim) throw new Error('no victim region');
  // The victim has started working and still has a backlog: its whole fleet dies.
  expect(await until(async () => events.some((e) => e.region === VICTIM && e.kind === 'processed') && (await depth(VICTIM, victim.queueUrl)) >= 3, 30_000)).toBe(true);
  const backlogAtKill = await depth(VICTIM, victim.queueUrl);
  await pools[VICTIM]?.kill();
  const killedAt = Date.now();

  const processedIds = () => new Set(events.filter((e) => e.kind === 'processed').map((e) => e.requestId));
  expect(await until(() => processedIds().size === REQUESTS, 90_000, 200)).toBe(true);
  const drainedAfterMs = Date.now() - killedAt;
  // Every queue and DLQ empty (in flight included).
  const queues = [d.masterQueueUrl, d.masterDeadLetterQueueUrl, d.dispatchDeadLetterQueueUrl, d.masterHighQueueUrl, d.masterHighDeadLetterQueueUrl].filter(
    (u): u is string => Boolean(u),
  );
  expect(
    await until(async () => {
      const all = await Promise.all([
        ...queues.map((u) => depth(d.homeRegion, u)),
        ...d.regions.flatMap((r) =>
          [r.queueUrl, r.deadLetterQueueUrl, r.highQueueUrl, r.highDeadLetterQueueUrl].filter((u): u is string => Boolean(u)).map((u) => depth(r.region, u)),
        ),
      ]);
      return all.every((n) => n === 0);
    }, 30_000),
  ).toBe(true);
  const steals = sumSteals(Object.values(pools).map((p) => p.stealCounters()));
  await Promise.all(Object.entries(pools).filter(([r]) => r !== VICTIM).map(([, p]) => p.stop()));

  // Exactly once: one completed processing per request, and the fence's record says COMPLETED.
  const processed = events.filter((e) => e.kind === 'processed');
  const perRequest = new Map<string, number>();
  for (const e of processed) perRequest.set(e.requestId ?? '?', (perRequest.get(e.requestId ?? '?') ?? 0) + 1);
  expect([...perRequest.values()].every((n) => n === 1)).toBe(true);
  expect(processed.filter((e) => e.reason)).toEqual([]);
  for (const id of ids) {
    const { Item } = await dynamo.send(new GetItemCommand({ TableName: d.tableName, Key: { request_id: { S: id } }, ConsistentRead: true }));
    expect(Item?.workStatus?.S, id).toBe('COMPLETED');
  }
  // The victim's backlog went to the other regions by stealing.
  const stolen = processed.filter((e) => e.stolenFrom === VICTIM);
  expect(stolen.length).toBeGreaterThanOrEqual(backlogAtKill - 2);
  expect(steals.byRegion[VICTIM]?.stolen).toBeGreaterThanOrEqual(stolen.length);
  // Its fleet shows no live worker (killed: entries lapsed, not removed); the others removed theirs on stop.
  const read = async (region: string) => {
    const { Item } = await dynamo.send(new GetItemCommand({ TableName: d.tableName, Key: { request_id: { S: presenceKey(region) } }, ConsistentRead: true }));
    return countPresence({ region, leases: leasesFromAttributes(Object.fromEntries(Object.entries(Item ?? {}).map(([k, v]) => [k, v.N ?? v.S]))) }, Date.now());
  };
  expect(await read(VICTIM)).toMatchObject({ live: 0, lapsed: 2 });
  expect(await read('us-east-1')).toMatchObject({ live: 0, lapsed: 0 });
  const killedHolding = events.filter((e) => e.region === VICTIM && e.kind === 'crashed').length;
  console.log(
    `vanished ${VICTIM}: backlog ${backlogAtKill} at the kill (${killedHolding} copies held by killed workers), ` +
      `all ${REQUESTS} processed once ${drainedAfterMs} ms after; ${stolen.length} stolen from it; ` +
      `steals by source region ${JSON.stringify(steals.byRegion)}`,
  );
});
