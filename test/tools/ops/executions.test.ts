/**
 * ops/executions.ts: the newest executions and one execution's history, as they come back from the
 * local stack's Step Functions endpoint (two batches, so two executions), and from a deployed stage's
 * log group (a fake Logs client answering one Logs Insights query: the service cannot run here).
 */
import { GetQueryResultsCommand, StartQueryCommand, type CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readExecution, recentExecutions, type ListedExecution } from '../../../tools/ops/executions.js';
import { expressExecutionUrl } from '../../../tools/ops/express-logs.js';
import { localStackTarget } from '../../../tools/ops/local-target.js';
import { makeRequest } from '../../../tools/ops/requests.js';
import type { Target } from '../../../tools/ops/target.js';
import { startLocalStack, type LocalStack } from '../../../tools/local/stack.js';
import { queueEmpty, until } from '../../support/local-aws.js';

let stack: LocalStack;
let target: Target;

beforeAll(async () => {
  stack = await startLocalStack({ masterVisibilitySeconds: 2, batchWindowSeconds: 0.3, retryIntervalMs: 5 });
  target = localStackTarget(stack.description);
  const home = target.sqs(stack.description.homeRegion);
  for (const batch of [['req-exec-1', 'req-exec-2'], ['req-exec-3']]) {
    await home.send(
      new SendMessageBatchCommand({
        QueueUrl: stack.description.masterQueueUrl,
        Entries: batch.map((id, i) => ({ Id: String(i), MessageBody: JSON.stringify(makeRequest(i, { requestId: id })) })),
      }),
    );
    expect(await until(() => queueEmpty(home, stack.description.masterQueueUrl), 30_000)).toBe(true);
    expect(await until(() => stack.stepFunctions.executions().every((e) => e.status !== 'RUNNING'), 30_000)).toBe(true);
  }
});
afterAll(async () => {
  await stack?.stop();
});

describe('recentExecutions on the local stack', () => {
  let listed: ListedExecution[];
  beforeAll(async () => {
    listed = await recentExecutions(target, { max: 10, hours: 1 });
  });

  it('lists every execution, newest first, with its times and no console link', () => {
    expect(listed.length).toBeGreaterThanOrEqual(2);
    expect(listed).toHaveLength(stack.stepFunctions.executions().length);
    const [newest, oldest] = listed as [ListedExecution, ListedExecution];
    expect(Date.parse(newest.startDate as string)).toBeGreaterThanOrEqual(Date.parse(oldest.startDate as string));
    for (const e of listed) {
      expect(Object.keys(e).sort()).toEqual(['durationMs', 'executionArn', 'name', 'startDate', 'status', 'stopDate']);
      expect(e.status).toBe('SUCCEEDED');
      expect(e.executionArn).toContain(`:${e.name}`);
      expect(e.durationMs).toBe(Date.parse(e.stopDate as string) - Date.parse(e.startDate as string));
    }
  });

  it('keeps to --max and --status', async () => {
    expect(await recentExecutions(target, { max: 1, hours: 1 })).toEqual([listed[0]]);
    expect(await recentExecutions(target, { max: 10, hours: 1, status: 'FAILED' })).toEqual([]);
  });
});

describe('readExecution on the local stack', () => {
  it('finds an execution by name or ARN, with its description and whole history', async () => {
    const newest = (await recentExecutions(target, { max: 1, hours: 1 }))[0] as ListedExecution;
    const byName = await readExecution(target, newest.name, { hours: 1 });
    expect(byName.executionArn).toBe(newest.executionArn);
    expect(byName.execution).toMatchObject({ name: newest.name, status: 'SUCCEEDED' });
    expect(byName.events[0]?.type).toBe('ExecutionStarted');
    expect(byName.events.at(-1)?.type).toBe('ExecutionSucceeded');
    const output = JSON.parse(byName.execution.output as string) as { forwarded: Array<Array<{ requestId: string }>> };
    expect(output.forwarded.flat().map((o) => o.requestId)).toEqual(['req-exec-3']);

    const byArn = await readExecution(target, newest.executionArn, { hours: 1 });
    expect(byArn.events.map((e) => e.id)).toEqual(byName.events.map((e) => e.id));
  });

  it('says so when no execution has that name', async () => {
    await expect(readExecution(target, 'b-no-such-execution', { hours: 1 })).rejects.toThrow(/no execution named b-no-such-execution/);
  });
});

describe('on a deployed stage', () => {
  const ARN = 'arn:aws:states:us-east-1:123456789012:express:inference-dispatch-dev:b20251202T102300-aaaa1111:0b1c';

  /** The stage's log group answering one Logs Insights query at once. */
  const logs = {
    async send(command: unknown) {
      if (command instanceof StartQueryCommand) return { queryId: 'q-1' };
      if (command instanceof GetQueryResultsCommand) {
        const fields = { execution_arn: ARN, startedAt: '2025-12-02 10:23:00.000', lastAt: '2025-12-02 10:23:00.050', lastType: 'ExecutionSucceeded' };
        return { status: 'Complete', results: [Object.entries(fields).map(([field, value]) => ({ field, value }))] };
      }
      throw new Error('unexpected command');
    },
  } as unknown as CloudWatchLogsClient;

  it("lists the log group's executions, each with its page in the Step Functions console, and reports the query", async () => {
    const deployed: Target = { ...target, kind: 'aws', logGroupName: '/aws/vendedlogs/states/x', logs: () => logs };
    const statuses: string[] = [];
    const listed = await recentExecutions(deployed, { max: 5, hours: 1, onProgress: (p) => statuses.push(p.status) });
    expect(listed).toEqual([
      {
        name: 'b20251202T102300-aaaa1111',
        executionArn: ARN,
        status: 'SUCCEEDED',
        startDate: '2025-12-02T10:23:00.000Z',
        stopDate: '2025-12-02T10:23:00.050Z',
        durationMs: 50,
        consoleUrl: expressExecutionUrl(ARN, new Date(Date.UTC(2025, 11, 2, 10, 23))),
      },
    ]);
    expect(statuses).toEqual(['Complete']);
  });

  it('refuses a stage whose outputs name no log group', async () => {
    const deployed: Target = { ...target, kind: 'aws' };
    await expect(recentExecutions(deployed, { max: 5, hours: 1 })).rejects.toThrow(/name no log group/);
    await expect(readExecution(deployed, 'b-1', { hours: 1 })).rejects.toThrow(/name no log group/);
  });
});
