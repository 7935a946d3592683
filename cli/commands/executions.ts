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
import { formatSteps, formatSummary, summarizeSteps, toSteps } from '../steps.js';
import { awsOptions, nonNegativeInt, positiveInt } from '../options.js';
import { resolveTarget, type Target } from '../target.js';

const STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'];

interface TargetFlags {
  stage?: string;
  profile?: string;
  region?: string;
}

function localOnly(target: Target): string {
  if (target.kind === 'aws') {
    throw new Error(
      'AWS does not list or describe Express executions through the Step Functions API: on a deployed stage, ' +
        `read the state machine's log group${target.logGroupName ? ` (${target.logGroupName})` : ''} in CloudWatch Logs, or the Step Functions console.`,
    );
  }
  return target.stateMachineArn as string;
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
    .description('list dispatch executions, newest first (local stack)')
    .option('--status <status>', `only executions with this status (${STATUSES.join(', ')})`, status)
    .option('--max <n>', 'how many to list', positiveInt('--max', 10_000), 20);
  for (const option of awsOptions()) command.addOption(option);
  return command.action(async (options: TargetFlags & { status?: string; max: number }) => {
    const target = resolveTarget(options);
    const arn = localOnly(target);
    const executions = await listExecutions(target.sfn(), arn, options.max, options.status);
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

export function inspectCommand(): Command {
  const command = new Command('inspect')
    .description('show one execution step by step: state, input, output, errors, retries, duration')
    .argument('<name>', 'execution name (from `executions`) or ARN')
    .option('--width <n>', 'cut inputs and outputs to this many characters (0: whole)', nonNegativeInt('--width'), 100)
    .option('--no-data', 'leave out inputs and outputs')
    .option('--summary', 'one line per state: visits (Map iterations), slowest visit, errors');
  for (const option of awsOptions()) command.addOption(option);
  return command.action(async (name: string, options: TargetFlags & { width: number; data: boolean; summary?: boolean }) => {
    const target = resolveTarget(options);
    const sfn = target.sfn();
    const executionArn = await findExecutionArn(sfn, localOnly(target), name);
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    const events = await executionHistory(sfn, executionArn);
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
