/**
 * worker/stealing.ts against one fauxqs server per region and dynalite, through the real SDK clients:
 * the own lanes first; with them empty, the high lane of the region with the longest backlog per
 * worker (presence read from the table); nothing outside the allow-list or the latency limit; a model
 * the worker does not serve handed back (visible again at once) and counted; two stealing workers
 * racing for two copies of one request through the fence: one processes it.
 */
import { randomUUID } from 'node:crypto';
import { ChangeMessageVisibilityCommand, GetQueueAttributesCommand, PurgeQueueCommand, ReceiveMessageCommand, SendMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { DeleteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { presenceKey } from '../../core/presence.js';
import { MESSAGE_ATTRIBUTE, RECORD_STATUS } from '../../core/record.js';
import { Fence } from '../../worker/fence.js';
import { LaneReceiver } from '../../worker/lanes.js';
import { StealingReceiver, parseStealingSettings, type WorkerStealingInput } from '../../worker/stealing.js';
import { fenced } from '../../worker/wrapper.js';
import { request, startLocalAws, type LocalAws } from '../support/local-aws.js';

let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => {
  await aws?.stop();
});

const lanesOf = (region: string) => {
  const r = aws.resources.regions.find((q) => q.region === region);
  if (!r?.highQueueUrl) throw new Error(`no lanes for ${region}`);
  return { normal: r.queueUrl, high: r.highQueueUrl };
};

beforeEach(async () => {
  for (const r of aws.resources.regions) {
    for (const url of [r.queueUrl, r.highQueueUrl]) if (url) await aws.sqs(r.region).send(new PurgeQueueCommand({ QueueUrl: url }));
    await aws.dynamo.send(new DeleteItemCommand({ TableName: aws.resources.tableName, Key: { request_id: { S: presenceKey(r.region) } } }));
  }
});

async function put(region: string, lane: 'normal' | 'high', requestId: string, model = 'gpt-l-7b', token = `tok-${requestId}`): Promise<void> {
  await aws.sqs(region).send(
    new SendMessageCommand({
      QueueUrl: lanesOf(region)[lane],
      MessageBody: JSON.stringify(request(requestId, { model_name: model })),
      MessageAttributes: {
        [MESSAGE_ATTRIBUTE.requestId]: { DataType: 'String', StringValue: requestId },
        [MESSAGE_ATTRIBUTE.dispatchToken]: { DataType: 'String', StringValue: token },
        [MESSAGE_ATTRIBUTE.model]: { DataType: 'String', StringValue: model },
      },
    }),
  );
}

/** A worker of `own` with stealing settings; its own lanes polled without waiting. */
function stealer(own: string, settings: WorkerStealingInput, withPresence = true) {
  const lanes = new LaneReceiver(
    async (queueUrl, wait) =>
      (await aws.sqs(own).send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: Math.min(wait, 0), MessageAttributeNames: ['All'] })))
        .Messages?.[0],
    lanesOf(own),
    { mode: 'sequential', idleWaitSeconds: 0 },
  );
  const errors: unknown[] = [];
  const receiver = new StealingReceiver({
    ownRegion: own,
    lanes,
    regions: aws.resources.regions.map((r) => ({ region: r.region, client: aws.sqs(r.region), queues: lanesOf(r.region) })),
    settings: { checkEverySeconds: 0.001, otherHighFirst: false, fleetlessFirst: false, ...settings },
    ...(withPresence ? { presence: { client: aws.dynamo, tableName: aws.resources.tableName } } : {}),
    onError: (e) => errors.push(e),
  });
  return { receiver, errors };
}

const visible = async (region: string, lane: 'normal' | 'high') =>
  Number(
    (await aws.sqs(region).send(new GetQueueAttributesCommand({ QueueUrl: lanesOf(region)[lane], AttributeNames: ['ApproximateNumberOfMessages'] }))).Attributes
      ?.ApproximateNumberOfMessages,
  );

const idOf = (m: Message | undefined) => m?.MessageAttributes?.[MESSAGE_ATTRIBUTE.requestId]?.StringValue;

