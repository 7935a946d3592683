/**
 * `status REQUEST_ID`: where a request went and who worked on it. Three sources, each said for what it
 * is worth:
 * - its idempotency record (the table): dispatched, in progress, dead-lettered by the workflow, ...;
 * - the dead-letter queues, read without consuming anything (every message read is made visible again):
 *   a request the intake found invalid has no record at all, only its DLQ copy, matched by its
 *   request_id attribute or the request_id in its body, and the intake's marker item
 *   `#intake-dlq#<master message id>` (core/record.ts), found through the copy's source_message_id;
 * - on the local stack, the executions it keeps: every master message that carried the request_id into
 *   the workflow, and what the workflow did with each (a repeat in a later batch shows as a duplicate).
 *   A repeat within one batch is dropped by the intake before any execution, without a record of its
 *   own: nothing keeps it, and status says so.
 */
import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { Command } from 'commander';
import { intakeDeadLetterKey, requestRecordSchema, type RequestRecord } from '../../../core/record.js';
import { executionOutputSchema } from '../../../core/outcomes.js';
import { DLQ_KINDS, DLQ_LABEL, baseReason, readDlqMessage, type DlqKind, type DlqMessage } from '../dlq-model.js';
import { helpText, print } from '../layout.js';
import { awsOptions } from '../options.js';
import { QueueReader, queueDepth, READ_DEFAULTS, type QueueDepth, type ReaderOptions } from '../queue-reader.js';
import { stderrProgress } from '../stderr-progress.js';
import { resolveTarget, type Target } from '../target.js';
import { clientFor, dlqUrl } from './dlq.js';
import { listExecutions } from './executions.js';

const when = (epochSeconds: number | undefined) => (epochSeconds === undefined ? undefined : new Date(epochSeconds * 1000).toISOString());

/** The record as rows of (label, value); absent values are left out. */
export function statusRows(record: RequestRecord): Array<[string, string | undefined]> {
  const released = record.status === 'IN_PROGRESS' && record.leaseUntil === 0;
  return [
    ['request_id', record.request_id],
    ['status', released ? 'IN_PROGRESS (released: the next delivery takes it over)' : record.status],
    ['region', record.region ?? (record.status === 'DISPATCHED' ? undefined : '(not yet)')],
    ['dispatched at', record.dispatchedAt],
    ['dispatch token', record.token],
    ['tokens sent', record.tokens?.join(', ')],
    ['tried region', record.triedRegion && `${record.triedRegion} (a send there had no answer; the retry prefers it)`],
    ['reason', record.reason],
    ['execution', record.executionName],
    ['execution id', record.owner],
    ['claims taken', record.attempts?.toString()],
    ['batch', record.batchId],
    ['master message', record.messageId],
    ['lease until', released ? undefined : when(record.leaseUntil)],
    ['redriven at', record.redrivenAt],
    ['worker', record.acceptedBy && `${record.acceptedBy} (${record.workStatus ?? 'ACCEPTED'}, copy ${record.acceptedToken})`],
    ['accepted at', when(record.acceptedAt)],
    ['completed at', when(record.completedAt)],
    ['record expires', when(record.expiresAt) ?? '?'],
  ];
}

// ---- the dead-letter queues ---------------------------------------------------------------------

/** The request_id a dead-lettered body names, valid request or not (a JSON object with a string request_id). */
export function bodyRequestId(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const id = (parsed as { request_id?: unknown }).request_id;
      return typeof id === 'string' ? id : undefined;
    }
  } catch {
    // not JSON: it names no request_id
  }
  return undefined;
}

/** Whether a DLQ message is a copy of this request: by its request_id attribute, else by its body's. */
export function namesRequest(message: DlqMessage, requestId: string): 'attribute' | 'body' | undefined {
  if (message.attributes.request_id === requestId) return 'attribute';
  if (!message.attributes.request_id && bodyRequestId(message.body) === requestId) return 'body';
  return undefined;
}

