/**
 * The operations behind `dlq` and `redrive` (ops/dlq.ts, ops/redrive.ts) against the real local servers
 * (dynalite + fauxqs with the deployment's queues and table), driven directly with a Target-like set of
 * clients; records and DLQ messages are written by hand to set up each state.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listDlq, listDlqs } from '../../../tools/ops/dlq.js';
import { MASTER_DLQ_REASON, type DlqKind } from '../../../tools/ops/dlq-model.js';
import { queueDepth } from '../../../tools/ops/queue-reader.js';
import { redrive, type RedriveDeps, type RedriveOptions } from '../../../tools/ops/redrive.js';
import { HOME_REGION } from '../../../core/topology.js';
import { executionOutputSchema, flattenOutcomes } from '../../../core/outcomes.js';
import { createDispatchRunner } from '../../../tools/local/dispatch.js';
import { claimRecord, drain, executionInput, request, startLocalAws, type LocalAws } from '../../support/local-aws.js';

let aws: LocalAws;
let deps: RedriveDeps;
let home: SQSClient;

/** Short polls: the local server answers at once; a read ends at the first empty receive. */
const FAST: RedriveOptions = { waitSeconds: 0 };

beforeAll(async () => {
  aws = await startLocalAws();
  home = aws.sqs(HOME_REGION);
  deps = {
    homeRegion: HOME_REGION,
    masterQueueUrl: aws.resources.masterQueueUrl,
    masterDeadLetterQueueUrl: aws.resources.masterDeadLetterQueueUrl,
    masterHighQueueUrl: aws.resources.masterHigh?.url as string,
    masterHighDeadLetterQueueUrl: aws.resources.masterHigh?.deadLetterQueueUrl as string,
    dispatchDeadLetterQueueUrl: aws.resources.dispatchDeadLetterQueueUrl,
    tableName: aws.resources.tableName,
    sqs: (region) => aws.sqs(region),
    dynamo: () => aws.dynamo,
  };
});
afterAll(async () => {
  await aws?.stop();
});
beforeEach(async () => {
  aws.sqsServers[HOME_REGION]?.setAvailable(true); // also ends any failActions of the previous test
  for (const url of [aws.resources.dispatchDeadLetterQueueUrl, aws.resources.masterDeadLetterQueueUrl, aws.resources.masterQueueUrl]) {
    await drain(home, url);
  }
});

const body = (requestId: string) => JSON.stringify(request(requestId));

/** A message as the dispatch workflow dead-letters it (reason, request_id, source message, batch, execution). */
async function deadLettered(requestId: string, reason = 'no region accepted the message: us-east-1: States.Timeout') {
  await home.send(
    new SendMessageCommand({
      QueueUrl: aws.resources.dispatchDeadLetterQueueUrl,
      MessageBody: body(requestId),
      MessageAttributes: Object.fromEntries(
        Object.entries({ reason, request_id: requestId, source_message_id: `src-${requestId}`, batch_id: 'b-1', execution: 'exec-1' }).map(
          ([k, v]) => [k, { DataType: 'String', StringValue: v }],
        ),
      ),
    }),
  );
}

/** A message as the intake dead-letters an invalid body: no request_id attribute. */
async function invalid(text: string, reason = 'invalid request: body is not JSON') {
  await home.send(
    new SendMessageCommand({
      QueueUrl: aws.resources.dispatchDeadLetterQueueUrl,
      MessageBody: text,
      MessageAttributes: {
        reason: { DataType: 'String', StringValue: reason },
        source_message_id: { DataType: 'String', StringValue: 'src-invalid' },
      },
    }),
  );
}

async function putRecord(requestId: string, status: string, extra: Record<string, string> = {}) {
  const now = Math.floor(Date.now() / 1000);
  await aws.dynamo.send(
    new PutItemCommand({
      TableName: aws.resources.tableName,
      Item: {
        request_id: { S: requestId },
        status: { S: status },
        owner: { S: 'exec-1' },
        expiresAt: { N: String(now + 7 * 86400) },
        ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, { S: v }])),
      },
    }),
  );
}

