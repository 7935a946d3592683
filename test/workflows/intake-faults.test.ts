/**
 * The intake under faults that answer ambiguously, through fault proxies in front of DynamoDB, SQS and
 * the Step Functions endpoint: a StartSyncExecution whose answer is lost (the SDK starts a second run
 * under the same name), a batch delivered again after its invalid messages were dead-lettered, and an
 * invalid message so large that its reason no longer fits beside it in the DLQ, a dispatch DLQ whose
 * MaximumMessageSize refuses a copy, and reasons that quote half an emoji.
 */
import { randomUUID } from 'node:crypto';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { forgetDeadLetterLimits } from '../../aws/intake-dead-letters.js';
import { intakeDeadLetterKey } from '../../core/record.js';
import { isSqsText } from '../../core/sqs-text.js';
import { resourceNames } from '../../core/topology.js';
import { toSqsRecord } from '../../tools/local/event-source.js';
import { startFaultProxy, type FaultProxy } from '../../tools/local/faults/proxy.js';
import { createDispatchRunner, createLocalIntake, type LocalIntake, type RunnerSetup } from '../../tools/local/dispatch.js';
import { startStepFunctionsEndpoint, type StepFunctionsEndpoint } from '../../tools/local/emulators/sfn-endpoint.js';
import { claimRecord, drain, drainRegions, request, startLocalAws, type LocalAws, type LocalFaults } from '../support/local-aws.js';
import { redelivered, sqsRecord } from '../support/sqs-event.js';

let aws: LocalAws & { readonly faults: LocalFaults };
let setup: RunnerSetup;
let sfn: StepFunctionsEndpoint;
let sfnProxy: FaultProxy;
let intake: LocalIntake;

beforeAll(async () => {
  aws = await startLocalAws({ faults: true });
  setup = createDispatchRunner(aws.resources, aws.codeEndpoints, { retryIntervalMs: 5 });
  sfn = await startStepFunctionsEndpoint({
    stateMachines: [{ name: resourceNames(aws.resources.stage).stateMachine, runner: setup.runner, definition: setup.definition, type: 'EXPRESS' }],
  });
  sfnProxy = await startFaultProxy({ target: sfn.endpoint, service: 'stepfunctions' });
  intake = createLocalIntake(aws.resources, aws.codeEndpoints, sfnProxy.endpoint);
});
afterAll(async () => {
  intake?.close();
  await sfnProxy?.stop();
  await sfn?.stop();
  setup?.close();
  await aws?.stop();
});
afterEach(async () => {
  await setDeadLetterLimit(SQS_DEFAULT_LIMIT);
  // The intake reads a DLQ's limit once per container; these tests change it.
  forgetDeadLetterLimits();
  sfnProxy.rules.clear();
  aws.faults.dynamodb.rules.clear();
  for (const proxy of Object.values(aws.faults.sqs)) proxy.rules.clear();
  await drainRegions(aws);
  await drain(aws.sqs('us-east-1'), aws.resources.dispatchDeadLetterQueueUrl);
});

const record = (body: string, options: { messageId?: string; receiveCount?: number } = {}) =>
  sqsRecord(body, { queueArn: aws.resources.masterQueueArn, ...options });

