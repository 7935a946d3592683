/** Reading Express executions back from their CloudWatch log records (the AWS side of executions/inspect). */
import { describe, expect, it } from 'vitest';
import { executionName, executionsFromLogs, logMessagesToHistory } from '../../cli/express-logs.js';
import { toSteps } from '../../cli/steps.js';

const ARN_A = 'arn:aws:states:us-east-1:123456789012:express:inference-dispatch-dev:b20251202T102300-aaaa1111:0b1c';
const ARN_B = 'arn:aws:states:us-east-1:123456789012:express:inference-dispatch-dev:b20251202T102305-bbbb2222:9f8e';

// Records as Step Functions writes them to the log group (logging level ALL, execution data included).
const line = (arn: string, id: number, type: string, ms: number, details: Record<string, unknown> = {}) =>
  JSON.stringify({ id: String(id), type, details, previous_event_id: String(id - 1), event_timestamp: String(1764671000000 + ms), execution_arn: arn, redrive_count: '0' });

const messages = [
  line(ARN_A, 1, 'ExecutionStarted', 0, { input: '{"messages":[]}', roleArn: 'arn:aws:iam::123456789012:role/x' }),
  line(ARN_A, 2, 'TaskStateEntered', 1, { name: 'Forward us-west-2', input: '{}' }),
  line(ARN_A, 3, 'LambdaFunctionScheduled', 1, { resource: 'arn:aws:lambda:us-east-1:123456789012:function:forward' }),
  line(ARN_A, 4, 'LambdaFunctionFailed', 40, { error: 'RegionUnavailable', cause: '{"errorMessage":"down"}' }),
  line(ARN_B, 1, 'ExecutionStarted', 5000, {}),
  line(ARN_A, 5, 'TaskStateExited', 41, { name: 'Forward us-west-2', output: '{}' }),
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
    expect(steps[0]?.name).toBe('Forward us-west-2');
    expect(steps[0]?.errors[0]?.error).toBe('RegionUnavailable');
    expect(steps[0]?.exitedAt && steps[0].exitedAt.getTime() - steps[0].enteredAt.getTime()).toBe(40);
  });

  it('takes the execution name from an Express execution ARN', () => {
    expect(executionName(ARN_B)).toBe('b20251202T102305-bbbb2222');
  });
});