/** The intake's marker of a master message it dead-lettered. */
export interface IntakeMarker {
  readonly key: string;
  readonly status?: string;
  readonly reason?: string;
  readonly batchId?: string;
  readonly deadLetterMessageId?: string;
  readonly expiresAt?: string;
}

export interface DeadLetterCopy {
  readonly queue: DlqKind;
  readonly messageId: string;
  readonly reason: string;
  readonly matchedBy: 'attribute' | 'body';
  readonly sourceMessageId?: string;
  readonly batchId?: string;
  readonly execution?: string;
  readonly sentAt?: string;
  readonly receiveCount?: number;
  /** Who put it there: the intake (invalid request), the workflow (no region took it), or SQS (master DLQ). */
  readonly by: 'intake' | 'workflow' | 'master queue redrive policy';
  /** The intake's marker (intake copies with a source_message_id). */
  readonly marker?: IntakeMarker | null;
}

export interface DlqSearch {
  readonly queue: DlqKind;
  readonly name: string;
  /** Distinct messages read (the whole queue as this read could see it). */
  readonly read: number;
  readonly approximate: QueueDepth;
  /** Messages this read made visible again failed to be: hidden until their visibility timeout ends. */
  readonly stillHidden: number;
}

/** Reads one DLQ whole without consuming it and keeps the copies of this request. */
export async function searchDlq(
  target: Target,
  kind: DlqKind,
  requestId: string,
  options: Partial<ReaderOptions> & { onProgress?: (read: number, estimate: number) => void } = {},
): Promise<{ search: DlqSearch; copies: DlqMessage[] }> {
  const url = dlqUrl(target, kind);
  const client = clientFor(target, url);
  const approximate = await queueDepth(client, url);
  const reader = new QueueReader(client, url, { ...READ_DEFAULTS, ...options });
  const copies: DlqMessage[] = [];
  let stillHidden = 0;
  try {
    for await (const batch of reader.batches()) {
      for (const raw of batch) {
        const message = readDlqMessage(kind, raw);
        if (namesRequest(message, requestId)) copies.push(message);
      }
      options.onProgress?.(reader.read, approximate.visible);
    }
  } finally {
    stillHidden = (await reader.release()).length;
  }
  return { search: { queue: kind, name: url.split('/').at(-1) ?? url, read: reader.read, approximate, stillHidden }, copies };
}

async function readMarker(target: Target, sourceMessageId: string): Promise<IntakeMarker | null> {
  const key = intakeDeadLetterKey(sourceMessageId);
  const { Item } = await target.dynamo().send(new GetItemCommand({ TableName: target.tableName, Key: { request_id: { S: key } }, ConsistentRead: true }));
  if (!Item) return null;
  const s = (name: string) => Item[name]?.S;
  const expires = Item.expiresAt?.N;
  return {
    key,
    ...(s('status') ? { status: s('status') } : {}),
    ...(s('reason') ? { reason: s('reason') } : {}),
    ...(s('batchId') ? { batchId: s('batchId') } : {}),
    ...(s('deadLetterMessageId') ? { deadLetterMessageId: s('deadLetterMessageId') } : {}),
    ...(expires ? { expiresAt: new Date(Number(expires) * 1000).toISOString() } : {}),
  };
}

async function describeCopy(target: Target, message: DlqMessage, requestId: string): Promise<DeadLetterCopy> {
  // The workflow's copies carry an `execution` attribute; the intake's a `receive_count` or no request_id attribute.
  const by: DeadLetterCopy['by'] =
    message.queue === 'master' ? 'master queue redrive policy' : message.attributes.execution ? 'workflow' : 'intake';
  const marker = by === 'intake' && message.sourceMessageId ? await readMarker(target, message.sourceMessageId) : undefined;
  return {
    queue: message.queue,
    messageId: message.messageId,
    reason: baseReason(message),
    matchedBy: namesRequest(message, requestId) ?? 'attribute',
    ...(message.sourceMessageId ? { sourceMessageId: message.sourceMessageId } : {}),
    ...(message.attributes.batch_id ? { batchId: message.attributes.batch_id } : {}),
    ...(message.attributes.execution ? { execution: message.attributes.execution } : {}),
    ...(message.sentAt ? { sentAt: message.sentAt } : {}),
    ...(message.receiveCount !== undefined ? { receiveCount: message.receiveCount } : {}),
    by,
    ...(marker !== undefined ? { marker } : {}),
  };
}

