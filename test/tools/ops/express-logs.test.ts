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

/**
 * A fake CloudWatch Logs client (the one place a fake AWS client is used: the query's shape and the
 * error mapping; the Logs Insights service itself cannot run here).
 */
function fakeLogs(script: {
  start?: () => { queryId?: string };
  pages: Array<Partial<GetQueryResultsCommandOutput> | Error>;
}) {
  const sent: Array<{ name: string; input: Record<string, unknown> }> = [];
  let page = 0;
  const client = {
    async send(command: { constructor: { name: string }; input: Record<string, unknown> }) {
      sent.push({ name: command.constructor.name, input: command.input });
      if (command instanceof StartQueryCommand) return script.start ? script.start() : { queryId: 'q-1' };
      if (command instanceof StopQueryCommand) return { success: true };
      if (command instanceof GetQueryResultsCommand) {
        const next = script.pages[Math.min(page++, script.pages.length - 1)];
        if (next instanceof Error) throw next;
        return next;
      }
      throw new Error(`unexpected ${command.constructor.name}`);
    },
  } as unknown as CloudWatchLogsClient;
  return { client, sent };
}

const awsError = (name: string, message = 'x') => Object.assign(new Error(message), { name });
const row = (fields: Record<string, string>) => Object.entries(fields).map(([field, value]) => ({ field, value }));

