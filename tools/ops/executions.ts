/**
 * The dispatch executions, newest first, and one execution's history, wherever they are kept: locally
 * the Step Functions endpoint the stack runs serves them; on a deployed stage Express executions are not
 * served by the Step Functions API, so they are read from the state machine's log group
 * (ops/express-logs.ts): the list with one Logs Insights query, one execution from its own log events.
 * Served by `executions` and `inspect` (tools/cli/commands/executions.ts), `status` and the console.
 */
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  type ExecutionListItem,
  type ExecutionStatus,
  type HistoryEvent,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import {
  executionName,
  executionsFromLogs,
  expressExecutionUrl,
  logMessagesToHistory,
  newestExecutions,
  readLogMessages,
  type InsightsProgress,
} from './express-logs.js';
import type { Target } from './target.js';

/** What `executions` and `inspect` need of a Target (a Target is one). */
export type ExecutionsDeps = Pick<Target, 'kind' | 'stateMachineArn' | 'logGroupName' | 'sfn' | 'logs'>;

/** On AWS, Express executions live in the state machine's log group, not behind the Step Functions API. */
function logSource(target: Pick<Target, 'logGroupName' | 'logs'>): { client: CloudWatchLogsClient; logGroupName: string } {
  if (!target.logGroupName || !target.logs) {
    throw new Error('the stage outputs name no log group: Express executions can only be read from the state machine log group on AWS');
  }
  return { client: target.logs(), logGroupName: target.logGroupName };
}

/** ListExecutions page by page, newest first, up to `max`. */
export async function listExecutions(sfn: SFNClient, stateMachineArn: string, max: number, status?: string): Promise<ExecutionListItem[]> {
  const found: ExecutionListItem[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new ListExecutionsCommand({
        stateMachineArn,
        maxResults: Math.min(100, max - found.length),
        ...(status ? { statusFilter: status as ExecutionStatus } : {}),
        ...(nextToken ? { nextToken } : {}),
      }),
    );
    found.push(...(page.executions ?? []));
    nextToken = page.nextToken;
  } while (nextToken && found.length < max);
  return found;
}

/** One execution as `executions --json` prints it. */
export interface ListedExecution {
  readonly name: string;
  readonly executionArn: string;
  readonly status: string;
  /** ISO times. */
  readonly startDate?: string;
  readonly stopDate?: string;
  readonly durationMs?: number;
  /** Deployed stages only: the execution's page in the Step Functions console. */
  readonly consoleUrl?: string;
}

export function listedExecution(e: ExecutionListItem, consoleUrl?: string): ListedExecution {
  return {
    name: e.name ?? '',
    executionArn: e.executionArn ?? '',
    status: e.status ?? '',
    ...(e.startDate ? { startDate: e.startDate.toISOString() } : {}),
    ...(e.stopDate ? { stopDate: e.stopDate.toISOString() } : {}),
    ...(e.stopDate && e.startDate ? { durationMs: e.stopDate.getTime() - e.startDate.getTime() } : {}),
    ...(consoleUrl ? { consoleUrl } : {}),
  };
}

export interface RecentOptions {
  readonly max: number;
  /** On AWS: how far back to read the log group. */
  readonly hours: number;
  readonly status?: string;
  /** On AWS: what the Logs Insights query is doing, while it runs. */
  onProgress?(progress: InsightsProgress): void;
}

/** The newest executions, newest first (on AWS each with its page in the Step Functions console). */
export async function recentExecutions(target: ExecutionsDeps, options: RecentOptions): Promise<ListedExecution[]> {
  if (target.kind === 'aws') {
    const { client, logGroupName } = logSource(target);
    const found = await newestExecutions(client, logGroupName, {
      max: options.max,
      hours: options.hours,
      ...(options.status ? { status: options.status } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    return found.map((e) =>
      listedExecution({ ...e, status: e.status as ExecutionStatus, stateMachineArn: target.stateMachineArn }, expressExecutionUrl(e.executionArn, e.startDate)),
    );
  }
  return (await listExecutions(target.sfn(), target.stateMachineArn as string, options.max, options.status)).map((e) => listedExecution(e));
}

/** GetExecutionHistory page by page: every event of one execution, in order. */
export async function executionHistory(sfn: SFNClient, executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, ...(nextToken ? { nextToken } : {}) }));
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

/** One execution as both sources describe it (DescribeExecution, or its log events' first and last). */
export interface ExecutionDescription {
  readonly name?: string | undefined;
  readonly status?: string | undefined;
  readonly startDate?: Date | undefined;
  readonly stopDate?: Date | undefined;
  readonly output?: string | undefined;
  readonly error?: string | undefined;
  readonly cause?: string | undefined;
}

export interface ExecutionRead {
  readonly executionArn: string;
  readonly execution: ExecutionDescription;
  readonly events: HistoryEvent[];
}

export interface ReadOptions {
  /** On AWS: how far back to read the log group. */
  readonly hours: number;
  /** On AWS: log events read so far, over how many pages. */
  onProgress?(events: number, pages: number): void;
}

async function findExecutionArn(sfn: SFNClient, stateMachineArn: string, nameOrArn: string): Promise<string> {
  if (nameOrArn.startsWith('arn:')) return nameOrArn;
  const match = (await listExecutions(sfn, stateMachineArn, 10_000)).find((e) => e.name === nameOrArn);
  if (!match?.executionArn) throw new Error(`no execution named ${nameOrArn}: list them with \`npm run cli -- executions\``);
  return match.executionArn;
}

async function fromEndpoint(target: ExecutionsDeps, name: string): Promise<ExecutionRead> {
  const sfn = target.sfn();
  const executionArn = await findExecutionArn(sfn, target.stateMachineArn as string, name);
  const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  return { execution, executionArn, events: await executionHistory(sfn, executionArn) };
}

async function fromLogs(target: ExecutionsDeps, nameOrArn: string, options: ReadOptions): Promise<ExecutionRead> {
  const { client, logGroupName } = logSource(target);
  const { hours, onProgress } = options;
  const name = nameOrArn.startsWith('arn:') ? executionName(nameOrArn) : nameOrArn;
  const messages = await readLogMessages(client, logGroupName, `{ $.execution_arn = "*:${name}:*" }`, hours, 10_000, (read, pages) => onProgress?.(read, pages));
  const found = executionsFromLogs(messages)[0];
  if (!found) throw new Error(`no execution named ${name} in ${logGroupName} over the last ${hours} hours (--hours to look further back)`);
  const events = logMessagesToHistory(messages, found.executionArn);
  const ended = events.findLast((e) => /^Execution(Succeeded|Failed|TimedOut|Aborted)$/.test(e.type ?? ''));
  const details = (ended as { logEventDetails?: { output?: string; error?: string; cause?: string } } | undefined)?.logEventDetails;
  return {
    executionArn: found.executionArn,
    events,
    execution: {
      name: found.name,
      status: found.status,
      startDate: found.startDate,
      stopDate: found.stopDate,
      output: details?.output,
      error: details?.error,
      cause: details?.cause,
    },
  };
}

/** One execution, by name or ARN, with its history: from the local endpoint, or from the log group on AWS. */
export function readExecution(target: ExecutionsDeps, nameOrArn: string, options: ReadOptions): Promise<ExecutionRead> {
  return target.kind === 'aws' ? fromLogs(target, nameOrArn, options) : fromEndpoint(target, nameOrArn);
}
