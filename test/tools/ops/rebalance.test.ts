/**
 * `rebalance` (ops/rebalance.ts) on the whole local stack (event source, intake, the dispatch workflow,
 * DynamoDB and SQS servers, fenced workers, real SDK clients): a backlog placed in us-west-1 while no
 * region had workers; then us-west-1 is drained (capacity 0), the other regions get workers, and the
 * rebalance moves us-west-1's copies (both lanes) back through the master queue. Each request is then
 * processed exactly once, by the other regions' workers, as the fence records say; no DLQ holds anything.
 * A copy a worker holds is left alone; a crash between the send and the delete (the delete refused at the
 * wire by a fault proxy) leaves a stale copy that a us-west-1 worker later drops through the fence.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clearCapacity, writeCapacity, type CapacityTable } from '../../../aws/capacity.js';
import { HOME_REGION } from '../../../core/topology.js';
import { startFaultProxy, type FaultProxy } from '../../../tools/local/faults/proxy.js';
import { startWorkers, type WorkerEvent, type Workers } from '../../../tools/local/fleet/workers.js';
import { LOCAL_CREDENTIALS, sqsAt } from '../../../tools/local/resources.js';
import { startLocalStack, type LocalStack } from '../../../tools/local/stack.js';
import { localStackTarget } from '../../../tools/ops/local-target.js';
import { rebalance, RebalanceRefusedError, type RebalanceDeps } from '../../../tools/ops/rebalance.js';
import type { Target } from '../../../tools/ops/target.js';
import { Fence } from '../../../worker/fence.js';
import { drain, request, until } from '../../support/local-aws.js';

const DRAINED = 'us-west-1';
const OTHERS = ['us-east-1', 'us-west-2'];

let stack: LocalStack;
let target: Target;
let dynamo: DynamoDBClient;
let table: CapacityTable;
const clients: SQSClient[] = [];
const events: WorkerEvent[] = [];

beforeAll(async () => {
  stack = await startLocalStack({
    batchWindowSeconds: 0.2,
    pollers: 2,
    masterVisibilitySeconds: 10,
    // One worker in each other region, stopped until the backlog is placed; none in us-west-1.
    workers: { 'us-east-1': { workers: 1, secondsPerRequest: 0.01 }, 'us-west-2': { workers: 1, secondsPerRequest: 0.01 } },
    fenceLeaseSeconds: 30,
    onWorkerEvent: (e) => events.push(e),
    // Settings kept 2 s by the dispatch (fleetCacheMs): a rebalance waits that long after a capacity set.
    env: { cacheTtlSeconds: 2 },
    quickStop: true,
  });
  for (const region of OTHERS) stack.workers[region]?.setCount(0);
  target = localStackTarget(stack.description);
  const d = stack.description;
  dynamo = new DynamoDBClient({ region: HOME_REGION, endpoint: d.endpoints.dynamodb, credentials: LOCAL_CREDENTIALS });
  table = { client: dynamo, tableName: d.tableName };
}, 60_000);
afterAll(async () => {
  for (const client of clients) client.destroy();
  dynamo?.destroy();
  await stack?.stop();
});

const sqs = (region: string) => {
  const client = sqsAt(region, stack.description.endpoints.sqs[region] as string);
  clients.push(client);
  return client;
};

async function record(requestId: string) {
  const { Item } = await dynamo.send(new GetItemCommand({ TableName: stack.description.tableName, Key: { request_id: { S: requestId } }, ConsistentRead: true }));
  return Item;
}

async function depth(region: string, url: string): Promise<number> {
  const { Attributes: a = {} } = await target.sqs(region).send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
}

/** Every DLQ of the stack (master, master high, dispatch, each region's two lanes): their total depth. */
async function dlqDepth(): Promise<number> {
  const d = stack.description;
  const home = [d.masterDeadLetterQueueUrl, d.dispatchDeadLetterQueueUrl, d.masterHighDeadLetterQueueUrl].filter((u): u is string => Boolean(u));
  let total = 0;
  for (const url of home) total += await depth(HOME_REGION, url);
  for (const r of d.regions) for (const url of [r.deadLetterQueueUrl, r.highDeadLetterQueueUrl].filter((u): u is string => Boolean(u))) total += await depth(r.region, url);
  return total;
}

/**
 * A backlog: with no region's workers running and us-west-1's setting cleared, `count` requests (every
 * third high priority) through the master lanes, each dispatched; then us-west-1 drained (capacity 0).
 * Returns the request_ids placed in us-west-1 and all of them.
 */