const context = { functionName: 'intake', awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
const invoke = (records: SQSRecord[]): Promise<SQSBatchResponse> => intake.handler({ Records: records } satisfies SQSEvent, context);

describe('a StartSyncExecution whose answer is lost', () => {
  it('runs twice under one name; the second run finds the first one\'s work and the request is dispatched once', async () => {
    sfnProxy.rules.once('StartSyncExecution', { mode: 'lose-answer', then: 'reset' });
    const before = sfn.executions().length;
    const response = await invoke([record(JSON.stringify(request('req-sync-answer-lost')))]);
    const runs = sfn.executions().slice(before);
    // The SDK sent the same name again: two executions, each with its own unique id.
    expect(runs).toHaveLength(2);
    expect(runs[0]?.name).toBe(runs[1]?.name);
    expect(runs[0]?.executionArn).not.toBe(runs[1]?.executionArn);
    // The first dispatched it; the second saw it dispatched: done, once.
    expect(response.batchItemFailures).toEqual([]);
    const queues = Object.values(await drainRegions(aws)).flat();
    expect(queues.map((m) => m.MessageAttributes?.request_id?.StringValue)).toEqual(['req-sync-answer-lost']);
    expect((await claimRecord(aws, 'req-sync-answer-lost'))?.owner?.S).toBe(runs[0]?.executionArn);
  });
});

describe('invalid messages', () => {
  it('are dead-lettered once even when their batch is delivered again', async () => {
    const invalid = record('{"request_id": "req-broken"', { messageId: randomUUID() });
    const valid = record(JSON.stringify(request('req-beside-broken')));
    expect((await invoke([invalid, valid])).batchItemFailures).toEqual([]);
    // The intake failed as a whole afterwards (a timeout, say): SQS delivers the same messages again.
    expect((await invoke([redelivered(invalid), redelivered(valid)])).batchItemFailures).toEqual([]);

    const dead = await drain(aws.sqs('us-east-1'), aws.resources.dispatchDeadLetterQueueUrl);
    expect(dead.map((m) => m.Body)).toEqual([invalid.body]);
    expect(Object.values(await drainRegions(aws)).flat()).toHaveLength(1);
  });

  it('still reach the DLQ with their reason when the marker table cannot be read (a second copy rather than a loss)', async () => {
    aws.faults.dynamodb.rules.add({ actions: ['BatchGetItem'], mode: 'error', error: 'internal' });
    const invalid = record('not json at all', { receiveCount: 2 });
    expect((await invoke([invalid])).batchItemFailures).toEqual([]);
    const dead = await drain(aws.sqs('us-east-1'), aws.resources.dispatchDeadLetterQueueUrl);
    expect(dead.map((m) => m.MessageAttributes?.reason?.StringValue)).toEqual([expect.stringMatching(/^invalid request: body is not JSON/)]);
  });

  it('close to the 1 MiB message limit reach the DLQ with a reason that fits, the full reason kept in the table', async () => {
    // Not JSON, and 220 bytes short of the 1 MiB limit: its reason and attributes (about 250 bytes) do not fit beside it.
    const prefix = '{"request_id": "req-huge-broken", "blob": "';
    const body = `${prefix}${'z'.repeat(1024 * 1024 - 220 - prefix.length)}`;
    const huge = record(body);
    expect((await invoke([huge])).batchItemFailures).toEqual([]);
    const dead = await drain(aws.sqs('us-east-1'), aws.resources.dispatchDeadLetterQueueUrl);
    expect(dead).toHaveLength(1);
    expect(dead[0]?.Body).toBe(body);
    const reason = dead[0]?.MessageAttributes?.reason?.StringValue ?? '';
    expect(reason).toContain(intakeDeadLetterKey(huge.messageId));
    const { Item } = await aws.dynamo.send(
      new GetItemCommand({ TableName: aws.resources.tableName, Key: { request_id: { S: intakeDeadLetterKey(huge.messageId) } }, ConsistentRead: true }),
    );
    expect(Item?.reason?.S).toMatch(/^invalid request: body is not JSON/);
    expect(Item?.deadLetterMessageId?.S).toBe(dead[0]?.MessageId);
  });
});

/** Today's default (and largest) MaximumMessageSize. */
const SQS_DEFAULT_LIMIT = 1024 * 1024;

const home = () => aws.sqs('us-east-1');

async function setDeadLetterLimit(bytes: number) {
  await home().send(
    new SetQueueAttributesCommand({ QueueUrl: aws.resources.dispatchDeadLetterQueueUrl, Attributes: { MaximumMessageSize: String(bytes) } }),
  );
}

async function held(queueUrl: string): Promise<number> {
  const { Attributes: a = {} } = await home().send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(a.ApproximateNumberOfMessages) + Number(a.ApproximateNumberOfMessagesNotVisible);
}

/** How many copies each queue that can hold a master message holds. */
async function whereabouts() {
  return {
    master: await held(aws.resources.masterQueueUrl),
    masterDlq: await held(aws.resources.masterDeadLetterQueueUrl),
    dispatchDlq: await held(aws.resources.dispatchDeadLetterQueueUrl),
  };
}

/**
 * One delivery from the real master queue, as the event source mapping makes it: receive, invoke,
 * delete what succeeded; what failed becomes visible at once (its visibility timeout cut short), so
 * the next delivery is the message's next receive and the queue's RedrivePolicy counts it.
 */
async function deliverFromMaster(): Promise<{ received: number; failed: string[] }> {
  const { Messages = [] } = await home().send(
    new ReceiveMessageCommand({
      QueueUrl: aws.resources.masterQueueUrl,
      MaxNumberOfMessages: 10,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }),
  );
  if (!Messages.length) return { received: 0, failed: [] };
  const records = Messages.map((m) => toSqsRecord(m, aws.resources.masterQueueArn, 'us-east-1'));
  const failed = (await invoke(records)).batchItemFailures.map((f) => f.itemIdentifier);
  for (const { messageId, receiptHandle: ReceiptHandle } of records) {
    const QueueUrl = aws.resources.masterQueueUrl;
    if (failed.includes(messageId)) await home().send(new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle, VisibilityTimeout: 0 }));
    else await home().send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle }));
  }
  return { received: records.length, failed };
}

const marker = async (messageId: string) =>
  (
    await aws.dynamo.send(
      new GetItemCommand({ TableName: aws.resources.tableName, Key: { request_id: { S: intakeDeadLetterKey(messageId) } }, ConsistentRead: true }),
    )
  ).Item;

/** A valid request whose body alone passes the execution payload budget (about `kib` KiB of body). */
async function sendTooLarge(requestId: string, kib: number) {
  const body = JSON.stringify(request(requestId, { payload: 'z'.repeat(kib * 1024) }));
  const { MessageId } = await home().send(new SendMessageCommand({ QueueUrl: aws.resources.masterQueueUrl, MessageBody: body }));
  return { body, messageId: MessageId as string };
}

