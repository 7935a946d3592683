/** Reading Express executions back from their CloudWatch log records (the AWS side of executions/inspect). */
import {
  GetQueryResultsCommand,
  StartQueryCommand,
  StopQueryCommand,
  type CloudWatchLogsClient,
  type GetQueryResultsCommandOutput,
} from '@aws-sdk/client-cloudwatch-logs';
import type { ExecutionStatus } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import {
  executionName,
  executionsFromLogs,
  expressExecutionUrl,
  insightsTime,
  logMessagesToHistory,
  LogsQueryError,
  newestExecutions,
  newestExecutionsQuery,
  type InsightsProgress,
} from '../../../tools/ops/express-logs.js';
import { toSteps } from '../../../tools/cli/steps.js';
import { formatExecutions } from '../../../tools/cli/commands/executions.js';
import { listedExecution } from '../../../tools/ops/executions.js';

const ARN_A = 'arn:aws:states:us-east-1:123456789012:express:inference-dispatch-dev:b20251202T102300-aaaa1111:0b1c';
const ARN_B = 'arn:aws:states:us-east-1:123456789012:express:inference-dispatch-dev:b20251202T102305-bbbb2222:9f8e';

// Records as Step Functions writes them to the log group (logging level ALL, execution data included).
const line = (arn: string, id: number, type: string, ms: number, details: Record<string, unknown> = {}, previous = id - 1) =>
  JSON.stringify({ id: String(id), type, details, previous_event_id: String(previous), event_timestamp: String(1764671000000 + ms), execution_arn: arn, redrive_count: '0' });

const messages = [
  line(ARN_A, 1, 'ExecutionStarted', 0, { input: '{"messages":[]}', roleArn: 'arn:aws:iam::123456789012:role/x' }),
  line(ARN_A, 2, 'TaskStateEntered', 1, { name: 'Forward', input: '{"region":"us-west-2"}' }),
  line(ARN_A, 3, 'LambdaFunctionScheduled', 1, { resource: 'arn:aws:lambda:us-east-1:123456789012:function:forward' }),
  line(ARN_A, 4, 'LambdaFunctionFailed', 40, { error: 'RegionUnavailable', cause: '{"errorMessage":"down"}' }),
  line(ARN_B, 1, 'ExecutionStarted', 5000, {}),
  line(ARN_A, 5, 'TaskStateExited', 41, { name: 'Forward', output: '{}' }),
  line(ARN_A, 6, 'ExecutionSucceeded', 50, { output: '{"skipped":[]}' }),
  'START RequestId: not a state machine record',
  line(ARN_B, 2, 'ExecutionFailed', 5100, { error: 'States.Timeout', cause: 'too slow' }),
];

describe('Express execution logs', () => {
  it('lists executions newest first with their final status and duration', () => {
    const list = executionsFromLogs(messages);
    expect(list.map((e) => [e.name, e.status])).toEqual([
      ['b20251202T102305-bbbb2222', 'FAILED'],
      ['b20251202T102300-aaaa1111', 'SUCCEEDED'],
    ]);
    expect((list[1]?.stopDate?.getTime() ?? 0) - (list[1]?.startDate.getTime() ?? 0)).toBe(50);
  });

  it('rebuilds one execution history in id order, ignoring other executions and foreign lines', () => {
    const history = logMessagesToHistory(messages, ARN_A);
    expect(history.map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6]);
    const steps = toSteps(history);
    expect(steps).toHaveLength(1);
    expect(steps[0]?.name).toBe('Forward');
    expect(steps[0]?.input).toContain('us-west-2');
    expect(steps[0]?.errors[0]?.error).toBe('RegionUnavailable');
    expect(steps[0]?.exitedAt && steps[0].exitedAt.getTime() - steps[0].enteredAt.getTime()).toBe(40);
  });

  it('takes the execution name from an Express execution ARN', () => {
    expect(executionName(ARN_B)).toBe('b20251202T102305-bbbb2222');
  });

  it('puts each error on its own Map iteration by previous_event_id, when two regions fail at the same moment (a deployed stage)', () => {
    // As a deployed stage logs them: the Forward iterations interleaved, each event naming its causal predecessor.
    const iterations = [
      line(ARN_A, 1, 'ExecutionStarted', 0, {}, 0),
      line(ARN_A, 2, 'MapStateEntered', 1, { name: 'Forward to regions' }, 0),
      line(ARN_A, 3, 'MapStateStarted', 1, { length: 2 }, 2),
      line(ARN_A, 4, 'MapIterationStarted', 1, { name: 'Forward to regions', index: 0 }, 3),
      line(ARN_A, 5, 'MapIterationStarted', 1, { name: 'Forward to regions', index: 1 }, 3),
      line(ARN_A, 6, 'TaskStateEntered', 2, { name: 'Forward', input: '{"region":"us-west-2"}' }, 4),
      line(ARN_A, 7, 'TaskStateEntered', 2, { name: 'Forward', input: '{"region":"us-west-1"}' }, 5),
      line(ARN_A, 8, 'LambdaFunctionScheduled', 2, {}, 6),
      line(ARN_A, 9, 'LambdaFunctionScheduled', 2, {}, 7),
      line(ARN_A, 10, 'LambdaFunctionStarted', 3, {}, 8),
      line(ARN_A, 11, 'LambdaFunctionStarted', 3, {}, 9),
      line(ARN_A, 12, 'LambdaFunctionFailed', 40, { error: 'RegionUnavailable', cause: 'refused' }, 10),
      line(ARN_A, 13, 'LambdaFunctionFailed', 41, { error: 'RegionUnconfirmed', cause: 'no answer' }, 11),
      line(ARN_A, 14, 'LambdaFunctionScheduled', 1041, {}, 13),
      line(ARN_A, 15, 'TaskStateExited', 1041, { name: 'Forward' }, 12),
      line(ARN_A, 16, 'LambdaFunctionStarted', 1042, {}, 14),
      line(ARN_A, 17, 'LambdaFunctionSucceeded', 1050, {}, 16),
      line(ARN_A, 18, 'TaskStateExited', 1050, { name: 'Forward' }, 17),
    ];
    const history = logMessagesToHistory(iterations, ARN_A);
    expect(history.find((e) => e.id === 14)?.previousEventId).toBe(13);
    const steps = toSteps(history);
    const forwards = steps.filter((s) => s.name === 'Forward');
    expect(forwards).toHaveLength(2);
    const west2 = forwards.find((s) => s.input?.includes('us-west-2'));
    const west1 = forwards.find((s) => s.input?.includes('us-west-1'));
    expect(west2?.errors.map((e) => e.error)).toEqual(['RegionUnavailable']);
    expect(west2?.attempts).toBe(1);
    expect(west1?.errors.map((e) => e.error)).toEqual(['RegionUnconfirmed']);
    expect(west1?.attempts).toBe(2);
    expect(new Set(forwards.map((s) => s.iteration))).toEqual(new Set([0, 1]));
  });
});
