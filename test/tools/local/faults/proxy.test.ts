/**
 * The fault proxy, driven by the real SDK clients against dynalite, fauxqs and the local Step Functions
 * endpoint. Each fault is checked on both sides: what the caller got, and what the server did (read
 * directly, bypassing the proxy).
 */
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SFNClient, StartSyncExecutionCommand } from '@aws-sdk/client-sfn';
import { ZodError } from 'zod';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRunner } from '../../../../tools/local/emulators/asl-runner.js';
import { startFaultProxy, type FaultProxy, type FaultRecord } from '../../../../tools/local/faults/proxy.js';
import { LOCAL_CREDENTIALS } from '../../../../tools/local/resources.js';
import { startDynamo, startSqs, type DynamoServer, type SqsServer } from '../../../../tools/local/emulators/servers.js';
import { startStepFunctionsEndpoint, type StepFunctionsEndpoint } from '../../../../tools/local/emulators/sfn-endpoint.js';
import { startLocalStack } from '../../../../tools/local/stack.js';
import { drain, envelope, executionInput, queueEmpty, request, until, useLocalDispatch } from '../../../support/local-aws.js';

const REGION = 'us-east-1';
const TABLE = 'fault-proxy-table';
const MACHINE = 'fault-proxy-machine';

/** A short request timeout that throws (without throwOnRequestTimeout the SDK only logs a warning). */
const timeout = (ms: number) => ({ requestHandler: { requestTimeout: ms, throwOnRequestTimeout: true } as never });

const dynamoAt = (endpoint: string, extra: object = {}) =>
  new DynamoDBClient({ region: REGION, endpoint, credentials: LOCAL_CREDENTIALS, maxAttempts: 1, ...extra });

/**
 * A retry strategy that records how the SDK's retry middleware classified each error (THROTTLING,
 * TRANSIENT, ...) and retries at once, up to `retries` times.
 */
function recordingRetry(retries: number) {
  const errorTypes: string[] = [];
  let count = 0;
  const token = () => ({ getRetryCount: () => count, getRetryDelay: () => 0 });
  return {
    errorTypes,
    retryStrategy: {
      acquireInitialRetryToken: async () => ((count = 0), token()),
      refreshRetryTokenForRetry: async (_token: unknown, info: { errorType: string }) => {
        errorTypes.push(info.errorType);
        if (count >= retries) throw new Error('no retries left');
        count++;
        return token();
      },
      recordSuccess: () => undefined,
    } as never,
  };
}

/** What a promise settled to: 'ok' or the error, so outcomes can be compared as lists. */
const outcome = (p: Promise<unknown>) =>
  p.then(
    () => 'ok' as const,
    (error: Error) => error,
  );

let dynamo: DynamoServer;
let sqsServer: SqsServer;
let sfn: StepFunctionsEndpoint;
let ddbProxy: FaultProxy;
let sqsProxy: FaultProxy;
let sfnProxy: FaultProxy;
let direct: DynamoDBClient; // the test's own view of the table, bypassing the proxy
let client: DynamoDBClient; // the caller under fault
const clients: Array<{ destroy(): void }> = [];
const track = <T extends { destroy(): void }>(c: T) => (clients.push(c), c);