// ---- the executions the local stack keeps ---------------------------------------------------------

export interface MasterMessageSeen {
  readonly messageId: string;
  readonly execution: string;
  readonly startDate?: string;
  /** What the workflow did with it (absent while running, or when the execution failed). */
  readonly outcome?: string;
  readonly region?: string;
  readonly failedOver?: boolean;
  readonly reason?: string;
}

export interface WorkflowView {
  /** Whether the executions could be read at all (not on a deployed stage). */
  readonly known: boolean;
  /** Executions read. */
  readonly executionsRead: number;
  /** Each master message that carried the request_id into an execution, oldest first. */
  readonly masterMessages: MasterMessageSeen[];
  readonly notKnown: string[];
}

/** The executions that carried this request_id, from their input and output (DescribeExecution). */
export async function workflowView(
  sfn: SFNClient,
  stateMachineArn: string,
  requestId: string,
  onProgress?: (read: number, total: number) => void,
): Promise<WorkflowView> {
  const executions = await listExecutions(sfn, stateMachineArn, 10_000);
  const seen: MasterMessageSeen[] = [];
  let read = 0;
  // Oldest first, so the story reads in order.
  for (const e of [...executions].reverse()) {
    if (!e.executionArn) continue;
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }));
    onProgress?.(++read, executions.length);
    let input: { messages?: Array<{ messageId?: string; requestId?: string }> };
    try {
      input = JSON.parse(described.input ?? '{}');
    } catch {
      continue;
    }
    const carried = (input.messages ?? []).filter((m) => m.requestId === requestId && m.messageId);
    if (!carried.length) continue;
    const output = described.output ? executionOutputSchema.safeParse(JSON.parse(described.output)) : undefined;
    const outcomes = output?.success ? [...output.data.skipped, ...output.data.forwarded.flat()] : [];
    for (const m of carried) {
      const outcome = outcomes.find((o) => o.messageId === m.messageId);
      seen.push({
        messageId: m.messageId as string,
        execution: e.name ?? '?',
        ...(e.startDate ? { startDate: e.startDate.toISOString() } : {}),
        ...(outcome ? { outcome: outcome.outcome } : described.status !== 'SUCCEEDED' ? { outcome: `(execution ${described.status})` } : {}),
        ...(outcome?.region ? { region: outcome.region } : {}),
        ...(outcome?.failedOver ? { failedOver: true } : {}),
        ...(outcome?.reason ? { reason: outcome.reason } : {}),
      });
    }
  }
  return {
    known: true,
    executionsRead: read,
    masterMessages: seen,
    notKnown: [
      'repeats within one batch: the intake drops them before any execution, without a record (only its "batch done" log line counts them)',
      'messages the intake dead-lettered as invalid (see the DLQ part)',
      `executions the local stack no longer keeps (it keeps the newest 1000; ${read} read)`,
    ],
  };
}

const NOT_ON_AWS: WorkflowView = {
  known: false,
  executionsRead: 0,
  masterMessages: [],
  notKnown: [
    'how many master messages carried this request_id: on a deployed stage the executions are in the state machine log group only (with execution data on non-production stages); this command does not read it',
  ],
};

// ---- the command ------------------------------------------------------------------------------------

export interface StatusReport {
  readonly requestId: string;
  readonly target: string;
  /** The record as read (null: none; `invalid`: an item this code does not understand). */
  readonly record: RequestRecord | null | { readonly invalid: string; readonly item: unknown };
  /** Where the request is, in a few words. */
  readonly verdict: string;
  /** DLQs searched (absent when not searched: the record says where the request is). */
  readonly dlqs?: DlqSearch[];
  readonly deadLetters: DeadLetterCopy[];
  readonly workflow?: WorkflowView;
}

