/**
 * ops/status.ts against a local stack: what statusReport returns for a request the workflow dispatched
 * (its record; the executions that carried it), one the intake dead-lettered as invalid (no record: its
 * DLQ copy and the intake's marker, the DLQ left as it was), one never seen, and on a deployed stage
 * (whose executions it does not read). Progress comes through the callback, named by step.
 */
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRequest } from '../../../tools/ops/requests.js';
import { localStackTarget } from '../../../tools/ops/local-target.js';
import { queueDepth } from '../../../tools/ops/queue-reader.js';
import { found, statusReport, type StatusStep } from '../../../tools/ops/status.js';
import type { Target } from '../../../tools/ops/target.js';
import { NOT_ON_AWS } from '../../../tools/ops/workflow-view.js';
import { startLocalStack, type LocalStack } from '../../../tools/local/stack.js';
import { queueEmpty, until } from '../../support/local-aws.js';

let stack: LocalStack;
let target: Target;

beforeAll(async () => {
  stack = await startLocalStack({ masterVisibilitySeconds: 2, batchWindowSeconds: 0.3, retryIntervalMs: 5 });
  target = localStackTarget(stack.description);
  const valid = JSON.stringify(makeRequest(0, { requestId: 'req-status-ok' }));
  // Invalid (no such priority), yet it names its request_id: the intake dead-letters it without a record.
  const invalid = JSON.stringify({ ...makeRequest(1, { requestId: 'req-status-invalid' }), priority: 'urgent' });
  const home = target.sqs(stack.description.homeRegion);
  await home.send(
    new SendMessageBatchCommand({ QueueUrl: stack.description.masterQueueUrl, Entries: [valid, invalid].map((b, i) => ({ Id: String(i), MessageBody: b })) }),
  );
  expect(await until(() => queueEmpty(home, stack.description.masterQueueUrl), 30_000)).toBe(true);
});
afterAll(async () => {
  await stack?.stop();
});

/** statusReport, with the steps its progress named. */
async function report(requestId: string, options: { dlq?: boolean; executions?: boolean } = {}, on: Target = target) {
  const steps: StatusStep[] = [];
  const result = await statusReport(on, requestId, { ...options, onProgress: (step) => steps.push(step) });
  return { result, steps };
}

describe('statusReport', () => {
  it('a dispatched request: its record, no DLQ searched, and the execution that carried it', async () => {
    const { result, steps } = await report('req-status-ok');
    expect(result.target).toMatch(/^local stack \(pid \d+\)$/);
    expect(result.record).toMatchObject({ request_id: 'req-status-ok', status: 'DISPATCHED' });
    expect(result.verdict).toBe('DISPATCHED');
    expect(result.dlqs).toBeUndefined();
    expect(result.deadLetters).toEqual([]);
    expect(result.workflow?.known).toBe(true);
    expect(result.workflow?.masterMessages).toHaveLength(1);
    expect(result.workflow?.masterMessages[0]).toMatchObject({ outcome: 'dispatched' });
    expect(stack.description.regions.map((r) => r.region)).toContain(result.workflow?.masterMessages[0]?.region);
    expect(new Set(steps)).toEqual(new Set(['executions']));
    expect(found(result)).toBe(true);
  });

  it('an invalid request: no record, its copy in the dispatch DLQ with the intake marker, the DLQ left as it was', async () => {
    const dlq = stack.description.dispatchDeadLetterQueueUrl;
    const home = target.sqs(stack.description.homeRegion);
    const before = await queueDepth(home, dlq);
    const { result, steps } = await report('req-status-invalid', { executions: false });
    expect(result.record).toBeNull();
    expect(result.verdict).toMatch(/^dead-lettered by the intake as an invalid request: no record/);
    expect(result.dlqs?.map((d) => d.queue)).toEqual(['dispatch', 'master', 'master-high']);
    expect(result.deadLetters).toHaveLength(1);
    expect(result.deadLetters[0]).toMatchObject({
      queue: 'dispatch',
      by: 'intake',
      matchedBy: 'body',
      reason: expect.stringMatching(/^invalid request: priority must be one of/),
      marker: { status: 'DEAD_LETTERED' },
    });
    expect(result.workflow).toBeUndefined();
    expect(steps).toContainEqual({ dlq: 'dispatch' });
    expect(steps).not.toContain('executions');
    expect(await queueDepth(home, dlq)).toEqual(before);
  });

  it('a request never seen, with neither the DLQs nor the executions read: not found', async () => {
    const { result, steps } = await report('req-status-never', { dlq: false, executions: false });
    expect(result).toEqual({
      requestId: 'req-status-never',
      target: target.description,
      record: null,
      verdict: 'not found: no record (never seen, or expired after 7 days), not in a DLQ',
      deadLetters: [],
    });
    expect(steps).toEqual([]);
    expect(found(result)).toBe(false);
  });

  it('on a deployed stage the executions are not read, and the report says what it cannot know', async () => {
    const deployed: Target = {
      ...target,
      kind: 'aws',
      sfn: () => {
        throw new Error('the Step Functions API does not serve Express executions on AWS');
      },
    };
    const { result } = await report('req-status-ok', {}, deployed);
    expect(result.workflow).toEqual(NOT_ON_AWS);
    expect(result.verdict).toBe('DISPATCHED');
  });
});