const depth = (url: string) => queueDepth(home, url);
const dispatchDlq = () => depth(aws.resources.dispatchDeadLetterQueueUrl);
const master = () => depth(aws.resources.masterQueueUrl);
const attribute = (m: { MessageAttributes?: Record<string, { StringValue?: string }> }, name: string) => m.MessageAttributes?.[name]?.StringValue;

describe('dlq listing', () => {
  it('groups each DLQ by reason with counts and request_ids, and leaves every message visible', async () => {
    await deadLettered('req-l1');
    await deadLettered('req-l2');
    await invalid('not json');
    await home.send(new SendMessageCommand({ QueueUrl: aws.resources.masterDeadLetterQueueUrl, MessageBody: body('req-l3') }));
    await home.send(new SendMessageCommand({ QueueUrl: aws.resources.masterDeadLetterQueueUrl, MessageBody: body('req-l4') }));
    await putRecord('req-l4', 'DISPATCHED', { region: 'us-west-2' });

    const dispatch = await listDlq(deps, 'dispatch', FAST);
    expect(dispatch.read).toBe(3);
    expect(dispatch.approximate.visible).toBe(3);
    expect(dispatch.groups.map((g) => [g.reason, g.count, g.requestIds, g.withoutRequestId])).toEqual([
      ['no region accepted the message: us-east-1: States.Timeout', 2, ['req-l1', 'req-l2'], 0],
      ['invalid request: body is not JSON', 1, [], 1],
    ]);
    const masterDlq = await listDlq(deps, 'master', FAST);
    expect(masterDlq.groups.map((g) => [g.reason, g.requestIds])).toEqual([
      [MASTER_DLQ_REASON, ['req-l3']],
      [`${MASTER_DLQ_REASON}; record says DISPATCHED`, ['req-l4']],
    ]);
    // Read, not consumed: all visible again at once.
    expect(await dispatchDlq()).toEqual({ visible: 3, inFlight: 0 });
    expect(await depth(aws.resources.masterDeadLetterQueueUrl)).toEqual({ visible: 2, inFlight: 0 });
  });

  it('listDlqs reads the DLQs asked for, in that order, and names each in its progress', async () => {
    await deadLettered('req-m1');
    await home.send(new SendMessageCommand({ QueueUrl: aws.resources.masterDeadLetterQueueUrl, MessageBody: body('req-m2') }));
    const progress: Array<[DlqKind, number]> = [];
    const listings = await listDlqs(deps, ['master', 'dispatch'], { waitSeconds: 0, onProgress: (queue, read) => progress.push([queue, read]) });
    expect(listings.map((l) => [l.queue, l.read, l.messages.map((m) => m.requestId)])).toEqual([
      ['master', 1, ['req-m2']],
      ['dispatch', 1, ['req-m1']],
    ]);
    expect(progress).toEqual([
      ['master', 1],
      ['dispatch', 1],
    ]);
  });
});

