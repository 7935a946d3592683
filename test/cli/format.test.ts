/** The CLI's pure output: the seed's distribution table, and execution history as steps. */
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { distributionTable } from '../../cli/distribution.js';
import { formatSteps, summarizeSteps, toSteps } from '../../cli/steps.js';

describe('distributionTable', () => {
  it("prints the original system's example exactly", () => {
    expect(distributionTable([['us-east-1', 2], ['us-west-2', 4], ['us-west-1', 3]])).toBe(
      [
        '========================================',
        'Message distribution',
        '========================================',
        'us-east-1: 2 (22.2%)',
        'us-west-2: 4 (44.4%)',
        'us-west-1: 3 (33.3%)',
        '----------------------------------------',
        'Total: 9 messages',
      ].join('\n'),
    );
  });

  it('prints zeros, not NaN, for empty queues', () => {
    expect(distributionTable([['us-east-1', 0]])).toContain('us-east-1: 0 (0.0%)');
  });
});

const at = (ms: number) => new Date(1_700_000_000_000 + ms);

describe('toSteps', () => {
  const events: HistoryEvent[] = [
    { id: 1, type: 'ExecutionStarted', timestamp: at(0) },
    { id: 2, type: 'TaskStateEntered', timestamp: at(0), stateEnteredEventDetails: { name: 'Forward us-west-2', input: '{"a":1}' } },
    { id: 3, type: 'LambdaFunctionScheduled', timestamp: at(0) },
    { id: 4, type: 'LambdaFunctionFailed', timestamp: at(5), lambdaFunctionFailedEventDetails: { error: 'RegionUnavailable', cause: 'down' } },
    { id: 5, type: 'LambdaFunctionScheduled', timestamp: at(1005) },
    { id: 6, type: 'LambdaFunctionFailed', timestamp: at(1010), lambdaFunctionFailedEventDetails: { error: 'RegionUnavailable', cause: 'down' } },
    { id: 7, type: 'TaskStateExited', timestamp: at(1010), stateExitedEventDetails: { name: 'Forward us-west-2', output: '{"b":2}' } },
    { id: 8, type: 'PassStateEntered', timestamp: at(1010), stateEnteredEventDetails: { name: 'Region us-west-2 failed', input: '{}' } },
    { id: 9, type: 'PassStateExited', timestamp: at(1011), stateExitedEventDetails: { name: 'Region us-west-2 failed', output: '{}' } },
    { id: 10, type: 'ExecutionSucceeded', timestamp: at(1012) },
  ];

  it('pairs entries and exits, counts retries from schedules, and keeps errors with their Task', () => {
    const steps = toSteps(events);
    expect(steps.map((s) => s.name)).toEqual(['Forward us-west-2', 'Region us-west-2 failed']);
    expect(steps[0]?.attempts).toBe(2);
    expect(steps[0]?.errors.map((e) => e.error)).toEqual(['RegionUnavailable', 'RegionUnavailable']);
    expect(steps[0]?.exitedAt?.getTime()).toBe(at(1010).getTime());
    expect(steps[1]?.errors).toEqual([]);

    const text = formatSteps(steps, { width: 0 });
    expect(text).toContain('Forward us-west-2  (1010ms) retries:1');
    expect(text).toContain('error: RegionUnavailable: down');
    expect(text).toContain('out: {"b":2}');
    expect(formatSteps(steps, { data: false })).not.toContain('in:');
  });

  it('summarizes visits per state', () => {
    const summary = summarizeSteps(toSteps(events));
    expect(summary.map((s) => [s.name, s.visits, s.errors])).toEqual([
      ['Forward us-west-2', 1, 2],
      ['Region us-west-2 failed', 1, 0],
    ]);
  });
});
