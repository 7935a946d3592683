/**
 * The intake under faults that answer ambiguously, through fault proxies in front of DynamoDB, SQS and
 * the Step Functions endpoint: a StartSyncExecution whose answer is lost (the SDK starts a second run
 * under the same name), a batch delivered again after its invalid messages were dead-lettered, and an
 * invalid message so large that its reason no longer fits beside it in the DLQ.
 */
import { randomUUID } from 'node:crypto';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { intakeDeadLetterKey } from '../../core/record.js';
import { resourceNames } from '../../core/topology.js';
import { handler } from '../../functions/intake.js';
import { startFaultProxy, type FaultProxy } from '../../local/fault-proxy.js';
import { applyEnvironment, createDispatchRunner, dispatchEnvironment, type RunnerSetup } from '../../local/dispatch.js';
import { startStepFunctionsEndpoint, type StepFunctionsEndpoint } from '../../local/sfn-endpoint.js';
import { claimRecord, drain, drainRegions, request, startLocalAws, type LocalAws, type LocalFaults } from '../support/local-aws.js';
import { redelivered, sqsRecord } from '../support/sqs-event.js';

let aws: LocalAws & { readonly faults: LocalFaults };
let setup: RunnerSetup;
let sfn: StepFunctionsEndpoint;
let sfnProxy: FaultProxy;

beforeAll(async () => {
  aws = await startLocalAws({ faults: true });
  setup = createDispatchRunner(aws.resources, aws.codeEndpoints, { retryIntervalMs: 5 });
  sfn = await startStepFunctionsEndpoint({
    stateMachines: [{ name: resourceNames(aws.resources.stage).stateMachine, runner: setup.runner, definition: setup.definition, type: 'EXPRESS' }],
  });
  sfnProxy = await startFaultProxy({ target: sfn.endpoint, service: 'stepfunctions' });
  applyEnvironment(dispatchEnvironment(aws.resources, aws.codeEndpoints, { sfnEndpoint: sfnProxy.endpoint }));
});
afterAll(async () => {
  await sfnProxy?.stop();
  await sfn?.stop();
  setup?.close();
  await aws?.stop();
});
afterEach(async () => {
  sfnProxy.rules.clear();
  aws.faults.dynamodb.rules.clear();
  for (const proxy of Object.values(aws.faults.sqs)) proxy.rules.clear();
  await drainRegions(aws);
  await drain(aws.sqs('us-east-1'), aws.resources.dispatchDeadLetterQueueUrl);
});

const record = (body: string, options: { messageId?: string; receiveCount?: number } = {}) =>
  sqsRecord(body, { queueArn: aws.resources.masterQueueArn, ...options });

const context = { functionName: 'intake', awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
const invoke = (records: SQSRecord[]): Promise<SQSBatchResponse> => handler({ Records: records } satisfies SQSEvent, context);

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