async function presence(region: string, live: number) {
  const until = Date.now() + 60_000;
  const item: Record<string, { S: string } | { N: string }> = { request_id: { S: presenceKey(region) } };
  for (let i = 0; i < live; i++) item[`w_p${i}`] = { N: String(until) };
  await aws.dynamo.send(new PutItemCommand({ TableName: aws.resources.tableName, Item: item }));
}

describe('StealingReceiver', () => {
  it('own lanes first; then high lanes first; then the longest backlog per live worker', async () => {
    await presence('us-west-2', 4); // 4 messages for 4 workers: 1 each
    await presence('us-west-1', 1); // 2 messages for 1 worker: 2 each
    await put('us-east-1', 'normal', 'own-1');
    for (let i = 0; i < 4; i++) await put('us-west-2', 'normal', `w2-${i}`);
    await put('us-west-1', 'normal', 'w1-0');
    await put('us-west-1', 'normal', 'w1-1');
    await put('us-west-2', 'high', 'w2-high');
    // A high message counts even at 0.25 per worker here; normal ones compare 1 (us-west-2) with 2 (us-west-1).
    const { receiver, errors } = stealer('us-east-1', { allowRegions: ['us-west-2', 'us-west-1'], minBacklogPerWorker: 0.2 });
    const first = await receiver.next();
    expect([first?.region, first?.stolen, idOf(first?.message)]).toEqual(['us-east-1', false, 'own-1']);
    const second = await receiver.next();
    expect([second?.region, second?.lane, second?.stolen, idOf(second?.message)]).toEqual(['us-west-2', 'high', true, 'w2-high']);
    const third = await receiver.next();
    expect([third?.region, third?.lane]).toEqual(['us-west-1', 'normal']);
    // The caller deletes with the message's region's client: TakenMessage.client.
    expect(third?.client).toBe(aws.sqs('us-west-1'));
    const c = receiver.counters();
    expect(c.stolen).toBe(2);
    expect(c.byRegion['us-west-2']?.stolen).toBe(1);
    expect(c.byRegion['us-west-1']?.stolen).toBe(1);
    expect(c.byRegion['us-west-1']?.latencyMs).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });

  it('keeps to the allow-list and the latency limit; an empty allow-list makes no request', async () => {
    for (let i = 0; i < 3; i++) await put('us-west-2', 'normal', `al-${i}`);
    const onlyWest1 = stealer('us-east-1', { allowRegions: ['us-west-1'] }).receiver;
    expect(await onlyWest1.next()).toBeUndefined();
    expect(onlyWest1.counters().stolen).toBe(0);
    expect(Object.keys(onlyWest1.counters().byRegion)).toEqual(['us-west-1']);

    const tooFar = stealer('us-east-1', { allowRegions: ['us-west-2'], maxLatencyMs: 0.0001 }).receiver;
    expect(await tooFar.next()).toBeUndefined();
    expect(tooFar.counters().readings).toBe(1);
    expect(tooFar.counters().stolen).toBe(0);

    const off = stealer('us-east-1', {}).receiver;
    expect(off.enabled).toBe(false);
    expect(await off.next()).toBeUndefined();
    expect(off.counters()).toMatchObject({ readings: 0, sqsRequests: 0, dynamoReads: 0 });
    expect(await visible('us-west-2', 'normal')).toBe(3);
  });

  it('hands back at once a model it does not serve, and counts it', async () => {
    await put('us-west-2', 'normal', 'other-model', 'llama-70b');
    const { receiver } = stealer('us-east-1', { allowRegions: ['us-west-2'], models: ['gpt-l-7b'] });
    expect(await receiver.next()).toBeUndefined();
    expect(receiver.counters().handedBackForModel).toBe(1);
    expect(receiver.counters().byRegion['us-west-2']?.handedBackForModel).toBe(1);
    // Visible again at once: a receive without waiting gets it.
    const again = await aws.sqs('us-west-2').send(new ReceiveMessageCommand({ QueueUrl: lanesOf('us-west-2').normal, WaitTimeSeconds: 0, MessageAttributeNames: ['All'] }));
    expect(idOf(again.Messages?.[0])).toBe('other-model');
    // A worker that serves every model takes such a copy.
    await aws.sqs('us-west-2').send(new PurgeQueueCommand({ QueueUrl: lanesOf('us-west-2').normal }));
    await put('us-west-2', 'normal', 'any-model', 'llama-70b');
    const any = stealer('us-east-1', { allowRegions: ['us-west-2'] }).receiver;
    expect(idOf((await any.next())?.message)).toBe('any-model');
  });

  it('refuses bad settings with clear errors', () => {
    expect(() => parseStealingSettings({ allowRegions: [''] })).toThrow(/stealing: allowRegions\.0:/);
    expect(() => parseStealingSettings({ maxLatencyMs: -1 })).toThrow(/stealing: maxLatencyMs:/);
    expect(() => parseStealingSettings({ minBacklogPerWorker: 'x' })).toThrow(/stealing: minBacklogPerWorker:/);
    expect(() => stealer('us-east-1', { allowRegions: ['eu-west-9'] })).toThrow(/allowRegions names eu-west-9, for which no queues were given/);
  });

  it('two stealing workers race for two copies of one request: one processes it, the other drops its copy', async () => {
    const id = `race-${randomUUID().slice(0, 8)}`;
    await aws.dynamo.send(
      new PutItemCommand({ TableName: aws.resources.tableName, Item: { request_id: { S: id }, status: { S: RECORD_STATUS.dispatched }, token: { S: 'tok-1' } } }),
    );
    // Two copies (an ambiguous send forwarded again) in us-west-2, no worker there.
    await put('us-west-2', 'normal', id, 'gpt-l-7b', 'tok-1');
    await put('us-west-2', 'normal', id, 'gpt-l-7b', 'tok-2');
    const runs: string[] = [];
    const worker = (own: string) => {
      const { receiver } = stealer(own, { allowRegions: ['us-west-2'], minBacklogPerWorker: 0.5 });
      const work = fenced(async () => void runs.push(own), { fence: Fence.dynamo(aws.dynamo, aws.resources.tableName), workerId: `w-${own}`, leaseSeconds: 30 });
      return async () => {
        const taken = await receiver.next();
        if (!taken) return 'none';
        expect(taken.stolen).toBe(true);
        const outcome = await work(taken.message);
        return outcome.skipped ? `dropped ${outcome.reason}` : 'processed';
      };
    };
    const results = await Promise.all([worker('us-east-1')(), worker('us-west-1')()]);
    expect(results.filter((r) => r === 'processed')).toHaveLength(1);
    expect(results.filter((r) => r.startsWith('dropped'))).toHaveLength(1);
    expect(runs).toHaveLength(1);
  });
});

