/**
 * The intake through middy and the partial-batch-failure middleware, with SQS events shaped as Lambda
 * sends them, starting executions through the real SFNClient on the local Step Functions endpoint.
 */
import { randomUUID } from 'node:crypto';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClients, type AwsClients } from '../../aws/clients.js';
import type { DispatchConfig } from '../../core/config.js';
import { resourceNames } from '../../core/topology.js';
import { createIntakeHandler, type IntakeHandler } from '../../functions/intake.js';
import { createDispatchRunner, localConfig, localMetrics, type RunnerSetup } from '../../tools/local/dispatch.js';
import { startStepFunctionsEndpoint, type StepFunctionsEndpoint } from '../../tools/local/emulators/sfn-endpoint.js';
import { createRunner } from '../../tools/local/emulators/asl-runner.js';
import { drain, drainRegions, request, startLocalAws, type LocalAws } from '../support/local-aws.js';
import { sqsRecord } from '../support/sqs-event.js';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';

let aws: LocalAws;
let setup: RunnerSetup;
let sfn: StepFunctionsEndpoint;
let intake: IntakeHandler;
const opened: AwsClients[] = [];

const BROKEN = 'broken-dispatch';

beforeAll(async () => {
  aws = await startLocalAws();
  setup = createDispatchRunner(aws.resources, aws.endpoints, { retryIntervalMs: 5 });
  const failing = { StartAt: 'Boom', States: { Boom: { Type: 'Fail', Error: 'Dispatch.Broken', Cause: 'deliberately broken' } } };
  sfn = await startStepFunctionsEndpoint({
    stateMachines: [
      { name: resourceNames(aws.resources.stage).stateMachine, runner: setup.runner, definition: setup.definition, type: 'EXPRESS' },
      { name: BROKEN, runner: createRunner(failing, { lambdas: {} }), definition: failing, type: 'EXPRESS' },
    ],
  });
  useIntake();
});
afterAll(async () => {
  for (const clients of opened) clients.destroy();
  await sfn?.stop();
  setup?.close();
  await aws?.stop();
});
afterEach(async () => {
  useIntake();
  await drainRegions(aws);
  await drain(aws.sqs('us-east-1'), aws.resources.dispatchDeadLetterQueueUrl);
});

/** The intake over the local config, or over that config changed (another state machine, Step Functions unreachable, a DLQ gone). */
function useIntake(change: (config: DispatchConfig) => DispatchConfig = (config) => config) {
  const config = change(localConfig(aws.resources, aws.endpoints, { sfnEndpoint: sfn.endpoint }));
  const clients = createClients(config);
  opened.push(clients);
  intake = createIntakeHandler({ config, clients, metrics: localMetrics(aws.resources, { metricsOutput: 'off' }) });
}

const record = (body: string, receiveCount = 1) => sqsRecord(body, { queueArn: aws.resources.masterQueueArn, receiveCount });

const context = { functionName: 'intake', awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 60_000 } as unknown as Context;

async function invoke(records: SQSRecord[]): Promise<SQSBatchResponse> {
  return intake({ Records: records } satisfies SQSEvent, context);
}

const failures = (response: SQSBatchResponse) => response.batchItemFailures.map((f) => f.itemIdentifier).sort();

