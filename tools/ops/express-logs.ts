/**
 * On AWS, Express executions are not served by ListExecutions / GetExecutionHistory: their history is
 * in the state machine's CloudWatch log group (logging level ALL, execution data included). This reads
 * it back into the same HistoryEvent shape the local endpoint returns, so `executions` and `inspect`
 * serve both.
 */
import {
  FilterLogEventsCommand,
  GetQueryResultsCommand,
  StartQueryCommand,
  StopQueryCommand,
  type CloudWatchLogsClient,
  type QueryStatistics,
  type ResultField,
} from '@aws-sdk/client-cloudwatch-logs';
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { z } from 'zod';

/** One log record of an Express execution (Step Functions' log format). */
const logRecordSchema = z.object({
  id: z.coerce.number(),
  type: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
  event_timestamp: z.coerce.number(),
  execution_arn: z.string(),
  /** The causal predecessor's id, as GetExecutionHistory's previousEventId. */
  previous_event_id: z.coerce.number().optional(),
});

export interface ExpressExecution {
  readonly name: string;
  readonly executionArn: string;
  readonly startDate: Date;
  stopDate?: Date;
  status: string;
}

export const executionName = (arn: string) => arn.split(':').at(-2) ?? arn;

/** Log messages (JSON strings) -> history events of one execution, in order; foreign lines are skipped. */
export function logMessagesToHistory(messages: readonly string[], executionArn?: string): HistoryEvent[] {
  const records = messages
    .map((message) => {
      try {
        return logRecordSchema.safeParse(JSON.parse(message));
      } catch {
        return undefined;
      }
    })
    .flatMap((parsed) => (parsed?.success ? [parsed.data] : []))
    .filter((record) => !executionArn || record.execution_arn === executionArn)
    .sort((a, b) => a.id - b.id);
  // toSteps reads any `*EventDetails` field: the log's `details` carry the same names (name, input, error...).
  return records.map(
    (r) =>
      ({
        id: r.id,
        ...(r.previous_event_id !== undefined ? { previousEventId: r.previous_event_id } : {}),
        type: r.type as HistoryEvent['type'],
        timestamp: new Date(r.event_timestamp),
        logEventDetails: r.details ?? {},
      }) as HistoryEvent,
  );
}

/** Executions seen in log messages, newest first, with their status when they ended. */
export function executionsFromLogs(messages: readonly string[]): ExpressExecution[] {
  const byArn = new Map<string, ExpressExecution>();
  for (const message of messages) {
    let record;
    try {
      record = logRecordSchema.parse(JSON.parse(message));
    } catch {
      continue;
    }
    const at = new Date(record.event_timestamp);
    const execution = byArn.get(record.execution_arn) ?? {
      name: executionName(record.execution_arn),
      executionArn: record.execution_arn,
      startDate: at,
      status: 'RUNNING',
    };
    if (record.type === 'ExecutionSucceeded') execution.status = 'SUCCEEDED';
    if (record.type === 'ExecutionFailed') execution.status = 'FAILED';
    if (record.type === 'ExecutionTimedOut') execution.status = 'TIMED_OUT';
    if (record.type === 'ExecutionAborted') execution.status = 'ABORTED';
    if (/^Execution(Succeeded|Failed|TimedOut|Aborted)$/.test(record.type)) execution.stopDate = at;
    byArn.set(record.execution_arn, execution);
  }
  return [...byArn.values()].sort((a, b) => b.startDate.getTime() - a.startDate.getTime());
}

/** Log messages of the last `hours` hours matching a CloudWatch Logs JSON filter pattern. */
export async function readLogMessages(
  client: CloudWatchLogsClient,
  logGroupName: string,
  filterPattern: string,
  hours: number,
  limit = 10_000,
  onPage?: (messages: number, pages: number) => void,
): Promise<string[]> {
  const messages: string[] = [];
  let nextToken: string | undefined;
  let pages = 0;
  // One window for every page: a nextToken continues the request it came from, parameters and all.
  const startTime = Date.now() - hours * 3600_000;
  do {
    const page = await client.send(
      new FilterLogEventsCommand({
        logGroupName,
        filterPattern,
        startTime,
        ...(nextToken ? { nextToken } : {}),
      }),
    );
    for (const event of page.events ?? []) if (event.message) messages.push(event.message);
    nextToken = page.nextToken;
    onPage?.(messages.length, ++pages);
  } while (nextToken && messages.length < limit);
  return messages;
}