describe('redrive', () => {
  it('a dry run lists what would move and moves nothing, changes no record', async () => {
    await putRecord('req-dry', 'DEAD_LETTERED', { reason: 'r' });
    await deadLettered('req-dry');
    await invalid('{"broken":');

    const result = await redrive(deps, { ...FAST, dryRun: true });
    expect(result.ok).toBe(true);
    // The body that is not JSON could never pass the intake: skipped, and named, unless includeNotJson.
    expect(result.counts).toEqual({ moved: 0, 'would-move': 1, skipped: 1, failed: 0 });
    expect(result.entries.find((e) => e.requestId === 'req-dry')).toMatchObject({ outcome: 'would-move', action: 'reopen' });
    expect(result.entries.find((e) => e.notJson)).toMatchObject({ outcome: 'skipped', detail: expect.stringMatching(/not JSON.*--include-not-json/) });
    expect(await master()).toEqual({ visible: 0, inFlight: 0 });
    expect(await dispatchDlq()).toEqual({ visible: 2, inFlight: 0 });
    expect((await claimRecord(aws, 'req-dry'))?.status?.S).toBe('DEAD_LETTERED');
  });

  it('--reason selects by a case-insensitive part of the reason; the rest stays in the DLQ', async () => {
    await deadLettered('req-r1', 'no region accepted the message: us-east-1: timeout');
    await deadLettered('req-r2', 'No Region accepted the message: us-west-2: throttled');
    await invalid('not json');

    const result = await redrive(deps, { ...FAST, reason: 'NO REGION' });
    expect(result.ok).toBe(true);
    expect(result.counts.moved).toBe(2);
    expect(result.notSelected).toBe(1);
    const moved = await drain(home, aws.resources.masterQueueUrl);
    expect(moved.map((m) => m.Body).sort()).toEqual([body('req-r1'), body('req-r2')].sort());
    const r1 = moved.find((m) => m.Body === body('req-r1'));
    expect(attribute(r1 ?? {}, 'redriven_from')).toBe(aws.resources.dispatchDeadLetterQueueUrl.split('/').at(-1));
    expect(attribute(r1 ?? {}, 'redrive_reason')).toBe('no region accepted the message: us-east-1: timeout');
    const left = await drain(home, aws.resources.dispatchDeadLetterQueueUrl);
    expect(left.map((m) => m.Body)).toEqual(['not json']);
  });

  it('sets a DEAD_LETTERED record REDRIVEN before sending; a failed send leaves the message in the DLQ, and a second redrive completes it', async () => {
    await putRecord('req-order', 'DEAD_LETTERED', { reason: 'no region accepted the message' });
    await deadLettered('req-order');
    aws.sqsServers[HOME_REGION]?.failActions(['SendMessage']); // the master queue takes nothing

    const first = await redrive(deps, FAST);
    expect(first.ok).toBe(false);
    expect(first.counts).toMatchObject({ moved: 0, failed: 1 });
    expect(first.entries[0]?.detail).toMatch(/sending to the master queue failed.*record stays REDRIVEN.*left in the DLQ, visible again/);
    const record = await claimRecord(aws, 'req-order');
    expect(record?.status?.S).toBe('REDRIVEN');
    expect(record?.redrivenAt?.S).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await dispatchDlq()).toEqual({ visible: 1, inFlight: 0 }); // still there, visible again at once
    expect(await master()).toEqual({ visible: 0, inFlight: 0 });

    aws.sqsServers[HOME_REGION]?.failActions([]);
    const second = await redrive(deps, FAST);
    expect(second.ok).toBe(true);
    expect(second.counts.moved).toBe(1);
    expect(second.entries[0]).toMatchObject({ requestId: 'req-order', recordBefore: 'REDRIVEN', reopened: true });
    expect((await claimRecord(aws, 'req-order'))?.status?.S).toBe('REDRIVEN');
    const moved = await drain(home, aws.resources.masterQueueUrl);
    expect(moved.map((m) => m.Body)).toEqual([body('req-order')]);
    expect(await dispatchDlq()).toEqual({ visible: 0, inFlight: 0 });
  });

  it('skips a message whose record says DISPATCHED (a duplicate) unless --force, and never touches that record', async () => {
    await putRecord('req-sent', 'DISPATCHED', { region: 'us-west-2', dispatchedAt: '2027-01-01T00:00:00Z' });
    await deadLettered('req-sent');

    const skipped = await redrive(deps, FAST);
    expect(skipped.ok).toBe(true);
    expect(skipped.counts).toMatchObject({ moved: 0, skipped: 1 });
    expect(skipped.entries[0]?.detail).toMatch(/DISPATCHED to us-west-2.*duplicate.*left in the DLQ/);
    expect(await master()).toEqual({ visible: 0, inFlight: 0 });
    expect(await dispatchDlq()).toEqual({ visible: 1, inFlight: 0 });

    const forced = await redrive(deps, { ...FAST, force: true });
    expect(forced.counts.moved).toBe(1);
    expect(forced.entries[0]).toMatchObject({ forced: true, recordBefore: 'DISPATCHED' });
    expect(await master()).toEqual({ visible: 1, inFlight: 0 });
    expect(await dispatchDlq()).toEqual({ visible: 0, inFlight: 0 });
    const record = await claimRecord(aws, 'req-sent');
    expect(record?.status?.S).toBe('DISPATCHED');
    expect(record?.redrivenAt).toBeUndefined();
  });

  it('skips a body that is not JSON by default, naming it; with includeNotJson moves it as is, and writes no record', async () => {
    await invalid('not json at all {');
    const skipped = await redrive(deps, FAST);
    expect(skipped.ok).toBe(true);
    expect(skipped.entries).toEqual([
      expect.objectContaining({ outcome: 'skipped', notJson: true, detail: expect.stringMatching(/^the body is not JSON: it can never pass the intake/) }),
    ]);
    expect(await master()).toEqual({ visible: 0, inFlight: 0 });
    expect(await dispatchDlq()).toEqual({ visible: 1, inFlight: 0 });

    const result = await redrive(deps, { ...FAST, includeNotJson: true });
    expect(result.ok).toBe(true);
    expect(result.entries).toEqual([expect.objectContaining({ outcome: 'moved', recordBefore: 'absent', notJson: true })]);
    const moved = await drain(home, aws.resources.masterQueueUrl);
    expect(moved.map((m) => m.Body)).toEqual(['not json at all {']);
    expect(attribute(moved[0] ?? {}, 'redrive_reason')).toBe('invalid request: body is not JSON');
    expect(await dispatchDlq()).toEqual({ visible: 0, inFlight: 0 });
  });

  it('moves a JSON body without request_id as is (the intake judges it again), and writes no record', async () => {
    await invalid('{"model_name":1}');
    const result = await redrive(deps, FAST);
    expect(result.entries).toEqual([expect.objectContaining({ outcome: 'moved', recordBefore: 'absent' })]);
    expect((await drain(home, aws.resources.masterQueueUrl)).map((m) => m.Body)).toEqual(['{"model_name":1}']);
  });

  it('--request-id and --max limit what moves; the master DLQ redrives with its own reason', async () => {
    for (const id of ['req-m1', 'req-m2', 'req-m3']) await deadLettered(id);
    const picked = await redrive(deps, { ...FAST, requestIds: ['req-m2'] });
    expect(picked.entries.map((e) => [e.requestId, e.outcome])).toEqual([['req-m2', 'moved']]);
    const limited = await redrive(deps, { ...FAST, max: 1 });
    expect(limited.counts.moved).toBe(1);
    expect(limited.stoppedAtMax).toBe(true);
    expect(await dispatchDlq()).toEqual({ visible: 1, inFlight: 0 });
    expect(await master()).toEqual({ visible: 2, inFlight: 0 });

    await drain(home, aws.resources.masterQueueUrl);
    await home.send(new SendMessageCommand({ QueueUrl: aws.resources.masterDeadLetterQueueUrl, MessageBody: body('req-m4') }));
    const fromMaster = await redrive(deps, { ...FAST, queue: 'master', reason: '3 receives' });
    expect(fromMaster.counts.moved).toBe(1);
    const moved = await drain(home, aws.resources.masterQueueUrl);
    expect(attribute(moved[0] ?? {}, 'redrive_reason')).toBe(MASTER_DLQ_REASON);
    expect(attribute(moved[0] ?? {}, 'redriven_from')).toBe(aws.resources.masterDeadLetterQueueUrl.split('/').at(-1));
  });

  it("lists the master high lane's DLQ and redrives it to the high lane it came from", async () => {
    const high = aws.resources.masterHigh as { url: string; deadLetterQueueUrl: string };
    await home.send(new SendMessageCommand({ QueueUrl: high.deadLetterQueueUrl, MessageBody: JSON.stringify({ ...request('req-h1'), priority: 'high' }) }));
    const listing = await listDlq(deps, 'master-high', FAST);
    expect(listing.messages.map((m) => m.requestId)).toEqual(['req-h1']);
    const result = await redrive(deps, { ...FAST, queue: 'master-high' });
    expect(result.counts.moved).toBe(1);
    const moved = await drain(home, high.url);
    expect(moved.map((m) => JSON.parse(m.Body as string).request_id)).toEqual(['req-h1']);
    expect(attribute(moved[0] ?? {}, 'redrive_reason')).toBe(MASTER_DLQ_REASON);
    expect(await drain(home, aws.resources.masterQueueUrl)).toEqual([]);
  });
});

