/**
 * `redrive`: moves messages from a DLQ back to the master queue (the operation and its order of steps:
 * ops/redrive.ts). Here: the flags, the progress on stderr, Ctrl-C, and the report.
 */
import { Command, InvalidArgumentError } from 'commander';
import { COUNTS_NOTE } from '../../ops/dlq.js';
import { DLQ_KINDS, DLQ_LABEL, groupByReason, parseQueueKind, truncate, type DlqKind } from '../../ops/dlq-model.js';
import { redrive, type RedriveResult } from '../../ops/redrive.js';
import { formatIdList } from '../id-list.js';
import { helpText, print } from '../layout.js';
import { awsOptions, positiveInt } from '../options.js';
import { stderrProgress } from '../stderr-progress.js';
import { abortOnPress } from '../shutdown.js';
import { resolveTarget } from '../target.js';

/** The report: what moved (by reason), what was skipped and why, what failed, and the counts. */
export function formatRedrive(result: RedriveResult, full: boolean): string {
  const lines: string[] = [];
  const moving = result.entries.filter((e) => e.outcome === (result.dryRun ? 'would-move' : 'moved'));
  const title = result.dryRun ? 'would move' : 'moved';
  lines.push(`${title} ${moving.length}${moving.length ? ':' : ''}`);
  for (const group of groupByReason(moving)) {
    lines.push(`  ${String(group.count).padStart(5)}  ${full ? group.reason : truncate(group.reason, 200)}`);
    if (group.requestIds.length) lines.push(`         request_ids (${group.requestIds.length}): ${formatIdList(group.requestIds, full)}`);
    if (group.withoutRequestId) lines.push(`         without request_id: ${group.withoutRequestId} (${result.dryRun ? 'would be moved' : 'moved'} as is)`);
  }
  const reopened = moving.filter((e) => e.action === 'reopen').length;
  if (reopened) lines.push(`  record${reopened > 1 ? 's' : ''} ${result.dryRun ? 'to be set' : 'set'} REDRIVEN: ${reopened}`);
  const forced = moving.filter((e) => e.forced);
  for (const e of forced) lines.push(`  forced: ${e.requestId ?? e.messageId}: ${e.detail}`);
  for (const outcome of ['skipped', 'failed'] as const) {
    const some = result.entries.filter((e) => e.outcome === outcome);
    if (!some.length) continue;
    lines.push(`${outcome} ${some.length}:`);
    const shown = full ? some : some.slice(0, 20);
    for (const e of shown) lines.push(`  ${e.requestId ?? `(no request_id) message ${e.messageId}`}: ${e.detail}`);
    if (shown.length < some.length) lines.push(`  ... and ${some.length - shown.length} more (--full to show all)`);
  }
  const approx = `SQS approximate before: ${result.approximate.visible} visible, ${result.approximate.inFlight} in flight`;
  lines.push(
    `read ${result.read} message(s) from the ${DLQ_LABEL[result.queue]} (${approx}); ` +
      `${result.counts.moved} moved, ${result.counts['would-move']} would move, ${result.counts.skipped} skipped, ${result.counts.failed} failed, ${result.notSelected} not selected`,
  );
  const notJson = result.entries.filter((e) => e.notJson && e.outcome === 'skipped');
  if (notJson.length) {
    const ids = notJson.map((e) => e.messageId);
    lines.push(
      `warning: ${notJson.length} message(s) skipped because the body is not JSON (they can never pass the intake): ` +
        `${formatIdList(ids, full)}; --include-not-json moves them anyway`,
    );
  }
  if (result.stoppedAtMax) lines.push('stopped at --max: messages not reached are left in the DLQ');
  if (result.aborted) lines.push('interrupted: messages not reached are left in the DLQ');
  if (result.stillHidden) lines.push(`warning: ${result.stillHidden} message(s) could not be made visible again: hidden until their visibility timeout ends`);
  if (result.dryRun) lines.push('dry run: nothing was moved and no record was changed');
  return lines.join('\n');
}

const queueChoice = (value: string): DlqKind => {
  const kind = parseQueueKind(value, DLQ_KINDS);
  if (!kind) throw new InvalidArgumentError('--queue must be dispatch, master or master-high.');
  return kind;
};

const nonEmpty = (what: string) => (value: string) => {
  if (!value.trim()) throw new InvalidArgumentError(`${what} must not be empty.`);
  return value;
};