// ---- Logs Insights: the newest executions first ---------------------------------------------------

export const EXECUTION_EVENT_TYPES = ['ExecutionStarted', 'ExecutionSucceeded', 'ExecutionFailed', 'ExecutionTimedOut', 'ExecutionAborted'] as const;

/** The most rows a Logs Insights query returns. */
export const INSIGHTS_MAX_LIMIT = 10_000;

/**
 * One row per execution, newest first: the first and last @timestamp of its Execution* events and the
 * type of its latest one (ExecutionStarted alone: still running, or its end not logged yet).
 */
export function newestExecutionsQuery(limit: number): string {
  return [
    'fields @timestamp, execution_arn, type',
    `| filter type in [${EXECUTION_EVENT_TYPES.map((t) => `"${t}"`).join(', ')}]`,
    '| stats min(@timestamp) as startedAt, max(@timestamp) as lastAt, latest(type) as lastType by execution_arn',
    '| sort startedAt desc',
    `| limit ${Math.min(Math.max(1, limit), INSIGHTS_MAX_LIMIT)}`,
  ].join('\n');
}

export class LogsQueryError extends Error {
  override name = 'LogsQueryError';
}

/** A CloudWatch Logs API error, said so that an operator knows what to do. */
export function logsErrorMessage(error: unknown, logGroupName: string): string {
  const err = error as { name?: string; message?: string };
  const name = err?.name ?? 'Error';
  const message = err?.message ?? String(error);
  if (name === 'ResourceNotFoundException') {
    return `log group ${logGroupName} not found (${message}): is the stage deployed in this region and account (--region, --profile)?`;
  }
  if (name === 'LimitExceededException') {
    return `CloudWatch Logs refused the query: too many Logs Insights queries are running in this account and region (${message}); wait and try again`;
  }
  if (name === 'MalformedQueryException' || name === 'InvalidParameterException') {
    return `CloudWatch Logs refused the query as invalid (${name}: ${message}): a bug in this tool, please report it`;
  }
  if (/AccessDenied|UnauthorizedOperation|NotAuthorized/i.test(name)) {
    return `not allowed to query ${logGroupName} (${name}: ${message}): the credentials need logs:StartQuery and logs:GetQueryResults on it`;
  }
  if (name === 'ServiceUnavailableException' || name === 'ThrottlingException') {
    return `CloudWatch Logs is unavailable or throttling (${name}: ${message}): try again`;
  }
  return `the Logs Insights query on ${logGroupName} failed: ${name}: ${message}`;
}

export interface InsightsProgress {
  readonly status: string;
  readonly statistics?: QueryStatistics;
  readonly elapsedMs: number;
}

