/**
 * `executions` and `inspect NAME`: the Step Functions console in a terminal. Locally they read the
 * endpoint the stack runs; on a deployed stage, the state machine's log group (Express executions are
 * not served by the Step Functions API there): `executions` with one Logs Insights query (newest first,
 * each with its console link), `inspect` with the execution's own log events. Long reads show progress
 * on stderr; stdout is the report, or JSON with --json.
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
import { Command, InvalidArgumentError } from 'commander';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { batchMessages, formatMessages, summarizeMessages, type BatchMessage } from '../batch-messages.js';
import {
  executionName,
  executionsFromLogs,
  expressExecutionUrl,
  logMessagesToHistory,
  newestExecutions,
  readLogMessages,
  type InsightsProgress,
} from '../express-logs.js';
import { fit, helpText, outputWidth, print } from '../layout.js';
import { formatSteps, formatSummary, summarizeSteps, toSteps } from '../steps.js';
import { awsOptions, nonNegativeInt, positiveInt } from '../options.js';
import { stderrStatus } from '../stderr-status.js';
import { resolveTarget, type Target } from '../target.js';

const STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'];

interface TargetFlags {
  stage?: string;
  profile?: string;
  region?: string;
}

/** On AWS, Express executions live in the state machine's log group, not behind the Step Functions API. */
function logSource(target: Target): { client: CloudWatchLogsClient; logGroupName: string } {
  if (!target.logGroupName || !target.logs) {
    throw new Error('the stage outputs name no log group: Express executions can only be read from the state machine log group on AWS');
  }
  return { client: target.logs(), logGroupName: target.logGroupName };
}

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

const status = (value: string) => {
  const upper = value.toUpperCase();
  if (!STATUSES.includes(upper)) throw new InvalidArgumentError(`status must be one of ${STATUSES.join(', ')}.`);
  return upper;
};

