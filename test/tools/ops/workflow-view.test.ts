/**
 * ops/workflow-view.ts against a local stack: one request sent in two batches is carried into the
 * workflow by two master messages, dispatched by the first execution and dropped as a duplicate by the
 * second; a request no execution carried is not seen, and the view says what it cannot know.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localStackTarget } from '../../../tools/ops/local-target.js';
import { makeRequest } from '../../../tools/ops/requests.js';
import type { Target } from '../../../tools/ops/target.js';
import { workflowView } from '../../../tools/ops/workflow-view.js';
import { startLocalStack, type LocalStack } from '../../../tools/local/stack.js';
import { queueEmpty, until } from '../../support/local-aws.js';

let stack: LocalStack;
let target: Target;

beforeAll(async () => {
  stack = await startLocalStack({ masterVisibilitySeconds: 2, batchWindowSeconds: 0.3, retryIntervalMs: 5 });
  target = localStackTarget(stack.description);
  const home = target.sqs(stack.description.homeRegion);
  const body = JSON.stringify(makeRequest(0, { requestId: 'req-view-1' }));
  for (let batch = 0; batch < 2; batch++) {
    await home.send(new SendMessageCommand({ QueueUrl: stack.description.masterQueueUrl, MessageBody: body }));
    expect(await until(() => queueEmpty(home, stack.description.masterQueueUrl), 30_000)).toBe(true);
    expect(await until(() => stack.stepFunctions.executions().every((e) => e.status !== 'RUNNING'), 30_000)).toBe(true);
  }
});
afterAll(async () => {
  await stack?.stop();
});

describe('workflowView', () => {
  it('names each master message that carried the request, oldest first, and what became of it', async () => {
    const progress: Array<[number, number]> = [];
    const view = await workflowView(target.sfn(), stack.description.stateMachineArn, 'req-view-1', (read, total) => progress.push([read, total]));
    const executions = stack.stepFunctions.executions().length;
    expect(view.known).toBe(true);
    expect(view.executionsRead).toBe(executions);
    expect(view.masterMessages.map((m) => m.outcome)).toEqual(['dispatched', 'duplicate']);
    expect(new Set(view.masterMessages.map((m) => m.messageId)).size).toBe(2);
    expect(view.masterMessages[0]?.region).toBeDefined();
    expect(progress.at(-1)).toEqual([executions, executions]);
    expect(view.notKnown.join(' ')).toMatch(/repeats within one batch: the intake drops them before any execution/);
  });

  it('sees nothing of a request no execution carried', async () => {
    const view = await workflowView(target.sfn(), stack.description.stateMachineArn, 'req-view-never');
    expect(view.known).toBe(true);
    expect(view.masterMessages).toEqual([]);
  });
});