const collect = (value: string, previous: string[] = []) => [...previous, nonEmpty('--request-id')(value)];

interface RedriveFlags {
  queue: DlqKind;
  reason?: string;
  requestId?: string[];
  dryRun?: boolean;
  max?: number;
  force?: boolean;
  includeNotJson?: boolean;
  full?: boolean;
  json?: boolean;
  stage?: string;
  profile?: string;
  region?: string;
}

export function redriveCommand(): Command {
  const command = new Command('redrive')
    .description('move messages from a dead-letter queue back to the master queue (reopening their records)')
    .option('--queue <queue>', "the DLQ to read: dispatch, master or master-high (the master queue's high lane, redriven to that lane)", queueChoice, 'dispatch' as DlqKind)
    .option('--reason <text>', 'only messages whose reason contains TEXT (case-insensitive)', nonEmpty('--reason'))
    .option('--request-id <id>', 'only this request_id (repeatable)', collect)
    .option('--max <n>', 'move at most N messages', positiveInt('--max'))
    .option('--dry-run', 'list what would move; move nothing, change no record')
    .option('--force', 'also move a message whose record says DISPATCHED or done (its status left alone, its expiry extended)')
    .option('--include-not-json', 'also move a message whose body is not JSON (skipped by default: it can never pass the intake)')
    .option('--full', 'show every request_id, skip and failure (lists are cut by default)')
    .option('--json', 'print the result as JSON on stdout (shape below)')
    .addHelpText('after', helpText(`
Per message, in this order: (a) a DEAD_LETTERED record is set REDRIVEN (so the claim accepts the copy);
(b) the original body is sent, unchanged, to the master queue (attributes redriven_from, redrive_reason);
(c) only then is the message deleted from the DLQ. A message whose record says DISPATCHED, or that a
worker accepted or completed, is a duplicate and is skipped (left in the DLQ, its reason shown) unless
--force, even past the record's expiry. The new copy starts a new retention period: a record reopened,
or moved past with --force, is kept at least the record lifetime from now (expiresAt).
A message whose body is not JSON can never pass the intake, which would only dead-letter it again: it is
skipped by default (left in the DLQ, and named in a warning), and moved only with --include-not-json.
A failed message stays in the DLQ; the exit status is then 1.

--json prints { "target", "note", "queue": "dispatch"|"master"|"master-high", "from": { "name", "url" }, "to": { "name", "url" }, "dryRun",
"read", "approximate": { "visible", "inFlight" }, "notSelected", "entries": [ { "messageId", "requestId",
"reason", "outcome": "moved"|"would-move"|"skipped"|"failed", "detail", "recordBefore", "action",
"reopened", "expiresAt", "forced", "notJson", "sentMessageId" } ], "counts": { "moved", "would-move", "skipped", "failed" },
"stoppedAtMax", "aborted", "stillHidden", "ok" }.`));
  for (const option of awsOptions()) command.addOption(option);
  return command.action(async (options: RedriveFlags) => {
    const target = await resolveTarget(options);
    const controller = new AbortController();
    // Counted by presses (shutdown.ts): the copies npm passes on of one Ctrl-C do not quit at once.
    const stopListening = abortOnPress(controller, 'the message at hand may be left in the DLQ and in the master queue (the claim drops the copy)');
    const bar = stderrProgress(options.dryRun ? 'reading' : 'redriving');
    let result: RedriveResult;
    try {
      result = await redrive(target, {
        queue: options.queue,
        ...(options.reason !== undefined ? { reason: options.reason } : {}),
        ...(options.requestId?.length ? { requestIds: options.requestId } : {}),
        ...(options.max !== undefined ? { max: options.max } : {}),
        dryRun: Boolean(options.dryRun),
        force: Boolean(options.force),
        includeNotJson: Boolean(options.includeNotJson),
        signal: controller.signal,
        onProgress: (read, estimate) => bar.update(read, estimate),
      });
    } finally {
      bar.stop();
      stopListening();
    }
    if (options.json) {
      console.log(JSON.stringify({ target: target.description, note: COUNTS_NOTE, ...result }, null, 2));
    } else {
      print(`${target.description}: ${DLQ_LABEL[result.queue]} ${result.from.name} -> master queue ${result.to.name}${result.dryRun ? ' (dry run)' : ''}`);
      print(formatRedrive(result, Boolean(options.full)));
    }
    if (result.aborted) process.exitCode = 130;
    else if (!result.ok) process.exitCode = 1;
  });
}
