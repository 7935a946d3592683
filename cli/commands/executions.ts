/** `executions` and `inspect NAME`: the local Step Functions console. */
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
import { executionName, executionsFromLogs, logMessagesToHistory, readLogMessages } from '../express-logs.js';
import { formatSteps, formatSummary, summarizeSteps, toSteps } from '../steps.js';
import { awsOptions, nonNegativeInt, positiveInt } from '../options.js';
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

export function executionsCommand(): Command {
  const command = new Command('executions')
    .description('list dispatch executions, newest first (local endpoint, or the log group of a deployed stage)')
    .option('--status <status>', `only executions with this status (${STATUSES.join(', ')})`, status)
    .option('--max <n>', 'how many to list', positiveInt('--max', 10_000), 20)
    .option('--hours <n>', 'on AWS: how far back to read the log group', positiveInt('--hours', 24 * 14), 1);
  for (const option of awsOptions()) command.addOption(option);
  return command.action(async (options: TargetFlags & { status?: string; max: number; hours: number }) => {
    const target = resolveTarget(options);
    let executions: ExecutionListItem[];
    if (target.kind === 'aws') {
      const { client, logGroupName } = logSource(target);
      const messages = await readLogMessages(client, logGroupName, '{ $.type = "Execution*" }', options.hours);
      executions = executionsFromLogs(messages)
        .filter((e) => !options.status || e.status === options.status)
        .slice(0, options.max)
        .map((e) => ({ ...e, status: e.status as ExecutionStatus, stateMachineArn: target.stateMachineArn }));
    } else {
      executions = await listExecutions(target.sfn(), target.stateMachineArn as string, options.max, options.status);
    }
    if (!executions.length) {
      console.log('no executions yet: send some requests with `npm run cli -- send`');
      return;
    }
    for (const e of executions) {
      const duration = e.stopDate && e.startDate ? `${e.stopDate.getTime() - e.startDate.getTime()}ms` : '';
      console.log(`${e.startDate?.toISOString() ?? ''}  ${(e.status ?? '').padEnd(9)} ${duration.padStart(7)}  ${e.name}`);
    }
    console.log(`\ninspect one with: npm run cli -- inspect ${executions[0]?.name}`);
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
  const messages = await readLogMessages(client, logGroupName, `{ $.execution_arn = "*:${name}:*" }`, hours);
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

export function inspectCommand(): Command {
  const command = new Command('inspect')
    .description('show one execution step by step: state, input, output, errors, retries, duration')
    .argument('<name>', 'execution name (from `executions`) or ARN')
    .option('--width <n>', 'cut inputs and outputs to this many characters (0: whole)', nonNegativeInt('--width'), 100)
    .option('--no-data', 'leave out inputs and outputs')
    .option('--summary', 'one line per state: visits (Map iterations), slowest visit, errors')
    .option('--hours <n>', 'on AWS: how far back to read the log group', positiveInt('--hours', 24 * 14), 24);
  for (const option of awsOptions()) command.addOption(option);
  return command.action(async (name: string, options: TargetFlags & { width: number; data: boolean; summary?: boolean; hours: number }) => {
    const target = resolveTarget(options);
    const { execution, events, executionArn } =
      target.kind === 'aws' ? await fromLogs(target, name, options.hours) : await fromEndpoint(target, name);
    const took = execution.stopDate && execution.startDate ? execution.stopDate.getTime() - execution.startDate.getTime() : undefined;
    console.log(`execution ${execution.name}  ${execution.status}${took !== undefined ? `  ${took}ms` : ''}`);
    console.log(`arn       ${executionArn}`);
    if (execution.error) console.log(`error     ${execution.error}: ${execution.cause ?? ''}`);
    console.log('');
    const steps = toSteps(events);
    console.log(options.summary ? formatSummary(summarizeSteps(steps)) : formatSteps(steps, { width: options.width, data: options.data }));
    if (execution.output && !options.summary) {
      console.log('\noutput:');
      console.log(JSON.stringify(JSON.parse(execution.output), null, 2));
    }
  });
}