describe('StealingReceiver with watched own lanes (the deployed receiver)', () => {
  it('takes stolen message after stolen message without waiting for an own long poll, and an own message that arrives comes first', async () => {
    const own = 'us-east-1';
    const longPolls: number[] = [];
    const lanes = new LaneReceiver(
      async (queueUrl, wait) => {
        if (wait > 0) longPolls.push(wait);
        return (await aws.sqs(own).send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: wait, MessageAttributeNames: ['All'] })))
          .Messages?.[0];
      },
      lanesOf(own),
      { idleWaitSeconds: 1, idleRestSeconds: 0 },
    );
    const errors: unknown[] = [];
    const receiver = new StealingReceiver({
      ownRegion: own,
      lanes,
      regions: aws.resources.regions.map((r) => ({ region: r.region, client: aws.sqs(r.region), queues: lanesOf(r.region) })),
      settings: { allowRegions: ['us-west-2'], checkEverySeconds: 0.001, otherHighFirst: false, fleetlessFirst: false },
      onError: (e) => errors.push(e),
    });
    for (let i = 0; i < 4; i++) await put('us-west-2', 'normal', `run-${i}`);
    const first = await receiver.next();
    expect([first?.region, first?.stolen]).toEqual(['us-west-2', true]);
    const pollsAtFirstSteal = longPolls.length;
    const second = await receiver.next();
    const third = await receiver.next();
    expect([second?.stolen, third?.stolen]).toEqual([true, true]);
    // Between stolen messages, no own long poll was started: the own lanes were asked without waiting.
    expect(longPolls.length).toBe(pollsAtFirstSteal);
    await put(own, 'normal', 'own-arrived');
    const fourth = await receiver.next();
    expect([fourth?.region, fourth?.stolen, idOf(fourth?.message)]).toEqual([own, false, 'own-arrived']);
    const fifth = await receiver.next();
    expect([fifth?.region, fifth?.stolen]).toEqual(['us-west-2', true]);
    expect(new Set([first, second, third, fifth].map((m) => idOf(m?.message)))).toEqual(new Set(['run-0', 'run-1', 'run-2', 'run-3']));
    for (const m of await receiver.close()) await aws.sqs(own).send(new ChangeMessageVisibilityCommand({ QueueUrl: m.queueUrl, ReceiptHandle: m.message.ReceiptHandle as string, VisibilityTimeout: 0 }));
    expect(errors).toEqual([]);
  });
});

