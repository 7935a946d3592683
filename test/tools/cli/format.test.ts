/** The CLI's pure output: the seed's distribution table, execution history as steps, each message's fate, wrapping. */
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { distributionTable } from '../../../tools/cli/distribution.js';
import { batchMessages, failoversAcross, formatMessages, formatRoutes, summarizeMessages } from '../../../tools/cli/batch-messages.js';
import { consumeJson } from '../../../tools/cli/commands/consume.js';
import { fit, wrapLine } from '../../../tools/cli/layout.js';
import { formatSteps, summarizeSteps, toSteps, type Step } from '../../../tools/cli/steps.js';

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
  // As Step Functions links them: each event to its causal predecessor.
  const events: HistoryEvent[] = [
    { id: 1, previousEventId: 0, type: 'ExecutionStarted', timestamp: at(0) },
    { id: 2, previousEventId: 0, type: 'TaskStateEntered', timestamp: at(0), stateEnteredEventDetails: { name: 'Forward', input: '{"a":1}' } },
    { id: 3, previousEventId: 2, type: 'LambdaFunctionScheduled', timestamp: at(0) },
    { id: 4, previousEventId: 3, type: 'LambdaFunctionFailed', timestamp: at(5), lambdaFunctionFailedEventDetails: { error: 'RegionUnavailable', cause: 'down' } },
    { id: 5, previousEventId: 4, type: 'LambdaFunctionScheduled', timestamp: at(1005) },
    { id: 6, previousEventId: 5, type: 'LambdaFunctionFailed', timestamp: at(1010), lambdaFunctionFailedEventDetails: { error: 'RegionUnavailable', cause: 'down' } },
    { id: 7, previousEventId: 6, type: 'TaskStateExited', timestamp: at(1010), stateExitedEventDetails: { name: 'Forward', output: '{"b":2}' } },
    { id: 8, previousEventId: 7, type: 'PassStateEntered', timestamp: at(1010), stateEnteredEventDetails: { name: 'Region refused', input: '{}' } },
    { id: 9, previousEventId: 8, type: 'PassStateExited', timestamp: at(1011), stateExitedEventDetails: { name: 'Region refused', output: '{}' } },
    { id: 10, previousEventId: 9, type: 'ExecutionSucceeded', timestamp: at(1012) },
  ];

  it('pairs entries and exits, counts retries from schedules, and keeps errors with their Task', () => {
    const steps = toSteps(events);
    expect(steps.map((s) => s.name)).toEqual(['Forward', 'Region refused']);
    expect(steps[0]?.attempts).toBe(2);
    expect(steps[0]?.errors.map((e) => e.error)).toEqual(['RegionUnavailable', 'RegionUnavailable']);
    expect(steps[0]?.exitedAt?.getTime()).toBe(at(1010).getTime());
    expect(steps[1]?.errors).toEqual([]);

    const text = formatSteps(steps, { width: 0 });
    expect(text).toContain('Forward  (1010ms) retries:1');
    expect(text).toContain('error: RegionUnavailable: down');
    expect(text).toContain('out: {"b":2}');
    expect(formatSteps(steps, { data: false })).not.toContain('in:');
  });

  it('summarizes visits per state', () => {
    const summary = summarizeSteps(toSteps(events));
    expect(summary.map((s) => [s.name, s.visits, s.errors, s.retries])).toEqual([
      ['Forward', 1, 2, 1],
      ['Region refused', 1, 0, 0],
    ]);
  });

  /**
   * Two Parallel branches whose Tasks run at once: the log interleaves them, and branch B's failure comes
   * while both are open. Reading by position (the latest open Task) would pin A's failure on B.
   */
  const parallel: HistoryEvent[] = [
    { id: 1, previousEventId: 0, type: 'ExecutionStarted', timestamp: at(0) },
    { id: 2, previousEventId: 0, type: 'ParallelStateEntered', timestamp: at(0), stateEnteredEventDetails: { name: 'Forward to regions' } },
    { id: 3, previousEventId: 2, type: 'ParallelStateStarted', timestamp: at(0) },
    { id: 4, previousEventId: 3, type: 'TaskStateEntered', timestamp: at(1), stateEnteredEventDetails: { name: 'Forward A' } },
    { id: 5, previousEventId: 3, type: 'TaskStateEntered', timestamp: at(1), stateEnteredEventDetails: { name: 'Forward B' } },
    { id: 6, previousEventId: 4, type: 'LambdaFunctionScheduled', timestamp: at(1) },
    { id: 7, previousEventId: 5, type: 'LambdaFunctionScheduled', timestamp: at(1) },
    { id: 8, previousEventId: 6, type: 'LambdaFunctionFailed', timestamp: at(9), lambdaFunctionFailedEventDetails: { error: 'AFailed' } },
    { id: 9, previousEventId: 8, type: 'LambdaFunctionScheduled', timestamp: at(20) },
    { id: 10, previousEventId: 7, type: 'LambdaFunctionSucceeded', timestamp: at(21) },
    { id: 11, previousEventId: 10, type: 'TaskStateExited', timestamp: at(21), stateExitedEventDetails: { name: 'Forward B' } },
    { id: 12, previousEventId: 9, type: 'LambdaFunctionFailed', timestamp: at(30), lambdaFunctionFailedEventDetails: { error: 'AFailedAgain' } },
    { id: 13, previousEventId: 12, type: 'TaskStateExited', timestamp: at(30), stateExitedEventDetails: { name: 'Forward A' } },
    { id: 14, previousEventId: 13, type: 'ParallelStateSucceeded', timestamp: at(31) },
    { id: 15, previousEventId: 14, type: 'ParallelStateExited', timestamp: at(31), stateExitedEventDetails: { name: 'Forward to regions' } },
  ];

  it('follows previousEventId, so concurrent branches never mix', () => {
    const steps = toSteps(parallel);
    const [container, a, b] = steps;
    expect(steps.map((s) => s.name)).toEqual(['Forward to regions', 'Forward A', 'Forward B']);
    expect(a?.errors.map((e) => e.error)).toEqual(['AFailed', 'AFailedAgain']);
    expect(a?.attempts).toBe(2);
    expect(b?.errors).toEqual([]);
    expect(b?.attempts).toBe(1);
    expect(b?.exitedAt?.getTime()).toBe(at(21).getTime());
    expect(a?.exitedAt?.getTime()).toBe(at(30).getTime());
    expect(container?.exitedAt?.getTime()).toBe(at(31).getTime());
    expect([a?.parentEventId, b?.parentEventId, a?.depth]).toEqual([container?.eventId, container?.eventId, 1]);
  });

  it('fits an 80-column terminal by default: names give way, the duration stays', () => {
    const steps = toSteps(parallel).map((s) => ({ ...s, name: `${s.name} ${'x'.repeat(90)}`, input: 'y'.repeat(200) }));
    const text = formatSteps(steps);
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    expect(text).toMatch(/…  \(29ms\) retries:1/);
  });
});