async function backlog(prefix: string, count: number): Promise<{ all: string[]; stranded: string[] }> {
  await clearCapacity(table, DRAINED);
  await settled();
  const home = sqs(HOME_REGION);
  const all = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  for (const [i, id] of all.entries()) {
    const high = i % 3 === 0;
    await home.send(
      new SendMessageCommand({
        QueueUrl: high ? (stack.description.masterHighQueueUrl as string) : stack.description.masterQueueUrl,
        MessageBody: JSON.stringify(request(id, { priority: high ? 'high' : 'normal' })),
      }),
    );
  }
  const dispatched = await until(async () => {
    for (const id of all) if ((await record(id))?.status?.S !== 'DISPATCHED') return false;
    return true;
  }, 30_000, 200);
  expect(dispatched, 'every request dispatched').toBe(true);
  const stranded: string[] = [];
  for (const id of all) if ((await record(id))?.region?.S === DRAINED) stranded.push(id);
  await writeCapacity(table, DRAINED, 0, 'test');
  return { all, stranded };
}

/** The dispatch keeps the settings it read this long (env cacheTtlSeconds above). */
const SETTLE_MS = 2_000;
const settled = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS + 300));

const processedBy = (id: string) => events.filter((e) => e.kind === 'processed' && e.requestId === id);

it('moves every waiting copy of a drained region through the master lanes; each request is processed once elsewhere', { timeout: 120_000 }, async () => {
  const { all, stranded } = await backlog('stranded', 24);
  expect(stranded.length).toBeGreaterThan(0);

  // A copy a worker already accepted (a us-west-1 worker holds it: the fence's write, as the worker makes it).
  const held = stranded[0] as string;
  const heldToken = (await record(held))?.token?.S as string;
  const fence = Fence.dynamo(dynamo, stack.description.tableName);
  await fence.accept({ requestId: held, token: heldToken, workerId: 'us-west-1-gpu-held', leaseSeconds: 600 });

  // Still weighed at its configured capacity: refused, naming why.
  await clearCapacity(table, DRAINED);
  const refused = await rebalance(target, { from: DRAINED, waitSeconds: 0 }).catch((e: Error) => e);
  expect(refused).toBeInstanceOf(RebalanceRefusedError);
  expect((refused as Error).message).toMatch(/us-west-1 still takes work: it is weighed at its configured capacity 1.*capacity set us-west-1 0.*--force/);
  await writeCapacity(table, DRAINED, 0, 'test');
  // Set a moment ago: the dispatch may still use what it read before.
  const early = await rebalance(target, { from: DRAINED, waitSeconds: 0, settleMs: SETTLE_MS }).catch((e: Error) => e);
  expect((early as Error).message).toMatch(/us-west-1 was set to 0 only .* s ago.*wait until/);
  await settled();

  // A dry run lists what would move and changes nothing.
  const dry = await rebalance(target, { from: DRAINED, dryRun: true, waitSeconds: 0, settleMs: SETTLE_MS });
  expect(dry.counts['would-move']).toBe(stranded.length - 1);
  expect(dry.entries.find((e) => e.requestId === held)?.outcome).toBe('left');
  expect((await record(stranded[1] as string))?.status?.S).toBe('DISPATCHED');
  expect(new Set(dry.lanes.map((l) => l.lane))).toEqual(new Set(['high', 'normal']));

  // Workers where the backlog goes; then the rebalance.
  for (const region of OTHERS) stack.workers[region]?.setCount(1);
  const progress: number[] = [];
  const result = await rebalance(target, { from: DRAINED, waitSeconds: 0, settleMs: SETTLE_MS, onProgress: (p) => progress.push(p.read) });
  expect(result.ok).toBe(true);
  expect(result.counts).toEqual({ moved: stranded.length - 1, 'would-move': 0, left: 1, failed: 0 });
  expect(progress.length).toBeGreaterThan(0);
  const heldEntry = result.entries.find((e) => e.requestId === held);
  expect(heldEntry?.outcome).toBe('left');
  expect(heldEntry?.detail).toMatch(/a worker \(us-west-1-gpu-held\) holds this copy/);
  expect(result.entries.filter((e) => e.outcome === 'moved').map((e) => e.requestId).sort()).toEqual(stranded.filter((id) => id !== held).sort());

  // Every request but the held one is completed, once, by a worker of another region.
  const others = all.filter((id) => id !== held);
  const done = await until(async () => {
    for (const id of others) if ((await record(id))?.workStatus?.S !== 'COMPLETED') return false;
    return true;
  }, 60_000, 250);
  if (!done) {
    for (const id of others) {
      const r = await record(id);
      if (r?.workStatus?.S !== 'COMPLETED') console.log(id, stranded.includes(id), JSON.stringify(r));
    }
    console.log(OTHERS.map((x) => JSON.stringify(stack.workers[x]?.counts())), events.filter((e) => e.kind !== 'received').slice(-10));
  }
  expect(done, 'every request completed').toBe(true);
  for (const id of others) {
    const r = await record(id);
    expect(OTHERS).toContain(r?.region?.S);
    expect(r?.acceptedBy?.S).toMatch(/^us-(east-1|west-2)-/);
    expect(processedBy(id), id).toHaveLength(1);
  }
  // The held copy is still in us-west-1, its record untouched, its holder still the one that accepted it.
  const heldRecord = await record(held);
  expect(heldRecord?.status?.S).toBe('DISPATCHED');
  expect(heldRecord?.region?.S).toBe(DRAINED);
  expect(heldRecord?.acceptedBy?.S).toBe('us-west-1-gpu-held');
  expect(processedBy(held)).toHaveLength(0);
  const west1 = stack.description.regions.find((r) => r.region === DRAINED)!;
  expect((await depth(DRAINED, west1.queueUrl)) + (await depth(DRAINED, west1.highQueueUrl as string))).toBe(1);
  expect(await dlqDepth()).toBe(0);
  // The held copy finished by its holder, out of the queue, for the next test.
  await fence.complete({ requestId: held, token: heldToken, workerId: 'us-west-1-gpu-held' });
  const reader = sqs(DRAINED);
  for (const url of [west1.queueUrl, west1.highQueueUrl as string]) await drain(reader, url);
});

