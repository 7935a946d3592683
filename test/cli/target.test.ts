/** Pointing the CLI at a deployed stage through the outputs `sst deploy` writes (.sst/outputs.json). */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { awsTarget } from '../../cli/target.js';

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

describe('awsTarget', () => {
  it('reads queues, table, state machine and log group from the stage outputs', () => {
    const target = awsTarget({ stage: 'dev', profile: 'team' }, root(outputs));
    expect(target.kind).toBe('aws');
    expect(target.masterQueueUrl).toBe(outputs.masterQueueUrl);
    expect(target.regions).toEqual([
      { region: 'us-east-1', queueUrl: outputs.regionalQueueUrls['us-east-1'] },
      { region: 'us-west-2', queueUrl: outputs.regionalQueueUrls['us-west-2'] },
    ]);
    expect(target.tableName).toBe('inference-dispatch-idempotency-dev');
    expect(target.logGroupName).toBe(outputs.stateMachineLogGroup);
    expect(target.homeRegion).toBe('us-east-1');
  });

  it('says to deploy first when there are no outputs, and refuses another stage s outputs', () => {
    expect(() => awsTarget({ stage: 'dev' }, root())).toThrow(/run `npx sst deploy --stage dev` first/);
    expect(() => awsTarget({ stage: 'prod' }, root(outputs))).toThrow(/outputs of stage dev, not prod/);
    expect(() => awsTarget({ stage: 'dev' }, root({ something: 'else' }))).toThrow(/does not hold this app's outputs/);
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