describe('what became of each message', () => {
  const output = {
    batchId: 'b1',
    executionName: 'b1',
    skipped: [{ messageId: 'm0', requestId: 'r0', outcome: 'duplicate', reason: 'request_id already dispatched to us-east-1 by x' }],
    forwarded: [
      [{ messageId: 'm1', requestId: 'r1', outcome: 'dispatched', region: 'us-east-1', failedOver: false }],
      [
        { messageId: 'm2', requestId: 'r2', outcome: 'dispatched', region: 'us-east-1', failedOver: true },
        { messageId: 'm3', requestId: 'r3', outcome: 'dispatched', region: 'us-west-1', failedOver: true },
      ],
      [{ messageId: 'm4', requestId: 'r4', outcome: 'retry', reason: 'us-west-1: no answer' }],
      [],
    ],
  };
  const regions = ['us-east-1', 'us-west-2', 'us-west-1'];

  it('names a failover with the region that refused, from the group and from the Failover step (the Map over region groups)', () => {
    // Today's output: one list per group, named by forwardedGroups; the Failover step's input names its region.
    const grouped = { ...output, forwarded: output.forwarded.slice(0, 3), forwardedGroups: ['us-east-1', 'us-west-2', 'us-west-1'] };
    const failoverStep = {
      name: 'Failover',
      input: JSON.stringify({ region: 'us-west-2', reason: 'us-west-2: RegionUnavailable' }),
      output: JSON.stringify({ placements: [{ messageId: 'm2', failedOver: true }, { messageId: 'm3', failedOver: true }] }),
    } as Step;
    const messages = batchMessages(JSON.stringify(grouped), { steps: [failoverStep] }) ?? [];
    expect(messages.map((m) => [m.requestId, m.outcome, m.region ?? '-', m.failedOverFrom ?? '-'])).toEqual([
      ['r0', 'duplicate', '-', '-'],
      ['r1', 'dispatched', 'us-east-1', '-'],
      ['r2', 'dispatched', 'us-east-1', 'us-west-2'],
      ['r3', 'dispatched', 'us-west-1', 'us-west-2'],
      ['r4', 'retry', '-', '-'],
    ]);
    expect(messages[2]?.failoverReason).toBe('us-west-2: RegionUnavailable');
    // Without history data, the group still says where it came from; a group listed in another order too.
    const reordered = { ...output, forwarded: [output.forwarded[1] ?? [], output.forwarded[0] ?? []], forwardedGroups: ['us-west-2', 'us-east-1'] };
    expect(batchMessages(reordered)?.find((m) => m.requestId === 'r2')?.failedOverFrom).toBe('us-west-2');
  });

  it('names a failover with the region that refused in outputs from before the Map (one list per region, "Failover from <region>")', () => {
    const failoverStep = {
      name: 'Failover from us-west-2',
      input: JSON.stringify({ reason: 'us-west-2: RegionUnavailable' }),
      output: JSON.stringify({ placements: [{ messageId: 'm2', failedOver: true }, { messageId: 'm3', failedOver: true }] }),
    } as Step;
    const messages = batchMessages(JSON.stringify(output), { regions, steps: [failoverStep] }) ?? [];
    expect(messages.map((m) => [m.requestId, m.outcome, m.region ?? '-', m.failedOverFrom ?? '-'])).toEqual([
      ['r0', 'duplicate', '-', '-'],
      ['r1', 'dispatched', 'us-east-1', '-'],
      ['r2', 'dispatched', 'us-east-1', 'us-west-2'],
      ['r3', 'dispatched', 'us-west-1', 'us-west-2'],
      ['r4', 'retry', '-', '-'],
    ]);
    expect(messages[2]?.failoverReason).toBe('us-west-2: RegionUnavailable');
    expect(summarizeMessages(messages)).toBe(
      '5 messages: 1 duplicate, 3 dispatched, 2 of them failed over (us-west-2 refused 2 (RegionUnavailable): 1 went to us-east-1, 1 to us-west-1), 1 retry',
    );
    const table = formatMessages(messages);
    expect(table).toMatch(/r2\s+dispatched\s+us-east-1\s+failed over from us-west-2 \(RegionUnavailable\)/);
    for (const line of table.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    // Without history data, the branch still says where it came from.
    expect(batchMessages(output, { regions })?.[2]?.failedOverFrom).toBe('us-west-2');
    expect(batchMessages({ not: 'a dispatch output' })).toBeUndefined();
  });

  it('counts failovers across executions once per request (the demo summary)', () => {
    const later = { ...output, skipped: [], forwarded: [[{ messageId: 'm9', requestId: 'r2', outcome: 'dispatched', region: 'us-east-1', failedOver: true }], [], [], []] };
    const { total, routes } = failoversAcross([output, later], regions);
    expect(total).toBe(2);
    expect(formatRoutes(routes)).toBe('us-east-1 refused 1: 1 went to us-east-1; us-west-2 refused 1: 1 went to us-west-1');
  });
});

describe('wrapping to the terminal', () => {
  it('breaks long lines at spaces, under the value of a "label  value" line, and keeps a URL whole', () => {
    const url = `https://example.invalid/${'p'.repeat(90)}`;
    const text = fit(`reason         ${'word '.repeat(30)}\n  ${url}\nshort`, 80);
    const lines = text.split('\n');
    expect(lines[1]?.startsWith(' '.repeat(15) + 'word')).toBe(true);
    expect(lines.filter((l) => l.length > 80)).toEqual([`  ${url}`]);
    expect(lines.at(-1)).toBe('short');
    expect(wrapLine('execution id    arn:aws:states:us-east-1:000000000000:express:machine:name-0123456789:0123456789abcdef', 80)).toHaveLength(1);
  });
});

describe('consume --json', () => {
  it('prints the distribution and what the fence did in a stable shape', () => {
    const counts = [['us-east-1', 2], ['us-west-2', 1]] as const;
    expect(consumeJson(counts, { on: false, why: '--no-fence' }, new Map(), 0)).toEqual({
      regions: [{ region: 'us-east-1', count: 2 }, { region: 'us-west-2', count: 1 }],
      total: 3,
      fence: { on: false, why: '--no-fence', dropped: {}, droppedTotal: 0 },
      heldByAnotherWorker: 0,
    });
    const on = consumeJson(counts, { on: true, tableName: 't', fence: {} as never }, new Map([['completed', 2]] as never), 1);
    expect(on.fence).toEqual({ on: true, table: 't', dropped: { completed: 2 }, droppedTotal: 2 });
  });
});