beforeAll(async () => {
  [dynamo, sqsServer] = await Promise.all([startDynamo(), startSqs(REGION)]);
  const definition = { StartAt: 'Only', States: { Only: { Type: 'Pass', End: true } } };
  sfn = await startStepFunctionsEndpoint({
    region: REGION,
    stateMachines: [{ name: MACHINE, runner: createRunner(definition, { lambdas: {} }), definition, type: 'EXPRESS' }],
  });
  [ddbProxy, sqsProxy, sfnProxy] = await Promise.all([
    startFaultProxy({ target: dynamo.endpoint, service: 'dynamodb' }),
    startFaultProxy({ target: sqsServer.endpoint, service: 'sqs' }),
    startFaultProxy({ target: sfn.endpoint, service: 'stepfunctions' }),
  ]);
  direct = track(dynamoAt(dynamo.endpoint));
  client = track(dynamoAt(ddbProxy.endpoint));
  await direct.send(
    new CreateTableCommand({
      TableName: TABLE,
      KeySchema: [{ AttributeName: 'k', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'k', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  await Promise.all([ddbProxy?.stop(), sqsProxy?.stop(), sfnProxy?.stop()]);
  await Promise.all([dynamo?.stop(), sqsServer?.stop(), sfn?.stop()]);
});

afterEach(() => {
  for (const proxy of [ddbProxy, sqsProxy, sfnProxy]) {
    proxy.rules.clear();
    proxy.stats.reset();
  }
});

const put = (key: string, via: DynamoDBClient = client) => via.send(new PutItemCommand({ TableName: TABLE, Item: { k: { S: key } } }));
const get = (key: string, via: DynamoDBClient = client) => via.send(new GetItemCommand({ TableName: TABLE, Key: { k: { S: key } } }));
/** Whether the item is in the table, read directly. */
const written = async (key: string) => (await get(key, direct)).Item !== undefined;

describe('pass-through', () => {
  it('forwards requests unchanged and streams the answers back, counting them', async () => {
    await put('pass-1');
    expect((await get('pass-1')).Item?.k?.S).toBe('pass-1');
    expect(ddbProxy.stats.action('PutItem')).toMatchObject({ seen: 1, passed: 1, forwarded: 1 });
    expect(ddbProxy.stats.action('GetItem')).toMatchObject({ seen: 1, passed: 1, forwarded: 1 });
    expect(ddbProxy.stats.faults()).toEqual([]);
  });

  it('serves fauxqs queues whose URLs name fauxqs own port (SQS JSON sends QueueUrl in the body)', async () => {
    const own = track(new SQSClient({ region: REGION, endpoint: sqsServer.endpoint, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 }));
    const { QueueUrl } = await own.send(new CreateQueueCommand({ QueueName: 'pass-through' }));
    expect(QueueUrl).toContain(`:${new URL(sqsServer.endpoint).port}/`);
    const proxied = track(new SQSClient({ region: REGION, endpoint: sqsProxy.endpoint, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 }));
    await proxied.send(new SendMessageCommand({ QueueUrl, MessageBody: 'through the proxy' }));
    const { Messages = [] } = await own.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
    expect(Messages.map((m) => m.Body)).toEqual(['through the proxy']);
    expect(sqsProxy.stats.action('SendMessage')).toMatchObject({ seen: 1, passed: 1 });
  });
});

describe('refuse', () => {
  it('resets the connection before forwarding: the caller sees a network error and nothing is written', async () => {
    ddbProxy.rules.once('PutItem', { mode: 'refuse' });
    const error = await outcome(put('refuse-1'));
    expect(error).toMatchObject({ code: 'ECONNRESET' });
    expect(await written('refuse-1')).toBe(false);
    expect(ddbProxy.stats.action('PutItem')).toMatchObject({ seen: 1, passed: 0, forwarded: 0, faulted: { refuse: 1 } });
  });

  it('keeps keep-alive working: after a reset the client reconnects and goes on reusing its socket', async () => {
    const fresh = track(dynamoAt(ddbProxy.endpoint));
    await put('ka-1', fresh);
    await put('ka-2', fresh);
    expect(ddbProxy.stats.snapshot().connections.opened).toBe(1); // the two calls shared one socket
    ddbProxy.rules.once('PutItem', { mode: 'refuse' });
    expect(await outcome(put('ka-3', fresh))).toMatchObject({ code: 'ECONNRESET' });
    await put('ka-4', fresh);
    await put('ka-5', fresh);
    expect(ddbProxy.stats.snapshot().connections.opened).toBe(2);
    expect(await Promise.all(['ka-1', 'ka-2', 'ka-3', 'ka-4', 'ka-5'].map(written))).toEqual([true, true, false, true, true]);
  });

  it('at connection level closes new sockets at once, as a server that is down', async () => {
    ddbProxy.rules.add({ mode: 'refuse', at: 'connection', times: 1 });
    const fresh = track(dynamoAt(ddbProxy.endpoint));
    expect(await outcome(put('conn-1', fresh))).toBeInstanceOf(Error);
    await put('conn-2', fresh);
    expect(ddbProxy.stats.snapshot().connections).toEqual({ opened: 2, refused: 1 });
    expect(ddbProxy.stats.faults()).toMatchObject([{ action: '(connection)', mode: 'refuse' }]);
    expect(await written('conn-1')).toBe(false);
    // The refused connection never carried a request.
    expect(ddbProxy.stats.action('PutItem')).toMatchObject({ seen: 1, passed: 1 });
  });
});

describe('error answers, as the SDK sees them', () => {
  it('DynamoDB: internal and throttle presets, classified for retry as AWS errors are', async () => {
    for (const [preset, name, status, errorType] of [
      ['internal', 'InternalServerError', 500, 'TRANSIENT'],
      ['throttle', 'ProvisionedThroughputExceededException', 400, 'THROTTLING'],
      ['unavailable', 'ServiceUnavailable', 503, 'TRANSIENT'],
    ] as const) {
      const retry = recordingRetry(0);
      const caller = track(dynamoAt(ddbProxy.endpoint, { retryStrategy: retry.retryStrategy }));
      ddbProxy.rules.once('PutItem', { mode: 'error', error: preset });
      const error = await outcome(put(`err-${preset}`, caller));
      expect(error).toMatchObject({ name, $retryable: undefined, $metadata: { httpStatusCode: status } });
      expect(retry.errorTypes).toEqual([errorType]);
      expect(await written(`err-${preset}`)).toBe(false);
    }
    expect(ddbProxy.stats.action('PutItem')).toMatchObject({ seen: 3, forwarded: 0, faulted: { error: 3 } });
  });

  it('DynamoDB: a custom error (ThrottlingException) and a retried throttle that then succeeds', async () => {
    ddbProxy.rules.once('PutItem', {
      mode: 'error',
      error: { status: 400, type: 'com.amazon.coral.availability#ThrottlingException', message: 'Rate of requests exceeds the allowed throughput.' },
    });
    expect(await outcome(put('custom-1'))).toMatchObject({ name: 'ThrottlingException', message: 'Rate of requests exceeds the allowed throughput.' });

    const retry = recordingRetry(1);
    const caller = track(dynamoAt(ddbProxy.endpoint, { retryStrategy: retry.retryStrategy }));
    ddbProxy.rules.once('PutItem', { mode: 'error', error: 'throttle' });
    const result = await put('custom-2', caller);
    expect(result.$metadata.attempts).toBe(2);
    expect(retry.errorTypes).toEqual(['THROTTLING']);
    expect(await written('custom-2')).toBe(true);
  });

  it('SQS (JSON protocol, query-compatible): InternalFailure and RequestThrottled', async () => {
    const own = track(new SQSClient({ region: REGION, endpoint: sqsServer.endpoint, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 }));
    const { QueueUrl } = await own.send(new CreateQueueCommand({ QueueName: 'errors' }));
    for (const [preset, name, status, errorType] of [
      ['internal', 'InternalFailure', 500, 'TRANSIENT'],
      ['throttle', 'RequestThrottled', 400, 'THROTTLING'],
    ] as const) {
      const retry = recordingRetry(0);
      const caller = track(
        new SQSClient({ region: REGION, endpoint: sqsProxy.endpoint, credentials: LOCAL_CREDENTIALS, retryStrategy: retry.retryStrategy }),
      );
      sqsProxy.rules.once('SendMessage', { mode: 'error', error: preset });
      const error = await outcome(caller.send(new SendMessageCommand({ QueueUrl, MessageBody: preset })));
      expect(error).toMatchObject({ name, Code: name, $retryable: undefined, $metadata: { httpStatusCode: status } });
      expect(retry.errorTypes).toEqual([errorType]);
    }
    const { Messages = [] } = await own.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
    expect(Messages).toEqual([]);
  });

  it('Step Functions: InternalFailure and ThrottlingException; no execution starts', async () => {
    const before = sfn.executions().length;
    for (const [preset, name, status, errorType] of [
      ['internal', 'InternalFailure', 500, 'TRANSIENT'],
      ['throttle', 'ThrottlingException', 400, 'THROTTLING'],
    ] as const) {
      const retry = recordingRetry(0);
      const caller = track(
        new SFNClient({ region: REGION, endpoint: sfnProxy.endpoint, credentials: LOCAL_CREDENTIALS, disableHostPrefix: true, retryStrategy: retry.retryStrategy }),
      );
      sfnProxy.rules.once('StartSyncExecution', { mode: 'error', error: preset });
      const error = await outcome(caller.send(new StartSyncExecutionCommand({ stateMachineArn: sfn.stateMachineArn(MACHINE), input: '{}' })));
      expect(error).toMatchObject({ name, $retryable: undefined, $metadata: { httpStatusCode: status } });
      expect(retry.errorTypes).toEqual([errorType]);
    }
    expect(sfn.executions().length).toBe(before);
  });
});

describe('hang', () => {
  it('never answers: the caller times out and the target never saw the request', async () => {
    const impatient = track(dynamoAt(ddbProxy.endpoint, timeout(100)));
    ddbProxy.rules.once('PutItem', { mode: 'hang' });
    expect(await outcome(put('hang-1', impatient))).toMatchObject({ name: 'TimeoutError' });
    expect(await written('hang-1')).toBe(false);
    expect(ddbProxy.stats.action('PutItem')).toMatchObject({ seen: 1, forwarded: 0, faulted: { hang: 1 } });
  });

  it('holds only its own socket: other requests flow; remove() and clear() cut the hung ones', async () => {
    const patient = track(dynamoAt(ddbProxy.endpoint)); // no request timeout: only the proxy can end its wait
    const a = ddbProxy.rules.add({ actions: ['GetItem'], match: { Key: { k: { S: 'held-a' } } }, mode: 'hang' });
    ddbProxy.rules.add({ actions: ['GetItem'], match: { Key: { k: { S: 'held-b' } } }, mode: 'hang' });
    const heldA = outcome(get('held-a', patient));
    const heldB = outcome(get('held-b', patient));
    expect(await until(() => ddbProxy.hung() === 2, 2000, 5)).toBe(true);

    // The same client (on other sockets of its pool) and another client still get through.
    await put('beside-hang', patient);
    await put('beside-hang-2');
    expect(await written('beside-hang')).toBe(true);

    let bSettled = false;
    void heldB.then(() => (bSettled = true));
    ddbProxy.rules.remove(a);
    expect(await heldA).toMatchObject({ code: 'ECONNRESET' });
    expect(bSettled).toBe(false);
    expect(ddbProxy.hung()).toBe(1);

    ddbProxy.rules.clear();
    expect(await heldB).toMatchObject({ code: 'ECONNRESET' });
    expect(ddbProxy.hung()).toBe(0);
  });
});

describe('delay', () => {
  it('forwards after the delay: a later request on another socket overtakes it, both are applied', async () => {
    ddbProxy.rules.add({ actions: ['PutItem'], match: { Item: { k: { S: 'slow' } } }, mode: 'delay', ms: 150 });
    const order: string[] = [];
    const slow = put('slow').then(() => order.push('slow'));
    await until(() => ddbProxy.stats.action('PutItem').seen === 1, 2000, 5);
    await put('fast').then(() => order.push('fast'));
    await slow;
    expect(order).toEqual(['fast', 'slow']);
    expect(ddbProxy.stats.faults()).toMatchObject([{ mode: 'delay', targetStatus: 200, applied: true }]);
  });

  it('still delivers the request after the caller gave up (a late apply)', async () => {
    const impatient = track(dynamoAt(ddbProxy.endpoint, timeout(60)));
    ddbProxy.rules.once('PutItem', { mode: 'delay', ms: 250 });
    expect(await outcome(put('late', impatient))).toMatchObject({ name: 'TimeoutError' });
    await ddbProxy.settled();
    expect(await written('late')).toBe(true);
    expect(ddbProxy.stats.faults()).toMatchObject([{ action: 'PutItem', mode: 'delay', applied: true }]);
  });
});

describe('lose-answer', () => {
  it("then 'error': the PutItem is applied, the caller gets InternalServerError", async () => {
    ddbProxy.rules.once('PutItem', { mode: 'lose-answer', then: 'error' });
    expect(await outcome(put('lost-error'))).toMatchObject({ name: 'InternalServerError', $metadata: { httpStatusCode: 500 } });
    expect(await written('lost-error')).toBe(true);
    expect(ddbProxy.stats.faults()).toMatchObject([{ action: 'PutItem', mode: 'lose-answer', then: 'error', targetStatus: 200, applied: true }]);
  });

  it("then 'reset': applied, the caller sees a reset connection", async () => {
    ddbProxy.rules.once('PutItem', { mode: 'lose-answer', then: 'reset' });
    expect(await outcome(put('lost-reset'))).toMatchObject({ code: 'ECONNRESET' });
    expect(await written('lost-reset')).toBe(true);
  });

  it("then 'hang': applied, the caller times out", async () => {
    const impatient = track(dynamoAt(ddbProxy.endpoint, timeout(100)));
    ddbProxy.rules.once('PutItem', { mode: 'lose-answer', then: 'hang' });
    expect(await outcome(put('lost-hang', impatient))).toMatchObject({ name: 'TimeoutError' });
    await ddbProxy.settled(); // the caller may give up before the target has answered the proxy
    expect(await written('lost-hang')).toBe(true);
  });

  it('records a failed target call as not applied', async () => {
    // A conditional put that fails on the target: its (400) answer is lost, and nothing was done.
    await put('exists');
    ddbProxy.rules.once('PutItem', { mode: 'lose-answer', then: 'error' });
    const conditional = client.send(
      new PutItemCommand({ TableName: TABLE, Item: { k: { S: 'exists' }, v: { S: 'new' } }, ConditionExpression: 'attribute_not_exists(k)' }),
    );
    expect(await outcome(conditional)).toMatchObject({ name: 'InternalServerError' });
    expect(ddbProxy.stats.faults({ mode: 'lose-answer' })).toMatchObject([{ targetStatus: 400, applied: false }]);
    expect((await get('exists', direct)).Item?.v).toBeUndefined();
  });

  it('Step Functions: the execution ran to the end, the caller heard nothing of it', async () => {
    const caller = track(new SFNClient({ region: REGION, endpoint: sfnProxy.endpoint, credentials: LOCAL_CREDENTIALS, disableHostPrefix: true, maxAttempts: 1 }));
    sfnProxy.rules.once('StartSyncExecution', { mode: 'lose-answer', then: 'error' });
    const name = `lost-${Date.now()}`;
    const error = await outcome(caller.send(new StartSyncExecutionCommand({ stateMachineArn: sfn.stateMachineArn(MACHINE), name, input: '{"a":1}' })));
    expect(error).toMatchObject({ name: 'InternalFailure', $metadata: { httpStatusCode: 500 } });
    expect(sfn.executions().filter((e) => e.name === name)).toMatchObject([{ status: 'SUCCEEDED' }]);
  });

  it('SQS: a SendMessageBatch applied but unanswered is in the log, with its body when asked', async () => {
    const records: FaultRecord[] = [];
    const proxy = await startFaultProxy({ target: sqsServer.endpoint, service: 'sqs', logBodies: true, onFault: (r) => records.push(r) });
    try {
      const own = track(new SQSClient({ region: REGION, endpoint: sqsServer.endpoint, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 }));
      const { QueueUrl } = await own.send(new CreateQueueCommand({ QueueName: 'lost-batch' }));
      const caller = track(new SQSClient({ region: REGION, endpoint: proxy.endpoint, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 }));
      proxy.rules.once('SendMessageBatch', { mode: 'lose-answer' });
      const entries = [
        { Id: 'e1', MessageBody: 'one' },
        { Id: 'e2', MessageBody: 'two' },
      ];
      expect(await outcome(caller.send(new SendMessageBatchCommand({ QueueUrl, Entries: entries })))).toMatchObject({ code: 'ECONNRESET' });
      const { Messages = [] } = await own.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
      expect(Messages.map((m) => m.Body).sort()).toEqual(['one', 'two']);
      expect(records).toMatchObject([{ action: 'SendMessageBatch', mode: 'lose-answer', then: 'reset', applied: true }]);
      expect(JSON.parse(records[0]?.body ?? '{}')).toMatchObject({ Entries: entries });
    } finally {
      await proxy.stop();
    }
  });
});

describe('selection: times, after, probability, body predicates', () => {
  it('skips `after` matching requests, then fires `times` times', async () => {
    ddbProxy.rules.add({ actions: ['PutItem'], mode: 'error', after: 2, times: 2 });
    const results: Array<'ok' | string> = [];
    for (let i = 0; i < 6; i++) {
      const r = await outcome(put(`count-${i}`));
      results.push(r === 'ok' ? r : r.name);
    }
    expect(results).toEqual(['ok', 'ok', 'InternalServerError', 'InternalServerError', 'ok', 'ok']);
    expect(ddbProxy.rules.list()).toMatchObject([{ matched: 6, fired: 2 }]);
    // Other actions are not counted by a PutItem rule.
    await get('count-0');
    expect(ddbProxy.rules.list()).toMatchObject([{ matched: 6 }]);
  });

  it('draws probability from a seeded PRNG: the same seed picks the same requests', async () => {
    // Requests the probabilistic rule spares meet a catch-all throttle: the proxy answers all of them.
    const pattern = async (proxy: FaultProxy, rule: { seed?: number }) => {
      const caller = track(dynamoAt(proxy.endpoint));
      proxy.rules.clear();
      proxy.rules.add({ actions: ['GetItem'], mode: 'error', error: 'internal', probability: 0.5, ...rule });
      proxy.rules.add({ mode: 'error', error: 'throttle' });
      let bits = '';
      for (let i = 0; i < 16; i++) {
        const result = await outcome(get('p', caller));
        bits += result !== 'ok' && result.name === 'InternalServerError' ? 'x' : '.';
      }
      return bits;
    };
    const other = await startFaultProxy({ target: dynamo.endpoint, service: 'dynamodb', seed: 99 });
    const sameSeed = await startFaultProxy({ target: dynamo.endpoint, service: 'dynamodb', seed: 99 });
    try {
      const first = await pattern(ddbProxy, { seed: 7 });
      expect(first).toMatch(/x/);
      expect(first).toMatch(/\./);
      expect(ddbProxy.stats.action('GetItem').forwarded).toBe(0);
      expect(await pattern(ddbProxy, { seed: 7 })).toBe(first); // an explicit rule seed
      expect(await pattern(other, {})).toBe(await pattern(sameSeed, {})); // derived from the proxy's seed
      expect(await pattern(other, { seed: 8 })).not.toBe(first);
    } finally {
      await Promise.all([other.stop(), sameSeed.stop()]);
    }
  });

  it('selects by body: a JSON subset (`match`) or a predicate (`when`)', async () => {
    ddbProxy.rules.add({ actions: ['PutItem'], mode: 'refuse', match: { Item: { k: { S: 'body-b' } } } });
    ddbProxy.rules.add({ mode: 'error', when: (body) => (body as { Item?: { k?: { S?: string } } })?.Item?.k?.S === 'body-c' });
    const results = [await outcome(put('body-a')), await outcome(put('body-b')), await outcome(put('body-c'))];
    expect(results[0]).toBe('ok');
    expect(results[1]).toMatchObject({ code: 'ECONNRESET' });
    expect(results[2]).toMatchObject({ name: 'InternalServerError' });
    expect(await Promise.all(['body-a', 'body-b', 'body-c'].map(written))).toEqual([true, false, false]);
  });
});

describe('stats', () => {
  it('counts per action and mode, and logs faults in order', async () => {
    await put('stats-1');
    ddbProxy.rules.once('PutItem', { mode: 'error', error: 'throttle' });
    await outcome(put('stats-2'));
    ddbProxy.rules.once('PutItem', { mode: 'refuse', name: 'cut' });
    await outcome(put('stats-3'));
    ddbProxy.rules.once('PutItem', { mode: 'lose-answer', then: 'error' });
    await outcome(put('stats-4'));
    await put('stats-5');
    await get('stats-1');
    expect(ddbProxy.stats.snapshot().actions).toEqual({
      PutItem: { seen: 5, passed: 2, forwarded: 3, faulted: { refuse: 1, error: 1, hang: 0, delay: 0, 'lose-answer': 1 } },
      GetItem: { seen: 1, passed: 1, forwarded: 1, faulted: { refuse: 0, error: 0, hang: 0, delay: 0, 'lose-answer': 0 } },
    });
    const log = ddbProxy.stats.faults();
    expect(log.map((r) => [r.seq, r.action, r.mode])).toEqual([
      [1, 'PutItem', 'error'],
      [2, 'PutItem', 'refuse'],
      [3, 'PutItem', 'lose-answer'],
    ]);
    expect(log[1]?.ruleName).toBe('cut');
    expect(log[2]).toMatchObject({ then: 'error', targetStatus: 200, applied: true });
    expect(log.every((r, i) => i === 0 || r.at >= (log[i - 1] as FaultRecord).at)).toBe(true);
  });
});

describe('rules in JSON form', () => {
  it('accepts a scenario file and rejects a bad rule as a whole, naming the field', async () => {
    const ids = ddbProxy.rules.addAll(JSON.parse('[{"actions":["PutItem"],"mode":"lose-answer","then":"error","times":1}]'));
    expect(ids).toHaveLength(1);
    expect(await outcome(put('json-1'))).toMatchObject({ name: 'InternalServerError' });
    expect(await written('json-1')).toBe(true);

    for (const bad of [
      [{ mode: 'error', times: 0 }],
      [{ mode: 'explode' }],
      [{ mode: 'delay' }],
      [{ mode: 'refuse', at: 'connection', actions: ['PutItem'] }],
      [{ mode: 'hang', actoins: ['PutItem'] }],
      [{ mode: 'hang' }, { mode: 'error', probability: 2 }],
    ]) {
      expect(() => ddbProxy.rules.addAll(bad), JSON.stringify(bad)).toThrow(ZodError);
    }
    expect(ddbProxy.rules.list()).toHaveLength(1);
  });
});

describe('with startLocalAws({ faults: true })', () => {
  const local = useLocalDispatch({ faults: true });

  it("a SendMessageBatch whose answer is lost leaves the message in that region's queue; the caller saw an error", async () => {
    const { aws } = local;
    const region = 'us-west-2';
    const proxy = aws.faults.sqs[region] as FaultProxy;
    // The functions' config names the proxies; the test's own clients name the servers.
    expect(aws.config.endpoints.sqs[region]).toBe(proxy.endpoint);
    expect(aws.config.endpoints.dynamodb).toBe(aws.faults.dynamodb.endpoint);

    const queueUrl = aws.resources.regions.find((r) => r.region === region)?.queueUrl as string;
    const caller = track(new SQSClient({ region, endpoint: aws.codeEndpoints.sqs[region], credentials: LOCAL_CREDENTIALS, maxAttempts: 1 }));
    proxy.rules.once('SendMessageBatch', { mode: 'lose-answer', then: 'error' });
    const error = await outcome(caller.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: [{ Id: 'm1', MessageBody: 'lost answer' }] })));
    expect(error).toMatchObject({ name: 'InternalFailure', $metadata: { httpStatusCode: 500 } });

    const messages = await drain(aws.sqs(region), queueUrl);
    expect(messages.map((m) => m.Body)).toEqual(['lost answer']);
    expect(proxy.stats.faults()).toMatchObject([{ action: 'SendMessageBatch', mode: 'lose-answer', applied: true }]);
    expect(proxy.stats.action('ReceiveMessage').seen).toBe(0); // drain bypassed the proxy
  });

  it("routes the workflow's own DynamoDB calls and the functions' SQS calls through the proxies", async () => {
    const { aws, runner } = local;
    const record = await runner.run(executionInput([envelope(`via-proxy-${Date.now()}`)]));
    // Any DynamoDB action (claims, marks): which ones is the workflow's business, not this test's.
    const dynamoCalls = Object.values(aws.faults.dynamodb.stats.snapshot().actions).reduce((n, a) => n + a.forwarded, 0);
    expect(dynamoCalls, JSON.stringify(aws.faults.dynamodb.stats.snapshot().actions)).toBeGreaterThan(0);
    const sent = Object.values(aws.faults.sqs).reduce((n, p) => n + p.stats.action('SendMessageBatch').forwarded, 0);
    expect(sent, `${record.status} ${record.error ?? ''} ${record.cause ?? ''}`).toBeGreaterThan(0);
  });
});

describe('with startLocalStack({ faults: true })', () => {
  it('runs the whole chain through the proxies while its description still names the servers', async () => {
    const stack = await startLocalStack({ faults: true, masterVisibilitySeconds: 2, pollers: 1, batchWindowSeconds: 0.1 });
    try {
      const { description, faults } = stack;
      expect(stack.config.endpoints.stepFunctions).toBe(faults.stepFunctions.endpoint);
      expect(description.endpoints.stepFunctions).toBe(stack.stepFunctions.endpoint);
      const home = track(new SQSClient({ region: REGION, endpoint: description.endpoints.sqs[REGION], credentials: LOCAL_CREDENTIALS }));
      const ids = ['stack-1', 'stack-2', 'stack-3'];
      await home.send(
        new SendMessageBatchCommand({
          QueueUrl: description.masterQueueUrl,
          Entries: ids.map((id, i) => ({ Id: String(i), MessageBody: JSON.stringify(request(id)) })),
        }),
      );
      expect(await until(() => queueEmpty(home, description.masterQueueUrl), 8000, 50)).toBe(true);
      const delivered: string[] = [];
      for (const region of description.regions) {
        const own = track(new SQSClient({ region: region.region, endpoint: description.endpoints.sqs[region.region], credentials: LOCAL_CREDENTIALS }));
        delivered.push(...(await drain(own, region.queueUrl)).map((m) => JSON.parse(m.Body as string).request_id as string));
      }
      expect(delivered.sort()).toEqual(ids);

      expect(faults.stepFunctions.stats.action('StartSyncExecution').passed).toBeGreaterThan(0);
      expect(faults.sqs[REGION]?.stats.action('ReceiveMessage').passed).toBeGreaterThan(0); // the event source
      expect(Object.values(faults.dynamodb.stats.snapshot().actions).reduce((n, a) => n + a.forwarded, 0)).toBeGreaterThan(0);
      expect(Object.values(faults.sqs).reduce((n, p) => n + p.stats.action('SendMessageBatch').forwarded, 0)).toBeGreaterThan(0);
    } finally {
      await stack.stop();
    }
  });
});