describe('intake', () => {
  it('dispatches valid requests, dead-letters invalid ones with the reason, drops repeats, and fails none', async () => {
    const records = [
      record(JSON.stringify(request('req-intake-1'))),
      record(JSON.stringify(request('req-intake-2', { priority: 'high', extra_field: { kept: true } }))),
      record('this is not json'),
      record(JSON.stringify(request('req-intake-3', { priority: 'urgent' }))),
      record(JSON.stringify(request('req-intake-1'))),
    ];
    const response = await invoke(records);
    expect(response.batchItemFailures).toEqual([]);

    const delivered = Object.values(await drainRegions(aws)).flat();
    expect(delivered.map((m) => m.MessageAttributes?.request_id?.StringValue).sort()).toEqual(['req-intake-1', 'req-intake-2']);
    // Unknown fields are passed on: the body is forwarded as it came.
    expect(delivered.map((m) => m.Body)).toContain(records[1]?.body);

    const dead = await drain(aws.sqs('us-east-1'), aws.resources.dispatchDeadLetterQueueUrl);
    const reasons = Object.fromEntries(dead.map((m) => [m.Body, m.MessageAttributes?.reason?.StringValue]));
    expect(reasons['this is not json']).toMatch(/^invalid request: body is not JSON/);
    expect(reasons[records[3]?.body as string]).toBe('invalid request: priority must be one of high, normal, low');
    expect(dead).toHaveLength(2);
  });

  it('reports a busy request as a batch item failure and nothing else', async () => {
    const now = Math.floor(Date.now() / 1000);
    await aws.dynamo.send(
      new PutItemCommand({
        TableName: aws.resources.tableName,
        Item: { request_id: { S: 'req-intake-busy' }, status: { S: 'IN_PROGRESS' }, owner: { S: 'someone-else' }, leaseUntil: { N: String(now + 300) }, expiresAt: { N: String(now + 9999) } },
      }),
    );
    const busy = record(JSON.stringify(request('req-intake-busy')));
    const response = await invoke([record(JSON.stringify(request('req-intake-ok'))), busy]);
    expect(failures(response)).toEqual([busy.messageId]);
  });

  it('fails only the messages of an execution that ends FAILED (HTTP 200, status FAILED)', async () => {
    useIntake((config) => ({ ...config, stateMachineArn: sfn.stateMachineArn(BROKEN) }));
    const records = [record(JSON.stringify(request('req-broken-1'))), record(JSON.stringify(request('req-broken-2'))), record('{')];
    const response = await invoke(records);
    expect(failures(response)).toEqual([records[0]?.messageId, records[1]?.messageId].sort());
    // The invalid one was still dead-lettered at once.
    expect(await drain(aws.sqs('us-east-1'), aws.resources.dispatchDeadLetterQueueUrl)).toHaveLength(1);
  });

  it('fails every message when Step Functions cannot be reached, and loses none', async () => {
    useIntake((config) => ({ ...config, endpoints: { ...config.endpoints, stepFunctions: 'http://127.0.0.1:9' } }));
    const records = [record(JSON.stringify(request('req-nosfn-1'))), record(JSON.stringify(request('req-nosfn-2')))];
    const response = await invoke(records);
    expect(failures(response)).toEqual(records.map((r) => r.messageId).sort());
  });

  it('retries an invalid message when the DLQ cannot take it, instead of dropping it', async () => {
    useIntake((config) => ({ ...config, dispatchDeadLetterQueueUrl: aws.resources.dispatchDeadLetterQueueUrl.replace(/[^/]+$/, 'no-such-queue') }));
    const bad = record('not json either');
    const response = await invoke([bad]);
    expect(failures(response)).toEqual([bad.messageId]);
  });

  it('splits a batch whose input would pass 256 KiB into several executions, and dead-letters one too large alone', async () => {
    const big = (id: string) => JSON.stringify(request(id, { blob: 'x'.repeat(70 * 1024) }));
    const records = Array.from({ length: 5 }, (_, i) => record(big(`req-big-${i}`)));
    const huge = record(JSON.stringify(request('req-huge', { blob: 'y'.repeat(250 * 1024) })));
    const before = sfn.executions().length;
    const response = await invoke([...records, huge]);
    expect(response.batchItemFailures).toEqual([]);
    const started = sfn.executions().slice(before);
    expect(started.length).toBeGreaterThanOrEqual(2);
    expect(started.every((e) => /-\d+of\d+$/.test(e.name))).toBe(true);
    for (const execution of started) expect(Buffer.byteLength(JSON.stringify(execution.input))).toBeLessThanOrEqual(256 * 1024);
    expect(Object.values(await drainRegions(aws)).flat()).toHaveLength(5);
    const dead = await drain(aws.sqs('us-east-1'), aws.resources.dispatchDeadLetterQueueUrl);
    expect(dead.map((m) => m.MessageAttributes?.reason?.StringValue)).toEqual([expect.stringMatching(/^too large/)]);
  });
});