export interface InsightsOptions {
  readonly logGroupName: string;
  readonly queryString: string;
  /** Epoch milliseconds. */
  readonly startTime: number;
  readonly endTime: number;
  readonly onProgress?: (progress: InsightsProgress) => void;
  /** Between two GetQueryResults calls (default 1 s). */
  readonly pollMs?: number;
  /** Gives up (and stops the query) after this long (default 10 minutes). */
  readonly timeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

const rowRecord = (row: readonly ResultField[]): Record<string, string> =>
  Object.fromEntries(row.flatMap((f) => (f.field !== undefined && f.value !== undefined ? [[f.field, f.value]] : [])));

/** Runs one Logs Insights query to its end; rows as field -> value. Errors are LogsQueryError, said plainly. */
export async function runInsightsQuery(client: CloudWatchLogsClient, options: InsightsOptions): Promise<Array<Record<string, string>>> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = options.now ?? Date.now;
  const started = now();
  let queryId: string | undefined;
  try {
    ({ queryId } = await client.send(
      new StartQueryCommand({
        logGroupName: options.logGroupName,
        queryString: options.queryString,
        // StartQuery takes epoch seconds.
        startTime: Math.floor(options.startTime / 1000),
        endTime: Math.ceil(options.endTime / 1000),
      }),
    ));
  } catch (error) {
    throw new LogsQueryError(logsErrorMessage(error, options.logGroupName));
  }
  if (!queryId) throw new LogsQueryError(`CloudWatch Logs started no query on ${options.logGroupName} (no queryId in its answer)`);
  for (;;) {
    let page;
    try {
      page = await client.send(new GetQueryResultsCommand({ queryId }));
    } catch (error) {
      throw new LogsQueryError(logsErrorMessage(error, options.logGroupName));
    }
    const status = page.status ?? 'Unknown';
    options.onProgress?.({ status, ...(page.statistics ? { statistics: page.statistics } : {}), elapsedMs: now() - started });
    if (status === 'Complete') return (page.results ?? []).map(rowRecord);
    if (status === 'Failed' || status === 'Cancelled' || status === 'Timeout' || status === 'Unknown') {
      throw new LogsQueryError(
        `the Logs Insights query on ${options.logGroupName} ended ${status}${status === 'Timeout' ? ' (it ran past CloudWatch Logs\' limit: try a shorter --hours)' : ''}`,
      );
    }
    if (now() - started > (options.timeoutMs ?? 600_000)) {
      await client.send(new StopQueryCommand({ queryId })).catch(() => undefined);
      throw new LogsQueryError(`the Logs Insights query on ${options.logGroupName} did not finish in time: stopped; try a shorter --hours`);
    }
    await sleep(options.pollMs ?? 1000);
  }
}

/** A Logs Insights time: epoch milliseconds, or "2025-12-02 10:23:00.000" (UTC), or ISO. */
export function insightsTime(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return new Date(Number(value));
  const date = new Date(/^\d{4}-\d\d-\d\d \d/.test(value) ? `${value.replace(' ', 'T')}Z` : value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

const STATUS_OF: Record<string, string> = {
  ExecutionStarted: 'RUNNING',
  ExecutionSucceeded: 'SUCCEEDED',
  ExecutionFailed: 'FAILED',
  ExecutionTimedOut: 'TIMED_OUT',
  ExecutionAborted: 'ABORTED',
};

/** Rows of newestExecutionsQuery -> executions, in the rows' order (newest first). */
export function executionsFromInsights(rows: ReadonlyArray<Record<string, string>>): ExpressExecution[] {
  return rows.flatMap((row) => {
    const arn = row.execution_arn;
    const startDate = insightsTime(row.startedAt);
    if (!arn || !startDate) return [];
    const status = STATUS_OF[row.lastType ?? ''] ?? 'RUNNING';
    const lastAt = insightsTime(row.lastAt);
    return [{ name: executionName(arn), executionArn: arn, startDate, status, ...(status !== 'RUNNING' && lastAt ? { stopDate: lastAt } : {}) }];
  });
}

export interface NewestOptions {
  readonly max: number;
  readonly hours: number;
  /** Only executions with this status (RUNNING, SUCCEEDED, ...): the query then reads up to its row limit and filters. */
  readonly status?: string;
  readonly onProgress?: (progress: InsightsProgress) => void;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  readonly pollMs?: number;
}

/** The newest executions in the state machine's log group, newest first, with a Logs Insights query. */
export async function newestExecutions(client: CloudWatchLogsClient, logGroupName: string, options: NewestOptions): Promise<ExpressExecution[]> {
  const now = options.now ?? Date.now;
  const end = now();
  const rows = await runInsightsQuery(client, {
    logGroupName,
    queryString: newestExecutionsQuery(options.status ? INSIGHTS_MAX_LIMIT : options.max),
    startTime: end - options.hours * 3600_000,
    endTime: end,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.sleep ? { sleep: options.sleep } : {}),
    ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
    now,
  });
  return executionsFromInsights(rows)
    .filter((e) => !options.status || e.status === options.status)
    .slice(0, options.max);
}

/** The Step Functions console page of an Express execution (it needs the start time to find the logs). */
export function expressExecutionUrl(executionArn: string, startDate: Date): string {
  const region = executionArn.split(':')[3] || 'us-east-1';
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/express-executions/details/${executionArn}?startDate=${startDate.getTime()}`;
}