/**
 * docs/architecture.md, invariant 11: a record outlives every copy that can refer to it. Day 8 of a request that was
 * dispatched and completed, under the original 7-day TTL: its record is past expiresAt (DynamoDB has
 * not deleted it yet) while a copy still waits in a DLQ that keeps messages 14 days. The clock is
 * injected: nothing here depends on the wall clock.
 */
describe('redrive after the record expired (records must outlive the copies)', () => {
  const DAY = 86_400;
  const T0 = 1_800_000_000;
  const DAY_8 = T0 + 8 * DAY;
  const day8 = () => new Date(DAY_8 * 1000);
  const LIFETIME = 21 * DAY;

  /** Dispatched at T0 and completed by a worker, with the original 7-day TTL: past expiresAt on day 8. */
  async function completedAt(requestId: string, fields: Record<string, { S: string } | { N: string }> = {}) {
    await aws.dynamo.send(
      new PutItemCommand({
        TableName: aws.resources.tableName,
        Item: {
          request_id: { S: requestId },
          status: { S: 'DISPATCHED' },
          owner: { S: 'exec-1' },
          region: { S: 'us-west-2' },
          dispatchedAt: { S: new Date(T0 * 1000).toISOString() },
          token: { S: 'tok-1' },
          acceptedToken: { S: 'tok-1' },
          acceptedBy: { S: 'worker-1' },
          acceptedAt: { N: String(T0 + 60) },
          acceptedUntil: { N: String(T0 + 3660) },
          workStatus: { S: 'COMPLETED' },
          completedAt: { N: String(T0 + 600) },
          expiresAt: { N: String(T0 + 7 * DAY) },
          ...fields,
        },
      }),
    );
  }

  it('a dispatched and completed request is not moved back for dispatch: left in the DLQ with the reason shown', async () => {
    await completedAt('req-day8');
    await home.send(new SendMessageCommand({ QueueUrl: aws.resources.masterDeadLetterQueueUrl, MessageBody: body('req-day8') }));

    const result = await redrive(deps, { ...FAST, queue: 'master', now: day8 });
    expect(result.counts).toMatchObject({ moved: 0, skipped: 1, failed: 0 });
    expect(result.entries[0]).toMatchObject({ requestId: 'req-day8', outcome: 'skipped', recordBefore: 'DISPATCHED' });
    expect(result.entries[0]?.detail).toMatch(/completed the request.*duplicate.*left in the DLQ/);
    expect(result.entries[0]?.detail).not.toMatch(/takes it as new/);
    expect(await master()).toEqual({ visible: 0, inFlight: 0 });
    expect(await depth(aws.resources.masterDeadLetterQueueUrl)).toEqual({ visible: 1, inFlight: 0 });
    const record = await claimRecord(aws, 'req-day8');
    expect(record?.workStatus?.S).toBe('COMPLETED');
    expect(record?.expiresAt?.N).toBe(String(T0 + 7 * DAY));
  });

  it('a dispatched request nobody completed yet is not moved either, expired or not', async () => {
    await aws.dynamo.send(
      new PutItemCommand({
        TableName: aws.resources.tableName,
        Item: { request_id: { S: 'req-day8-sent' }, status: { S: 'DISPATCHED' }, region: { S: 'us-east-1' }, expiresAt: { N: String(T0 + 7 * DAY) } },
      }),
    );
    await deadLettered('req-day8-sent');
    const result = await redrive(deps, { ...FAST, now: day8 });
    expect(result.entries.map((e) => [e.requestId, e.outcome])).toEqual([['req-day8-sent', 'skipped']]);
    expect(result.entries[0]?.detail).toMatch(/DISPATCHED to us-east-1.*left in the DLQ/);
    expect(await master()).toEqual({ visible: 0, inFlight: 0 });
  });

  it('--force moves it, and the record then outlives the new copy: the claim drops it as a duplicate', async () => {
    await completedAt('req-day8-forced');
    await home.send(new SendMessageCommand({ QueueUrl: aws.resources.masterDeadLetterQueueUrl, MessageBody: body('req-day8-forced') }));

    const result = await redrive(deps, { ...FAST, queue: 'master', now: day8, force: true, recordLifetimeSeconds: LIFETIME } as RedriveOptions);
    expect(result.counts).toMatchObject({ moved: 1, failed: 0 });
    expect(result.entries[0]).toMatchObject({ forced: true, recordBefore: 'DISPATCHED' });
    const record = await claimRecord(aws, 'req-day8-forced');
    // The copy just sent may live 14 days, 4 in the master queue and the rest in its DLQ.
    expect(Number(record?.expiresAt?.N)).toBe(DAY_8 + LIFETIME);
    expect(record?.workStatus?.S).toBe('COMPLETED');

    // The copy reaches the dispatcher on day 8: the record a worker completed is no claim to take.
    const [copy] = await drain(home, aws.resources.masterQueueUrl);
    expect(JSON.parse(copy?.Body as string).request_id).toBe('req-day8-forced');
    const setup = createDispatchRunner(aws.resources, aws.endpoints, { retryIntervalMs: 5 });
    try {
      const input = executionInput([{ messageId: copy?.MessageId as string, requestId: 'req-day8-forced', body: copy?.Body as string, priority: 'normal' }], { now: DAY_8 });
      const run = await setup.runner.run(input, { name: input.executionName });
      const outcomes = flattenOutcomes([copy?.MessageId as string], executionOutputSchema.parse(run.output));
      expect(outcomes.map((o) => o.outcome)).toEqual(['duplicate']);
    } finally {
      setup.close();
    }
    expect((await claimRecord(aws, 'req-day8-forced'))?.status?.S).toBe('DISPATCHED');
  });

  it('reopening a DEAD_LETTERED record sets its expiry to now + the record lifetime: the new copy starts a new retention', async () => {
    await aws.dynamo.send(
      new PutItemCommand({
        TableName: aws.resources.tableName,
        Item: {
          request_id: { S: 'req-day8-dl' },
          status: { S: 'DEAD_LETTERED' },
          reason: { S: 'no region accepted the message' },
          expiresAt: { N: String(T0 + 7 * DAY) },
        },
      }),
    );
    await deadLettered('req-day8-dl');
    const result = await redrive(deps, { ...FAST, now: day8, recordLifetimeSeconds: LIFETIME } as RedriveOptions);
    expect(result.entries[0]).toMatchObject({ requestId: 'req-day8-dl', outcome: 'moved', action: 'reopen' });
    const record = await claimRecord(aws, 'req-day8-dl');
    expect(record?.status?.S).toBe('REDRIVEN');
    expect(Number(record?.expiresAt?.N)).toBe(DAY_8 + LIFETIME);
  });
});
