/**
 * `dlq`: what the dead-letter queues hold, grouped by reason, without consuming anything (the read:
 * ops/dlq.ts). Here: the flags, the progress on stderr, and the listing's text.
 */
import { Command, InvalidArgumentError } from 'commander';
import { COUNTS_NOTE, listDlqs, type DlqListing } from '../../ops/dlq.js';
import { DLQ_KINDS, DLQ_LABEL, parseQueueKind, truncate, type DlqKind } from '../../ops/dlq-model.js';
import { formatIdList } from '../id-list.js';
import { helpText, print } from '../layout.js';
import { awsOptions } from '../options.js';
import { stderrStepProgress } from '../stderr-progress.js';
import { resolveTarget } from '../target.js';

export function formatListing(listing: DlqListing, full: boolean): string {
  const lines = [`${DLQ_LABEL[listing.queue]}  ${listing.name}`];
  const approx = `SQS approximate: ${listing.approximate.visible} visible, ${listing.approximate.inFlight} in flight`;
  if (!listing.read) {
    lines.push(`  nothing read (${approx})`);
  } else {
    lines.push(`  read ${listing.read} message(s) (${approx})`);
    for (const group of listing.groups) {
      lines.push(`  ${String(group.count).padStart(5)}  ${full ? group.reason : truncate(group.reason, 200)}`);
      if (group.requestIds.length) lines.push(`         request_ids (${group.requestIds.length}): ${formatIdList(group.requestIds, full)}`);
      if (group.withoutRequestId) lines.push(`         without request_id: ${group.withoutRequestId}`);
    }
  }
  for (const warning of listing.warnings) lines.push(`  warning: ${warning}`);
  return lines.join('\n');
}

const queueChoice = (value: string): DlqKind | 'all' => {
  const kind = parseQueueKind(value, [...DLQ_KINDS, 'all'] as const);
  if (!kind) throw new InvalidArgumentError('--queue must be dispatch, master, master-high or all.');
  return kind;
};

interface DlqFlags {
  queue: DlqKind | 'all';
  full?: boolean;
  json?: boolean;
  stage?: string;
  profile?: string;
  region?: string;
}

export function dlqCommand(): Command {
  const command = new Command('dlq')
    .description('list what the dead-letter queues hold, grouped by reason (reads without consuming)')
    .option('--queue <queue>', "dispatch, master, master-high (the master queue's high lane) or all", queueChoice, 'all' as const)
    .option('--full', 'show every request_id and the whole reason (lists are cut at 10 by default)')
    .option('--json', 'print a machine-readable listing (every message) on stdout (shape below)')
    .addHelpText('after', helpText(`
A message's request_id is its request_id attribute, else the request_id its body names when the body is a
JSON object whose request_id keeps the request_id rules (1 to 128 of A-Z a-z 0-9 . _ : -), valid request
or not: such a message is listed, and redriven with --request-id, by that id.

--json prints { "target", "note", "queues": [ { "queue": "dispatch"|"master"|"master-high", "name", "url",
"read", "approximate": { "visible", "inFlight" }, "groups": [ { "reason", "count", "requestIds",
"withoutRequestId", "messageIds" } ], "messages": [ { "messageId", "requestId", "requestIdFrom":
"attribute"|"body", "sourceMessageId", "reason", "record", "receiveCount", "sentAt" } ], "stillHidden",
"warnings" } ] }.`));
  for (const option of awsOptions()) command.addOption(option);
  return command.action(async (options: DlqFlags) => {
    const target = await resolveTarget(options);
    const kinds = options.queue === 'all' ? DLQ_KINDS : [options.queue];
    const bars = stderrStepProgress();
    let listings: DlqListing[];
    try {
      listings = await listDlqs(target, kinds, { onProgress: (kind, read, estimate) => bars.update(`reading ${DLQ_LABEL[kind]}`, read, estimate) });
    } finally {
      bars.stop();
    }
    if (options.json) {
      console.log(JSON.stringify({ target: target.description, note: COUNTS_NOTE, queues: listings }, null, 2));
      return;
    }
    print(`${target.description}\n`);
    print(listings.map((l) => formatListing(l, Boolean(options.full))).join('\n\n'));
    print(`\n${COUNTS_NOTE}`);
    if (listings.some((l) => l.read)) print('Move messages back to the master queue with: npm run cli -- redrive --dry-run (then without --dry-run)');
  });
}
