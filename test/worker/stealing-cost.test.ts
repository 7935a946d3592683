/**
 * What presence and stealing add per idle worker, measured on the local stack with the real receiver and
 * reporter (timings compressed, requests counted by their counters), then priced at the defaults:
 * PRESENCE.heartbeatSeconds between renewals, checkEverySeconds 30 between readings of two other regions
 * with two lanes each. $0.40 per million SQS requests, $0.625 per million write units, $0.125 per
 * million read units (DynamoDB on demand). Target: at most $0.25 a worker-month for both.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PRESENCE, presenceKey } from '../../core/presence.js';
import { LaneReceiver } from '../../worker/lanes.js';
import { PresenceReporter } from '../../worker/presence.js';
import { StealingReceiver, workerStealingSchema } from '../../worker/stealing.js';
import { startLocalAws, type LocalAws } from '../support/local-aws.js';

let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => {
  await aws?.stop();
});

const HOURS_PER_MONTH = 730;
const PRICE = { sqsRequest: 0.4e-6, writeUnit: 0.625e-6, readUnit: 0.125e-6 };

it('an idle worker with presence and stealing costs at most $0.25 a month', { timeout: 30_000 }, async () => {
  const own = 'us-east-1';
  const lanesOf = (region: string) => {
    const r = aws.resources.regions.find((q) => q.region === region);
    return { normal: r?.queueUrl as string, ...(r?.highQueueUrl ? { high: r.highQueueUrl } : {}) };
  };
  const reporter = new PresenceReporter({ client: aws.dynamo, tableName: aws.resources.tableName, region: own, workerId: 'idle-1', heartbeatMs: 100, leaseMs: 300 });
  const receiver = new StealingReceiver({
    ownRegion: own,
    // Own lanes always empty: the receiver's own idle receives are the lane receiver's (docs/lanes.md), not counted here.
    lanes: new LaneReceiver(async (url) => (await aws.sqs(own).send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 0 }))).Messages?.[0], lanesOf(own), {
      mode: 'sequential',
      idleWaitSeconds: 0,
    }),
    regions: ['us-west-2', 'us-west-1'].map((region) => ({ region, client: aws.sqs(region), queues: lanesOf(region) })),
    settings: { allowRegions: ['us-west-2', 'us-west-1'], checkEverySeconds: 0.1 },
    presence: { client: aws.dynamo, tableName: aws.resources.tableName },
  });
  reporter.start();
  const end = Date.now() + 1500;
  while (Date.now() < end) {
    expect(await receiver.next()).toBeUndefined();
    await new Promise((r) => setTimeout(r, 20));
  }
  await reporter.stop();
  const p = reporter.counters();
  const s = receiver.counters();
  expect(p.renewals).toBeGreaterThanOrEqual(5);
  expect(s.readings).toBeGreaterThanOrEqual(5);
  expect(s.stolen).toBe(0);
  // Per renewal: one UpdateItem; per reading: one GetQueueAttributes per lane of each other region, one BatchGetItem.
  const writesPerRenewal = (p.writes - 1) / p.renewals; // the last write is stop()'s removal
  const sqsPerReading = s.sqsRequests / s.readings;
  const batchGetsPerReading = s.dynamoReads / s.readings;
  expect(writesPerRenewal).toBe(1);
  expect(sqsPerReading).toBe(4);
  expect(batchGetsPerReading).toBe(1);

  const defaults = workerStealingSchema.parse({});
  const renewalsPerHour = 3600 / PRESENCE.heartbeatSeconds;
  const readingsPerHour = 3600 / defaults.checkEverySeconds;
  // A presence item up to 1 KB (about 30 workers with 20-character ids) is 1 write unit per renewal; two
  // eventually consistent item reads of up to 4 KB are 2 x 0.5 read units.
  const perHour = {
    sqsRequests: readingsPerHour * sqsPerReading,
    writeUnits: renewalsPerHour * writesPerRenewal * 1,
    readUnits: readingsPerHour * batchGetsPerReading * 2 * 0.5,
  };
  const perMonth = {
    sqs: perHour.sqsRequests * HOURS_PER_MONTH * PRICE.sqsRequest,
    writes: perHour.writeUnits * HOURS_PER_MONTH * PRICE.writeUnit,
    reads: perHour.readUnits * HOURS_PER_MONTH * PRICE.readUnit,
  };
  const total = perMonth.sqs + perMonth.writes + perMonth.reads;
  console.log(
    `per idle worker-hour: ${perHour.sqsRequests} SQS requests (stealing: ${readingsPerHour} readings x ${sqsPerReading} GetQueueAttributes), ` +
      `${perHour.writeUnits} DynamoDB write units (presence: ${renewalsPerHour} renewals), ${perHour.readUnits} read units (${readingsPerHour} BatchGetItem of 2 items)\n` +
      `per worker-month (${HOURS_PER_MONTH} h): SQS $${perMonth.sqs.toFixed(3)} + writes $${perMonth.writes.toFixed(3)} + reads $${perMonth.reads.toFixed(3)} = $${total.toFixed(3)}`,
  );
  expect(total).toBeLessThanOrEqual(0.25);
});

it("a worker in a region of 100 costs the same: its beats are spaced by the presence item's billed size", { timeout: 30_000 }, async () => {
  const region = 'cost-region-100';
  const Item: Record<string, { S: string } | { N: string }> = { request_id: { S: presenceKey(region) } };
  const until = Date.now() + 3_600_000;
  for (let i = 0; i < 99; i++) Item[`w_gpu-node-${String(i).padStart(12, '0')}`] = { N: String(until) };
  await aws.dynamo.send(new PutItemCommand({ TableName: aws.resources.tableName, Item }));
  const heartbeatMs = 100;
  const run = async (scaleWithItemSize: boolean) => {
    const reporter = new PresenceReporter({ client: aws.dynamo, tableName: aws.resources.tableName, region, workerId: `w-${scaleWithItemSize}`, heartbeatMs, leaseMs: 300, scaleWithItemSize });
    const started = Date.now();
    reporter.start();
    await new Promise((r) => setTimeout(r, 2000));
    reporter.abandon();
    const c = reporter.counters();
    return { unitsPerHeartbeat: c.writeUnits / ((Date.now() - started) / heartbeatMs), unitsPerRenewal: c.writeUnits / c.renewals };
  };
  const scaled = await run(true);
  const fixed = await run(false);
  expect(scaled.unitsPerRenewal).toBeGreaterThanOrEqual(3);
  // About one unit per heartbeat when scaled (the first beat comes before the size is known), the item's size without.
  expect(scaled.unitsPerHeartbeat).toBeLessThan(1.5);
  expect(fixed.unitsPerHeartbeat).toBeGreaterThan(2.5);
  const perMonth = (unitsPerHeartbeat: number) => (3600 / PRESENCE.heartbeatSeconds) * HOURS_PER_MONTH * unitsPerHeartbeat * PRICE.writeUnit;
  console.log(
    `presence in a region of 100 workers (an item of ${scaled.unitsPerRenewal} write units): ${scaled.unitsPerHeartbeat.toFixed(2)} units per heartbeat ` +
      `($${perMonth(1).toFixed(3)} a worker-month at one unit per heartbeat) when scaled; ${fixed.unitsPerHeartbeat.toFixed(2)} ($${perMonth(fixed.unitsPerRenewal).toFixed(3)}) without`,
  );
});