/** What a Logs Insights query is doing, for the status line. */
export function insightsStatusText(progress: InsightsProgress): string {
  const stats = progress.statistics;
  const scanned = stats?.recordsScanned !== undefined ? `, ${Math.round(stats.recordsScanned).toLocaleString('en-US')} records scanned` : '';
  const matched = stats?.recordsMatched !== undefined ? `, ${Math.round(stats.recordsMatched).toLocaleString('en-US')} matched` : '';
  return `${progress.status}${scanned}${matched} (${(progress.elapsedMs / 1000).toFixed(0)} s)`;
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

/** The text listing: one line per execution (70 columns), its console link indented below it on a stage. */
export function formatExecutions(executions: readonly ListedExecution[]): string {
  return executions
    .flatMap((e) => {
      const duration = e.durationMs !== undefined ? `${e.durationMs}ms` : '';
      const line = `${e.startDate ?? ''.padEnd(24)}  ${e.status.padEnd(9)} ${duration.padStart(7)}  ${e.name}`;
      return e.consoleUrl ? [line, `  ${e.consoleUrl}`] : [line];
    })
    .join('\n');
}

const EXECUTIONS_JSON_HELP = `
--json prints { "target": string, "executions": [ { "name", "executionArn", "status",
"startDate" (ISO), "stopDate" (ISO, once ended), "durationMs" (once ended), "consoleUrl" (deployed
stages only) } ] }, newest first.

On a deployed stage the list comes from one CloudWatch Logs Insights query over the state machine's
log group (the newest executions of the last --hours first; progress on stderr), each with its page
in the Step Functions console.`;

export function executionsCommand(): Command {
  const command = new Command('executions')
    .description('list dispatch executions, newest first (local endpoint, or the log group of a deployed stage)')
    .option('--status <status>', `only executions with this status (${STATUSES.join(', ')})`, status)
    .option('--max <n>', 'how many to list', positiveInt('--max', 10_000), 20)
    .option('--hours <n>', 'on AWS: how far back to read the log group', positiveInt('--hours', 24 * 14), 1)
    .option('--json', 'print the list as JSON on stdout (shape below)')
    .addHelpText('after', helpText(EXECUTIONS_JSON_HELP));
  for (const option of awsOptions()) command.addOption(option);
  return command.action(async (options: TargetFlags & { status?: string; max: number; hours: number; json?: boolean }) => {
    const target = await resolveTarget(options);
    let listed: ListedExecution[];
    if (target.kind === 'aws') {
      const { client, logGroupName } = logSource(target);
      const line = stderrStatus(`querying ${logGroupName} (Logs Insights)`);
      try {
        const found = await newestExecutions(client, logGroupName, {
          max: options.max,
          hours: options.hours,
          ...(options.status ? { status: options.status } : {}),
          onProgress: (progress) => line.update(insightsStatusText(progress)),
        });
        listed = found.map((e) =>
          listedExecution({ ...e, status: e.status as ExecutionStatus, stateMachineArn: target.stateMachineArn }, expressExecutionUrl(e.executionArn, e.startDate)),
        );
      } finally {
        line.stop();
      }
    } else {
      listed = (await listExecutions(target.sfn(), target.stateMachineArn as string, options.max, options.status)).map((e) => listedExecution(e));
    }
    if (options.json) {
      console.log(JSON.stringify({ target: target.description, executions: listed }, null, 2));
      return;
    }
    if (!listed.length) {
      print(
        target.kind === 'aws'
          ? `no executions in the last ${options.hours} hour(s) of the log group (--hours to look further back)`
          : 'no executions yet: send some requests with `npm run cli -- send`',
      );
      return;
    }
    // Console links are URLs: printed whole on their own line (a cut link could not be opened).
    console.log(formatExecutions(listed));
    print(`\ninspect one with: npm run cli -- inspect ${listed[0]?.name}${target.kind === 'aws' ? ` --stage ${options.stage}` : ''}`);
  });
}

async function findExecutionArn(sfn: SFNClient, stateMachineArn: string, nameOrArn: string): Promise<string> {
  if (nameOrArn.startsWith('arn:')) return nameOrArn;
  const match = (await listExecutions(sfn, stateMachineArn, 10_000)).find((e) => e.name === nameOrArn);
  if (!match?.executionArn) throw new Error(`no execution named ${nameOrArn}: list them with \`npm run cli -- executions\``);
  return match.executionArn;
}

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

async function fromEndpoint(target: Target, name: string) {
  const sfn = target.sfn();
  const executionArn = await findExecutionArn(sfn, target.stateMachineArn as string, name);
  const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  return { execution, executionArn, events: await executionHistory(sfn, executionArn) };
}

async function fromLogs(target: Target, nameOrArn: string, hours: number) {
  const { client, logGroupName } = logSource(target);
  const name = nameOrArn.startsWith('arn:') ? executionName(nameOrArn) : nameOrArn;
  const line = stderrStatus(`reading ${logGroupName}`);
  let messages: string[];
  try {
    messages = await readLogMessages(client, logGroupName, `{ $.execution_arn = "*:${name}:*" }`, hours, 10_000, (read, pages) =>
      line.update(`${read} log events (${pages} page${pages === 1 ? '' : 's'})`),
    );
  } finally {
    line.stop();
  }
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

interface InspectFlags extends TargetFlags {
  width?: number;
  data: boolean;
  summary?: boolean;
  hours: number;
  json?: boolean;
}

const INSPECT_JSON_HELP = `
--json prints { "target": string, "execution": { "name", "executionArn", "status", "startDate",
"stopDate", "durationMs", "error", "cause", "consoleUrl" (deployed stages) }, "steps": [ { "name", "type",
"eventId", "parentEventId" (the Map or Parallel visit it runs in), "depth", "iteration" (Map index),
"enteredAt", "exitedAt", "input", "output", "errors": [ { "error", "cause" } ], "attempts" } ],
"messages": [ { "messageId", "requestId", "outcome", "region", "failedOver", "failedOverFrom",
"failoverReason", "reason" } ] or null (no dispatch output), "output": the execution output or null }.

Each error and retry is attached to its state by following the events' previousEventId, so concurrent
Map iterations and Parallel branches never mix. A message that failed over is named so in the messages
table ("failed over from us-west-2"), with the region that took it.`;

export function inspectCommand(): Command {
  const command = new Command('inspect')
    .description('show one execution step by step (state, input, output, errors, retries, duration) and what became of each message')
    .argument('<name>', 'execution name (from `executions`) or ARN')
    .option('--width <n>', 'cut every line to this many columns (default: the terminal width, else 80; 0: nothing is cut)', nonNegativeInt('--width'))
    .option('--no-data', 'leave out inputs and outputs')
    .option('--summary', 'one line per state: visits (Map iterations), slowest visit, errors')
    .option('--hours <n>', 'on AWS: how far back to read the log group', positiveInt('--hours', 24 * 14), 24)
    .option('--json', 'print the execution, its steps and its messages as JSON on stdout (shape below)')
    .addHelpText('after', helpText(INSPECT_JSON_HELP));
  for (const option of awsOptions()) command.addOption(option);
  return command.action(async (name: string, options: InspectFlags) => {
    const target = await resolveTarget(options);
    const { execution, events, executionArn } =
      target.kind === 'aws' ? await fromLogs(target, name, options.hours) : await fromEndpoint(target, name);
    const width = options.width ?? outputWidth();
    const took = execution.stopDate && execution.startDate ? execution.stopDate.getTime() - execution.startDate.getTime() : undefined;
    const steps = toSteps(events);
    const messages = batchMessages(execution.output, { regions: target.regions.map((r) => r.region), steps });
    const consoleUrl = target.kind === 'aws' && execution.startDate ? expressExecutionUrl(executionArn, execution.startDate) : undefined;
    if (options.json) {
      console.log(
        JSON.stringify(
          {
            target: target.description,
            execution: {
              name: execution.name,
              executionArn,
              status: execution.status,
              startDate: execution.startDate?.toISOString(),
              stopDate: execution.stopDate?.toISOString(),
              ...(took !== undefined ? { durationMs: took } : {}),
              ...(execution.error ? { error: execution.error } : {}),
              ...(execution.cause ? { cause: execution.cause } : {}),
              ...(consoleUrl ? { consoleUrl } : {}),
            },
            steps,
            messages: messages ?? null,
            output: parseOutput(execution.output),
          },
          null,
          2,
        ),
      );
      return;
    }
    const fitted = (text: string) => (width > 0 ? fit(text, width) : text);
    console.log(fitted(`execution ${execution.name}  ${execution.status}${took !== undefined ? `  ${took}ms` : ''}`));
    // ARNs and links whole: a cut one could not be used.
    console.log(`arn       ${executionArn}`);
    if (consoleUrl) console.log(`console   ${consoleUrl}`);
    if (execution.error) console.log(fitted(`error     ${execution.error}: ${execution.cause ?? ''}`));
    console.log('');
    console.log(options.summary ? formatSummary(summarizeSteps(steps)) : formatSteps(steps, { width, data: options.data }));
    if (messages) console.log(`\n${formatMessagesSection(messages, width)}`);
    else if (execution.output && !options.summary) console.log(fitted(`\noutput: ${execution.output}`));
  });
}

function parseOutput(output: string | undefined): unknown {
  if (output === undefined) return null;
  try {
    return JSON.parse(output);
  } catch {
    return output;
  }
}

/** The messages part of `inspect`: a summary line, then one line per message. */
export function formatMessagesSection(messages: readonly BatchMessage[], width: number): string {
  const summary = summarizeMessages(messages);
  return [width > 0 ? fit(summary, width) : summary, formatMessages(messages, width)].join('\n');
}

