/**
 * Pointing the CLI at a deployed stage: `sst shell`'s link, the last deploy's .sst/outputs.json, or the
 * SSM parameter every stage writes (read over the wire from a local Parameter Store endpoint).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { awsTarget } from '../../../tools/cli/target.js';
import { TargetError } from '../../../tools/ops/target.js';
import { startSsmServer, type SsmServer } from '../../support/ssm-server.js';

const outputs = {
  app: 'inference-dispatch',
  stage: 'dev',
  homeRegion: 'us-east-1',
  masterQueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/inference-dispatch-master-queue-dev',
  masterDeadLetterQueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/inference-dispatch-master-dlq-dev',
  dispatchDeadLetterQueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/inference-dispatch-dlq-dev',
  regionQueues: '{}',
  regionalQueueUrls: {
    'us-east-1': 'https://sqs.us-east-1.amazonaws.com/123456789012/inference-dispatch-queue-us-east-1-dev',
    'us-west-2': 'https://sqs.us-west-2.amazonaws.com/123456789012/inference-dispatch-queue-us-west-2-dev',
  },
  regionalDeadLetterQueueUrls: {},
  stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:inference-dispatch-dev',
  stateMachineLogGroup: '/aws/vendedlogs/states/inference-dispatch-dev',
  tableName: 'inference-dispatch-idempotency-dev',
  functionNames: { intake: 'a', snapshot: 'b', select: 'c', forward: 'd' },
  alarmTopicArns: {},
  consoleLinks: { stateMachine: 'x', executionLogs: 'x', dashboard: 'x', masterQueue: 'x', table: 'x' },
};

function root(content?: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'dispatch-target-'));
  if (content !== undefined) {
    mkdirSync(join(dir, '.sst'));
    writeFileSync(join(dir, '.sst', 'outputs.json'), JSON.stringify(content));
  }
  return dir;
}

const ENV_KEYS = ['AWS_ENDPOINT_URL_SSM', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'SST_RESOURCE_Dispatch', 'DISPATCH_APP_NAME'] as const;
let ssm: SsmServer;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  ssm = await startSsmServer();
  for (const key of ENV_KEYS) saved[key] = process.env[key];
  process.env.AWS_ENDPOINT_URL_SSM = ssm.endpoint;
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  delete process.env.SST_RESOURCE_Dispatch;
  delete process.env.DISPATCH_APP_NAME;
});
afterAll(async () => {
  for (const key of ENV_KEYS) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
  await ssm.close();
});
afterEach(() => {
  ssm.parameters.clear();
  ssm.failWith = undefined;
  ssm.calls.length = 0;
  delete process.env.SST_RESOURCE_Dispatch;
});

const ofStage = (stage: string, app = 'inference-dispatch') => ({ ...outputs, app, stage, tableName: `${app}-idempotency-${stage}` });

describe('awsTarget', () => {
  it('reads queues, table, state machine and log group from the stage outputs', async () => {
    const target = await awsTarget({ stage: 'dev', profile: 'team' }, root(outputs));
    expect(target.kind).toBe('aws');
    expect(target.masterQueueUrl).toBe(outputs.masterQueueUrl);
    expect(target.regions).toEqual([
      { region: 'us-east-1', queueUrl: outputs.regionalQueueUrls['us-east-1'] },
      { region: 'us-west-2', queueUrl: outputs.regionalQueueUrls['us-west-2'] },
    ]);
    expect(target.tableName).toBe('inference-dispatch-idempotency-dev');
    expect(target.logGroupName).toBe(outputs.stateMachineLogGroup);
    expect(target.homeRegion).toBe('us-east-1');
    expect(target.description).toMatch(/outputs\.json/);
  });

  it('names each region\'s DLQ and its high lane\'s, and the alarm topics smoke reads the alarms by', async () => {
    const withLanes = {
      ...outputs,
      regionalHighQueueUrls: { 'us-west-2': 'https://sqs.us-west-2.amazonaws.com/123456789012/inference-dispatch-queue-us-west-2-high-dev' },
      regionalDeadLetterQueueUrls: {
        'us-east-1': 'https://sqs.us-east-1.amazonaws.com/123456789012/inference-dispatch-queue-us-east-1-dlq-dev',
        'us-west-2': 'https://sqs.us-west-2.amazonaws.com/123456789012/inference-dispatch-queue-us-west-2-dlq-dev',
      },
      alarmTopicArns: { 'us-east-1': 'arn:aws:sns:us-east-1:123456789012:inference-dispatch-alarms-dev' },
    };
    const target = await awsTarget({ stage: 'dev' }, root(withLanes));
    expect(target.regions).toEqual([
      { region: 'us-east-1', queueUrl: outputs.regionalQueueUrls['us-east-1'], deadLetterQueueUrl: withLanes.regionalDeadLetterQueueUrls['us-east-1'] },
      {
        region: 'us-west-2',
        queueUrl: outputs.regionalQueueUrls['us-west-2'],
        highQueueUrl: withLanes.regionalHighQueueUrls['us-west-2'],
        deadLetterQueueUrl: withLanes.regionalDeadLetterQueueUrls['us-west-2'],
        // Not an output: beside the normal lane's DLQ, under the name the stack gives it (core/topology.ts).
        highDeadLetterQueueUrl: 'https://sqs.us-west-2.amazonaws.com/123456789012/inference-dispatch-queue-us-west-2-high-dlq-dev',
      },
    ]);
    expect(target.alarmTopicArns).toEqual(withLanes.alarmTopicArns);
    expect(typeof target.cloudwatch).toBe('function');
  });

  it('finds a stage that was not the last deployed in its SSM parameter', async () => {
    ssm.parameters.set('/inference-dispatch/prod/outputs', JSON.stringify(ofStage('prod')));
    const target = await awsTarget({ stage: 'prod' }, root(outputs));
    expect(target.tableName).toBe('inference-dispatch-idempotency-prod');
    expect(target.description).toMatch(/SSM parameter \/inference-dispatch\/prod\/outputs/);
    expect(ssm.calls).toContain('GetParameter');
  });

  it("finds another app's stage by --app (or DISPATCH_APP_NAME)", async () => {
    ssm.parameters.set('/dispatch-eu/dev/outputs', JSON.stringify(ofStage('dev', 'dispatch-eu')));
    // The file holds the default app's dev stage: not this app's.
    const target = await awsTarget({ stage: 'dev', app: 'dispatch-eu' }, root(outputs));
    expect(target.tableName).toBe('dispatch-eu-idempotency-dev');
  });

  it("takes sst shell's link first", async () => {
    process.env.SST_RESOURCE_Dispatch = JSON.stringify({ ...ofStage('staging'), type: 'sst.sst.Linkable' });
    const target = await awsTarget({ stage: 'staging' }, root(outputs));
    expect(target.tableName).toBe('inference-dispatch-idempotency-staging');
    expect(target.description).toMatch(/SST_RESOURCE_Dispatch/);
    expect(ssm.calls.filter((c) => c === 'GetParameter')).toHaveLength(0);
  });

  it('says where it looked when no place holds the stage', async () => {
    const error = await awsTarget({ stage: 'prod' }, root(outputs)).catch((e: Error) => e);
    expect(error).toBeInstanceOf(TargetError);
    expect((error as Error).message).toMatch(/no outputs of app inference-dispatch stage prod found/);
    expect((error as Error).message).toMatch(/outputs\.json holds app inference-dispatch stage dev/);
    expect((error as Error).message).toMatch(/\/inference-dispatch\/prod\/outputs \(us-east-1\) not found/);
    expect((error as Error).message).toMatch(/npx sst deploy --stage prod/);
    const bad = await awsTarget({ stage: 'dev' }, root({ something: 'else' })).catch((e: Error) => e);
    expect((bad as Error).message).toMatch(/does not hold this app's outputs/);
  });

  it('reports an SSM that fails as unreadable, not as a stage that is missing', async () => {
    ssm.failWith = 500;
    const error = await awsTarget({ stage: 'prod' }, root()).catch((e: Error) => e);
    expect(error).toBeInstanceOf(TargetError);
    expect((error as Error).message).toMatch(/outputs \(us-east-1\) unreadable: InternalServerError/);
  });

  it("reads each region's configured capacity from REGION_QUEUES as the functions do (1 where it is not given)", async () => {
    const regionQueues = JSON.stringify({
      'us-east-1': { url: outputs.regionalQueueUrls['us-east-1'], capacity: 4 },
      'us-west-2': outputs.regionalQueueUrls['us-west-2'],
    });
    const target = await awsTarget({ stage: 'dev' }, root({ ...outputs, regionQueues }));
    expect(target.capacities).toEqual({ 'us-east-1': 4, 'us-west-2': 1 });
    // Outputs whose REGION_QUEUES cannot be read leave them unknown rather than guessed.
    expect((await awsTarget({ stage: 'dev' }, root(outputs))).capacities).toBeUndefined();
  });
});