function verdictOf(record: StatusReport['record'], deadLetters: readonly DeadLetterCopy[], workflow?: WorkflowView): string {
  const byIntake = deadLetters.filter((d) => d.by === 'intake');
  if (record && 'invalid' in record) return 'a record this tool cannot read';
  if (record) {
    if (record.status === 'DEAD_LETTERED') return `dead-lettered by the workflow${deadLetters.length ? ' (its copy is in the dispatch DLQ)' : ''}`;
    return record.status ?? 'a record without a status';
  }
  if (byIntake.length) return 'dead-lettered by the intake as an invalid request: no record (the intake keeps none for invalid requests)';
  if (deadLetters.length) return `no record; a copy is in the ${DLQ_LABEL[deadLetters[0]?.queue ?? 'dispatch']}`;
  if (workflow?.masterMessages.length) return 'no record, though the workflow saw it (claim released, or the record expired)';
  return 'not found: no record (never seen, or expired after 7 days), not in a DLQ';
}

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

export async function statusReport(target: Target, requestId: string, flags: Pick<StatusFlags, 'dlq' | 'executions'>): Promise<StatusReport> {
  const { Item } = await target
    .dynamo()
    .send(new GetItemCommand({ TableName: target.tableName, Key: { request_id: { S: requestId } }, ConsistentRead: true }));
  let record: StatusReport['record'] = null;
  if (Item) {
    const parsed = requestRecordSchema.safeParse(Item);
    record = parsed.success ? parsed.data : { invalid: parsed.error.issues[0]?.message ?? 'unreadable', item: Item };
  }
  const deadLetters: DeadLetterCopy[] = [];
  let dlqs: DlqSearch[] | undefined;
  const searchDlqs = flags.dlq && (!record || 'invalid' in record || record.status === 'DEAD_LETTERED');
  if (searchDlqs) {
    dlqs = [];
    for (const kind of DLQ_KINDS) {
      const bar = stderrProgress(`searching the ${DLQ_LABEL[kind]}`);
      try {
        const { search, copies } = await searchDlq(target, kind, requestId, { onProgress: (read, estimate) => bar.update(read, estimate) });
        dlqs.push(search);
        for (const copy of copies) deadLetters.push(await describeCopy(target, copy, requestId));
      } finally {
        bar.stop();
      }
    }
  }
  let workflow: WorkflowView | undefined;
  if (flags.executions) {
    if (target.kind === 'local') {
      const bar = stderrProgress('reading the executions the local stack keeps');
      try {
        workflow = await workflowView(target.sfn(), target.stateMachineArn as string, requestId, (read, total) => bar.update(read, total));
      } finally {
        bar.stop();
      }
    } else {
      workflow = NOT_ON_AWS;
    }
  }
  return {
    requestId,
    target: target.description,
    record,
    verdict: verdictOf(record, deadLetters, workflow),
    ...(dlqs ? { dlqs } : {}),
    deadLetters,
    ...(workflow ? { workflow } : {}),
  };
}

/** Whether the request was found anywhere. */
export const found = (report: StatusReport) => Boolean(report.record) || report.deadLetters.length > 0 || Boolean(report.workflow?.masterMessages.length);

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

export function statusCommand(): Command {
  const command = new Command('status')
    .description('show where a request went (record, dead-letter queues, executions) and which worker took it')
    .argument('<request-id>', 'the request_id of the request')
    .option('--json', 'print the report as JSON on stdout (shape below)')
    .option('--no-dlq', 'do not search the dead-letter queues')
    .option('--no-executions', 'do not read the executions the local stack keeps')
    .addHelpText('after', helpText(STATUS_JSON_HELP));
  for (const option of awsOptions()) command.addOption(option);
  return command.action(async (requestId: string, options: StatusFlags) => {
    const target = await resolveTarget(options);
    const report = await statusReport(target, requestId, options);
    if (options.json) console.log(JSON.stringify(report, null, 2));
    else print(formatStatus(report));
    if (!found(report)) process.exitCode = 1;
  });
}