describe('a request too large for an execution, and a dispatch DLQ that refuses its copy', () => {
  afterEach(async () => {
    await drain(home(), aws.resources.masterQueueUrl);
    await drain(home(), aws.resources.masterDeadLetterQueueUrl);
  });

  it('is never deleted while no DLQ holds it: back to the master queue each time, then in the master DLQ, its reason in the marker', async () => {
    // Below the body itself: no copy of it can ever enter this DLQ.
    await setDeadLetterLimit(256 * 1024);
    const { body, messageId } = await sendTooLarge('req-too-large-refused', 300);
    let deliveries = 0;
    for (;;) {
      const { received, failed } = await deliverFromMaster();
      if (!received) break;
      deliveries++;
      // After every delivery the message is somewhere an operator finds it.
      const where = await whereabouts();
      expect(where.master + where.masterDlq, `copies in the master queue and its DLQ after delivery ${deliveries}`).toBe(1);
      expect(failed).toEqual([messageId]);
      expect(deliveries).toBeLessThanOrEqual(10);
    }
    // maxReceiveCount deliveries, then SQS's own redrive.
    expect(await whereabouts()).toEqual({ master: 0, masterDlq: 1, dispatchDlq: 0 });
    expect((await drain(home(), aws.resources.masterDeadLetterQueueUrl)).map((m) => m.Body)).toEqual([body]);
    const item = await marker(messageId);
    expect(item?.status?.S).toBe('UNDELIVERABLE');
    expect(item?.reason?.S).toMatch(/^too large: the request takes \d+ bytes of execution input/);
  });

  it('is sized against the DLQ\'s own limit: a DLQ that takes the body but not its attributes gets the body, the reason kept in the marker', async () => {
    const { body, messageId } = await sendTooLarge('req-too-large-fits-bare', 300);
    // Room for the body and a few bytes, not for the reason attributes (about 1.3 KiB with the 1 MiB sizing).
    await setDeadLetterLimit(Buffer.byteLength(body) + 64);
    const first = await deliverFromMaster();
    expect(first).toEqual({ received: 1, failed: [] });
    const dead = await drain(home(), aws.resources.dispatchDeadLetterQueueUrl);
    expect(dead.map((m) => m.Body)).toEqual([body]);
    const item = await marker(messageId);
    expect(item?.status?.S).toBe('DEAD_LETTERED');
    expect(item?.reason?.S).toMatch(/^too large:/);
    expect(item?.deadLetterMessageId?.S).toBe(dead[0]?.MessageId);
    expect(await whereabouts()).toEqual({ master: 0, masterDlq: 0, dispatchDlq: 0 });
  });

  it('falls back to 256 KiB when the DLQ\'s limit cannot be read: the copy carries a pointer, not its 1 KiB reason', async () => {
    aws.faults.sqs['us-east-1']?.rules.add({ actions: ['GetQueueAttributes'], mode: 'error', error: 'internal' });
    // Not JSON, 205 bytes short of 256 KiB: room for the pointer (about 195 bytes), not for the reason and
    // the other attributes (about 235).
    const prefix = '{"request_id": "req-limit-unread", "blob": "';
    const body = `${prefix}${'z'.repeat(256 * 1024 - 205 - prefix.length)}`;
    const huge = record(body);
    expect((await invoke([huge])).batchItemFailures).toEqual([]);
    const dead = await drain(home(), aws.resources.dispatchDeadLetterQueueUrl);
    expect(dead.map((m) => m.Body)).toEqual([body]);
    expect(dead[0]?.MessageAttributes?.reason?.StringValue).toContain(intakeDeadLetterKey(huge.messageId));
  });
});

describe('a reason that quotes half an emoji', () => {
  it('reaches the DLQ and the marker as text SQS takes, the emoji that fit kept whole', async () => {
    // V8 names the unexpected token by one code unit (half the emoji) and cuts its quote of the body
    // ten code units on, inside the fifth emoji: two lone surrogates, which SQS refuses in an attribute.
    const body = `{"request_id": 😀a${'😀'.repeat(8)}}`;
    const broken = record(body);
    expect((await invoke([broken])).batchItemFailures).toEqual([]);
    const dead = await drain(home(), aws.resources.dispatchDeadLetterQueueUrl);
    expect(dead.map((m) => m.Body)).toEqual([body]);
    const reason = dead[0]?.MessageAttributes?.reason?.StringValue ?? '';
    expect(reason).toMatch(/^invalid request: body is not JSON: Unexpected token/);
    expect(isSqsText(reason)).toBe(true);
    expect(reason).toContain('😀a😀😀😀');
    const item = await marker(broken.messageId);
    expect(item?.status?.S).toBe('DEAD_LETTERED');
    expect(isSqsText(item?.reason?.S ?? '')).toBe(true);
  });
});
