/**
 * `executions` and `inspect NAME`: the Step Functions console in a terminal (the reads, local or from a
 * deployed stage's log group: ops/executions.ts). Here: the flags, the progress of long reads on stderr,
 * and the report on stdout, or JSON with --json.
 */
import { Command, InvalidArgumentError } from 'commander';
import { expressExecutionUrl, type InsightsProgress } from '../../ops/express-logs.js';
import { readExecution, recentExecutions, type ExecutionRead, type ListedExecution } from '../../ops/executions.js';
import { batchMessages, formatMessages, summarizeMessages, type BatchMessage } from '../batch-messages.js';
import { fit, helpText, outputWidth, print } from '../layout.js';
import { formatSteps, formatSummary, summarizeSteps, toSteps } from '../steps.js';
import { awsOptions, nonNegativeInt, positiveInt } from '../options.js';
import { stderrStatus } from '../stderr-status.js';
import { resolveTarget } from '../target.js';

const STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'];

interface TargetFlags {
  stage?: string;
  profile?: string;
  region?: string;
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
    // On AWS a Logs Insights query runs for a while: its state on stderr.
    const line = target.kind === 'aws' ? stderrStatus(`querying ${target.logGroupName} (Logs Insights)`) : undefined;
    let listed: ListedExecution[];
    try {
      listed = await recentExecutions(target, {
        max: options.max,
        hours: options.hours,
        ...(options.status ? { status: options.status } : {}),
        onProgress: (progress) => line?.update(insightsStatusText(progress)),
      });
    } finally {
      line?.stop();
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
    .option('--width <n>', 'cut every line to this many columns (default: the terminal width; piped, 80 for inputs and outputs, errors and reasons whole; 0: nothing is cut)', nonNegativeInt('--width'))
    .option('--no-data', 'leave out inputs and outputs')
    .option('--summary', 'one line per state: visits (Map iterations), slowest visit, errors')
    .option('--hours <n>', 'on AWS: how far back to read the log group', positiveInt('--hours', 24 * 14), 24)
    .option('--json', 'print the execution, its steps and its messages as JSON on stdout (shape below)')
    .addHelpText('after', helpText(INSPECT_JSON_HELP));
  for (const option of awsOptions()) command.addOption(option);
  return command.action(async (name: string, options: InspectFlags) => {
    const target = await resolveTarget(options);
    // On AWS the execution's log events are read page by page: how many so far, on stderr.
    const line = target.kind === 'aws' ? stderrStatus(`reading ${target.logGroupName}`) : undefined;
    let read: ExecutionRead;
    try {
      read = await readExecution(target, name, {
        hours: options.hours,
        onProgress: (events, pages) => line?.update(`${events} log events (${pages} page${pages === 1 ? '' : 's'})`),
      });
    } finally {
      line?.stop();
    }
    const { execution, events, executionArn } = read;
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
    // Piped (no terminal) and no --width: errors and the messages' reasons whole, for whoever reads them
    // (grep, a log, a bug report); inputs and outputs are still cut to the width.
    const whole = options.width === undefined && !process.stdout.isTTY;
    console.log(options.summary ? formatSummary(summarizeSteps(steps)) : formatSteps(steps, { width, data: options.data, wholeErrors: whole }));
    if (messages) console.log(`\n${formatMessagesSection(messages, whole ? 0 : width)}`);
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

