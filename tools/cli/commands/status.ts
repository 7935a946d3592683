/**
 * `status REQUEST_ID`: where a request went and who worked on it (the sources read and what each is
 * worth: ops/status.ts). Here: the flags, the progress on stderr, and the report's text.
 */
import { Command, InvalidArgumentError } from 'commander';
import { intakeDeadLetterKey } from '../../../core/record.js';
import { DLQ_LABEL, requestIdProblem } from '../../ops/dlq-model.js';
import { statusRows } from '../../ops/record-rows.js';
import { found, statusReport, type StatusReport, type StatusStep } from '../../ops/status.js';
import { helpText, print } from '../layout.js';
import { awsOptions } from '../options.js';
import { stderrStepProgress } from '../stderr-progress.js';
import { resolveTarget } from '../target.js';

const STATUS_JSON_HELP = `
Where it looks: the idempotency record; when there is none, or it says DEAD_LETTERED, the dispatch and
master DLQs (read without consuming: every message read is made visible again at once), matching the
request_id attribute or the request_id in the body, and the intake's marker #intake-dlq#<master message
id> of an invalid request; on the local stack, the executions it keeps (which master messages carried
the request_id into the workflow, and what became of each). A repeat within one batch is dropped by the
intake before the workflow and leaves no trace: status says what it could not know.

--json prints { "requestId", "target", "verdict": string, "record": the record's fields, or null, or
{ "invalid", "item" }, "dlqs": [ { "queue", "name", "read", "approximate": { "visible", "inFlight" },
"stillHidden" } ] (absent when not searched), "deadLetters": [ { "queue", "messageId", "reason",
"matchedBy": "attribute"|"body", "sourceMessageId", "batchId", "execution", "sentAt", "receiveCount",
"by": "intake"|"workflow"|"master queue redrive policy", "marker": { "key", "status", "reason",
"batchId", "deadLetterMessageId", "expiresAt" } or null } ], "workflow": { "known", "executionsRead",
"masterMessages": [ { "messageId", "execution", "startDate", "outcome", "region", "failedOver",
"reason" } ], "notKnown": [string] } }. Exit status 0 when the request was found anywhere, else 1.`;

interface StatusFlags {
  stage?: string;
  profile?: string;
  region?: string;
  json?: boolean;
  /** false with --no-dlq. */
  dlq: boolean;
  /** false with --no-executions. */
  executions: boolean;
}

const stepLabel = (step: StatusStep) => (step === 'executions' ? 'reading the executions the local stack keeps' : `searching the ${DLQ_LABEL[step.dlq]}`);

const row = (label: string, value: string) => `${label.padEnd(15)} ${value}`;

export function formatStatus(report: StatusReport): string {
  const lines: string[] = [];
  const record = report.record;
  if (record && 'invalid' in record) {
    lines.push(row('request_id', report.requestId), row('record', `not in the expected form (${record.invalid}): ${JSON.stringify(record.item)}`));
  } else if (record) {
    for (const [name, value] of statusRows(record)) if (value !== undefined) lines.push(row(name, value));
  } else {
    lines.push(row('request_id', report.requestId), row('status', report.verdict));
  }
  if (report.dlqs) {
    lines.push('');
    for (const dlq of report.dlqs) {
      const copies = report.deadLetters.filter((d) => d.queue === dlq.queue);
      lines.push(
        `${DLQ_LABEL[dlq.queue]}: ${copies.length ? `${copies.length} cop${copies.length === 1 ? 'y' : 'ies'} of this request` : 'no copy of this request'} ` +
          `(read ${dlq.read} message(s) without consuming them; SQS approximate: ${dlq.approximate.visible} visible, ${dlq.approximate.inFlight} in flight)`,
      );
      for (const copy of copies) {
        lines.push(`  message        ${copy.messageId}${copy.sentAt ? `, since ${copy.sentAt}` : ''}`);
        lines.push(`  put there by   the ${copy.by}${copy.matchedBy === 'body' ? ' (matched by the request_id in its body)' : ''}`);
        lines.push(`  reason         ${copy.reason}`);
        if (copy.sourceMessageId) lines.push(`  master message ${copy.sourceMessageId}`);
        if (copy.execution) lines.push(`  execution      ${copy.execution}`);
        else if (copy.batchId) lines.push(`  batch          ${copy.batchId}`);
        if (copy.marker) {
          lines.push(`  intake marker  ${copy.marker.key}: ${copy.marker.status ?? '?'}${copy.marker.expiresAt ? `, kept until ${copy.marker.expiresAt}` : ''}`);
        } else if (copy.marker === null) {
          lines.push(`  intake marker  ${intakeDeadLetterKey(copy.sourceMessageId ?? '?')}: none (expired, or never written)`);
        }
      }
      if (dlq.stillHidden) lines.push(`  warning: ${dlq.stillHidden} message(s) could not be made visible again: hidden until their visibility timeout ends`);
    }
  }
  const workflow = report.workflow;
  if (workflow) {
    lines.push('');
    if (workflow.known) {
      const n = workflow.masterMessages.length;
      lines.push(`master messages that carried it into the workflow: ${n} (of ${workflow.executionsRead} executions kept by the local stack)`);
      for (const m of workflow.masterMessages) {
        lines.push(`  ${m.messageId}  in ${m.execution}`);
        const where = m.region ? ` to ${m.region}${m.failedOver ? ' (failed over)' : ''}` : '';
        lines.push(`    ${m.outcome ?? '(no outcome yet)'}${where}${m.reason ? `: ${m.reason}` : ''}`);
      }
      const repeats = workflow.masterMessages.filter((m) => m.outcome === 'duplicate').length;
      if (repeats) lines.push(`  ${repeats} of them repeat${repeats === 1 ? 's' : ''} the request_id, dropped as a duplicate by the workflow`);
    }
    lines.push('not known here:');
    for (const item of workflow.notKnown) lines.push(`  - ${item}`);
  }
  return lines.join('\n');
}

/** A request_id as the dispatch and the console take it (ops/dlq-model.ts requestIdProblem); refused before any search. */
function requestIdArgument(value: string): string {
  const problem = requestIdProblem(value);
  if (problem) throw new InvalidArgumentError(`${problem}: no request can have this request_id, so there is nothing to look for.`);
  return value;
}

export function statusCommand(): Command {
  const command = new Command('status')
    .description('show where a request went (record, dead-letter queues, executions) and which worker took it')
    .argument('<request-id>', 'the request_id of the request (1 to 128 of A-Z a-z 0-9 . _ : -, as the dispatch and the console take it)', requestIdArgument)
    .option('--json', 'print the report as JSON on stdout (shape below)')
    .option('--no-dlq', 'do not search the dead-letter queues')
    .option('--no-executions', 'do not read the executions the local stack keeps')
    .addHelpText('after', helpText(STATUS_JSON_HELP));
  for (const option of awsOptions()) command.addOption(option);
  return command.action(async (requestId: string, options: StatusFlags) => {
    const target = await resolveTarget(options);
    const bars = stderrStepProgress();
    let report: StatusReport;
    try {
      report = await statusReport(target, requestId, {
        dlq: options.dlq,
        executions: options.executions,
        onProgress: (step, read, estimate) => bars.update(stepLabel(step), read, estimate),
      });
    } finally {
      bars.stop();
    }
    if (options.json) console.log(JSON.stringify(report, null, 2));
    else print(formatStatus(report));
    if (!found(report)) process.exitCode = 1;
  });
}