it('a crash between the send and the delete leaves a stale copy, which a worker then drops', { timeout: 120_000 }, async () => {
  for (const region of OTHERS) stack.workers[region]?.setCount(0);
  await until(() => OTHERS.every((r) => (stack.workers[r]?.counts().busy ?? 0) === 0 && (stack.workers[r]?.counts().retiring ?? 0) === 0), 10_000);
  const { all, stranded } = await backlog('stale', 15);
  expect(stranded.length).toBeGreaterThan(0);
  await settled();

  // us-west-1's SQS behind a fault proxy that refuses the next DeleteMessage (each of the SDK's attempts):
  // the copy was sent to the master queue, and is not deleted, as if the run died between the two.
  const proxy: FaultProxy = await startFaultProxy({ target: stack.description.endpoints.sqs[DRAINED] as string, service: 'sqs', name: 'sqs us-west-1' });
  const faulty = new SQSClient({ region: DRAINED, endpoint: proxy.endpoint, credentials: LOCAL_CREDENTIALS });
  clients.push(faulty);
  const deps: RebalanceDeps = { ...target, sqs: (region) => (region === DRAINED ? faulty : target.sqs(region)) };
  proxy.rules.add({ actions: ['DeleteMessage'], mode: 'error', error: 'internal' });
  for (const region of OTHERS) stack.workers[region]?.setCount(1);
  let crashed;
  try {
    crashed = await rebalance(deps, { from: DRAINED, max: 1, waitSeconds: 0, settleMs: SETTLE_MS });
  } finally {
    proxy.rules.clear();
  }
  expect(crashed.counts.failed).toBe(1);
  const stale = crashed.entries.find((e) => e.outcome === 'failed')!;
  expect(stale.sentMessageId).toBeTruthy();
  expect(stale.detail).toMatch(/deleting the copy from .* failed.*stale copy/);

  // The master copy is dispatched again, with a new token, and processed once by another region.
  const requestId = stale.requestId as string;
  const redone = await until(async () => (await record(requestId))?.workStatus?.S === 'COMPLETED', 30_000, 200);
  expect(redone).toBe(true);
  const r = await record(requestId);
  expect(r?.token?.S).not.toBe(stale.token);
  expect(OTHERS).toContain(r?.region?.S);

  // The rest moves in a second run; the stale copy is left (its token is no longer the record's).
  const rest = await rebalance(target, { from: DRAINED, waitSeconds: 0, settleMs: SETTLE_MS });
  expect(rest.ok).toBe(true);
  expect(rest.counts.moved).toBe(stranded.length - 1);
  const leftStale = rest.entries.find((e) => e.requestId === requestId);
  expect(leftStale?.outcome).toBe('left');
  expect(leftStale?.detail).toMatch(/finished this request|stale/);

  // A us-west-1 worker comes back and receives the stale copy: the fence drops it, unprocessed.
  const west1 = stack.description.regions.find((x) => x.region === DRAINED)!;
  const mine: WorkerEvent[] = [];
  const pool: Workers = startWorkers({
    region: DRAINED,
    client: sqs(DRAINED),
    queueUrl: west1.queueUrl,
    ...(west1.highQueueUrl ? { highQueueUrl: west1.highQueueUrl } : {}),
    workers: 1,
    secondsPerRequest: 0.01,
    fence: { tableName: stack.description.tableName, client: dynamo, leaseSeconds: 30 },
    onEvent: (e) => mine.push(e),
    abortReceivesOnStop: true,
  });
  try {
    const dropped = await until(() => mine.some((e) => e.kind === 'dropped' && e.requestId === requestId), 20_000, 100);
    expect(dropped, 'the stale copy dropped').toBe(true);
  } finally {
    await pool.stop();
  }
  expect(mine.filter((e) => e.kind === 'processed')).toHaveLength(0);
  expect(mine.find((e) => e.kind === 'dropped')?.reason).toBe('ALREADY_COMPLETED');

  // Every request of the run processed exactly once; nothing in any DLQ.
  const done = await until(async () => {
    for (const id of all) if ((await record(id))?.workStatus?.S !== 'COMPLETED') return false;
    return true;
  }, 60_000, 250);
  expect(done).toBe(true);
  for (const id of all) expect(processedBy(id), id).toHaveLength(1);
  expect(await dlqDepth()).toBe(0);
  await proxy.stop();
});