describe('executions --stage: the newest executions first, with a Logs Insights query', () => {
  const NOW = Date.UTC(2025, 11, 2, 11, 0, 0);
  const options = { max: 2, hours: 3, now: () => NOW, sleep: async () => undefined };

  it('asks for the newest executions of the window, sorted newest first, limited to --max, and reports progress', async () => {
    const { client, sent } = fakeLogs({
      pages: [
        { status: 'Scheduled' },
        { status: 'Running', statistics: { recordsScanned: 1200, recordsMatched: 40, bytesScanned: 1 } },
        {
          status: 'Complete',
          statistics: { recordsScanned: 2400, recordsMatched: 80, bytesScanned: 2 },
          results: [
            row({ execution_arn: ARN_B, startedAt: '2025-12-02 10:23:05.000', lastAt: '2025-12-02 10:23:05.100', lastType: 'ExecutionFailed' }),
            row({ execution_arn: ARN_A, startedAt: '2025-12-02 10:23:00.000', lastAt: '2025-12-02 10:23:00.050', lastType: 'ExecutionSucceeded' }),
          ],
        },
      ],
    });
    const progress: InsightsProgress[] = [];
    const found = await newestExecutions(client, '/aws/vendedlogs/states/x', { ...options, onProgress: (p) => progress.push(p) });

    const start = sent.find((c) => c.name === 'StartQueryCommand')?.input;
    expect(start).toMatchObject({ logGroupName: '/aws/vendedlogs/states/x', startTime: NOW / 1000 - 3 * 3600, endTime: NOW / 1000 });
    expect(start?.queryString).toBe(
      [
        'fields @timestamp, execution_arn, type',
        '| filter type in ["ExecutionStarted", "ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"]',
        '| stats min(@timestamp) as startedAt, max(@timestamp) as lastAt, latest(type) as lastType by execution_arn',
        '| sort startedAt desc',
        '| limit 2',
      ].join('\n'),
    );
    expect(start?.queryString).toBe(newestExecutionsQuery(2));
    expect(progress.map((p) => p.status)).toEqual(['Scheduled', 'Running', 'Complete']);
    expect(progress[1]?.statistics?.recordsScanned).toBe(1200);

    // In the query's order: newest first.
    expect(found.map((e) => [e.name, e.status, e.stopDate && e.stopDate.getTime() - e.startDate.getTime()])).toEqual([
      ['b20251202T102305-bbbb2222', 'FAILED', 100],
      ['b20251202T102300-aaaa1111', 'SUCCEEDED', 50],
    ]);
    const link = `https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/express-executions/details/${ARN_B}?startDate=${Date.UTC(2025, 11, 2, 10, 23, 5)}`;
    expect(expressExecutionUrl(ARN_B, found[0]!.startDate)).toBe(link);
    // What `executions --stage` prints: a 70-column line per execution, its console link whole below it.
    const text = formatExecutions(found.map((e) => listedExecution({ ...e, status: e.status as ExecutionStatus, stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:m' }, expressExecutionUrl(e.executionArn, e.startDate))));
    expect(text.split('\n')).toEqual([
      '2025-12-02T10:23:05.000Z  FAILED      100ms  b20251202T102305-bbbb2222',
      `  ${link}`,
      '2025-12-02T10:23:00.000Z  SUCCEEDED    50ms  b20251202T102300-aaaa1111',
      `  ${expressExecutionUrl(ARN_A, found[1]!.startDate)}`,
    ]);
  });

  it('with --status, reads up to the query limit and keeps only that status; a lone ExecutionStarted is RUNNING', async () => {
    const { client, sent } = fakeLogs({
      pages: [
        {
          status: 'Complete',
          results: [
            row({ execution_arn: ARN_B, startedAt: '1764671005000', lastAt: '1764671005000', lastType: 'ExecutionStarted' }),
            row({ execution_arn: ARN_A, startedAt: '1764671000000', lastAt: '1764671000050', lastType: 'ExecutionSucceeded' }),
          ],
        },
      ],
    });
    const running = await newestExecutions(client, 'g', { ...options, status: 'RUNNING' });
    expect(String(sent[0]?.input.queryString)).toMatch(/\| limit 10000$/);
    expect(running.map((e) => [e.name, e.status, e.stopDate])).toEqual([['b20251202T102305-bbbb2222', 'RUNNING', undefined]]);
    expect(insightsTime('2025-12-02 10:23:00.000')?.toISOString()).toBe('2025-12-02T10:23:00.000Z');
  });

  it.each([
    ['ResourceNotFoundException', /log group g not found .*--region, --profile/],
    ['LimitExceededException', /too many Logs Insights queries are running .* try again/],
    ['MalformedQueryException', /refused the query as invalid .* a bug in this tool/],
    ['AccessDeniedException', /not allowed to query g .* logs:StartQuery and logs:GetQueryResults/],
    ['ThrottlingException', /unavailable or throttling/],
  ])('says what %s at the start of the query means', async (name, message) => {
    const { client } = fakeLogs({
      start: () => {
        throw awsError(name);
      },
      pages: [],
    });
    const attempt = newestExecutions(client, 'g', options);
    await expect(attempt).rejects.toBeInstanceOf(LogsQueryError);
    await expect(attempt).rejects.toThrow(message);
  });

  it('says so when the query fails, is cancelled or times out on the service, or fails while polled', async () => {
    for (const status of ['Failed', 'Cancelled', 'Timeout'] as const) {
      const { client } = fakeLogs({ pages: [{ status: 'Running' }, { status }] });
      await expect(newestExecutions(client, 'g', options)).rejects.toThrow(new RegExp(`query on g ended ${status}`));
    }
    const { client } = fakeLogs({ pages: [{ status: 'Running' }, awsError('ServiceUnavailableException')] });
    await expect(newestExecutions(client, 'g', options)).rejects.toThrow(/unavailable or throttling/);
  });

  it('stops a query that runs past its time and says so', async () => {
    let clock = 0;
    const { client, sent } = fakeLogs({ pages: [{ status: 'Running' }] });
    const attempt = newestExecutions(client, 'g', { ...options, now: () => clock, sleep: async () => void (clock += 60_000) });
    await expect(attempt).rejects.toThrow(/did not finish in time: stopped/);
    expect(sent.at(-1)).toMatchObject({ name: 'StopQueryCommand', input: { queryId: 'q-1' } });
  });
});