describe('StealingReceiver before the own normal lane (otherHighFirst, fleetlessFirst)', () => {
  it("takes the own high lane, then another region's high lane, then a fleetless region's backlog, and only then its own normal lane", async () => {
    // us-west-2's fleet vanished: its presence item holds only a lapsed entry.
    await aws.dynamo.send(
      new PutItemCommand({ TableName: aws.resources.tableName, Item: { request_id: { S: presenceKey('us-west-2') }, w_gone: { N: String(Date.now() - 5_000) } } }),
    );
    await presence('us-west-1', 3);
    await put('us-east-1', 'normal', 'own-n1');
    await put('us-east-1', 'normal', 'own-n2');
    await put('us-east-1', 'high', 'own-h');
    await put('us-west-1', 'high', 'w1-h');
    await put('us-west-1', 'normal', 'w1-n');
    await put('us-west-2', 'normal', 'w2-n1');
    await put('us-west-2', 'normal', 'w2-n2');
    const { receiver, errors } = stealer('us-east-1', { allowRegions: ['us-west-2', 'us-west-1'], otherHighFirst: true, fleetlessFirst: true });
    const taken: string[] = [];
    for (let i = 0; i < 7; i++) {
      const m = await receiver.next();
      taken.push(`${m?.region}:${m?.lane}:${idOf(m?.message)}`);
    }
    expect(taken.slice(0, 2)).toEqual(['us-east-1:high:own-h', 'us-west-1:high:w1-h']);
    expect(new Set(taken.slice(2, 4))).toEqual(new Set(['us-west-2:normal:w2-n1', 'us-west-2:normal:w2-n2']));
    expect(new Set(taken.slice(4, 6))).toEqual(new Set(['us-east-1:normal:own-n1', 'us-east-1:normal:own-n2']));
    // us-west-1's normal backlog (1 for 3 live workers) is under the minimum: left to its own fleet.
    expect(taken[6]).toBe('undefined:undefined:undefined');
    expect(receiver.counters().stolen).toBe(3);
    expect(errors).toEqual([]);
  });

  it('with neither setting, the own normal lane comes before any other region', async () => {
    await aws.dynamo.send(
      new PutItemCommand({ TableName: aws.resources.tableName, Item: { request_id: { S: presenceKey('us-west-2') }, w_gone: { N: String(Date.now() - 5_000) } } }),
    );
    await put('us-east-1', 'normal', 'own-n1');
    await put('us-west-2', 'normal', 'w2-n1');
    const { receiver } = stealer('us-east-1', { allowRegions: ['us-west-2'] });
    const first = await receiver.next();
    expect([first?.region, idOf(first?.message)]).toEqual(['us-east-1', 'own-n1']);
    expect(receiver.counters().readings).toBe(0);
  });
});
