/**
 * `dlq`: what the dead-letter queues hold, grouped by reason, without consuming anything (each message
 * read is made visible again at once when the read ends). The dispatch DLQ's messages carry their
 * reason; the master DLQ's were moved there by SQS after failed receives and are grouped by what their
 * idempotency record says, when there is one.
 */
import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { Command, InvalidArgumentError } from 'commander';
import {
  DLQ_KINDS,
  isMasterDlq,
  DLQ_LABEL,
  formatIdList,
  groupByReason,
  listingReason,
  parseQueueKind,
  queueName,
  queueRegion,
  readDlqMessage,
  readRecord,
  truncate,
  type DlqKind,
  type DlqMessage,
  type ReasonGroup,
  type RecordRead,
} from '../dlq-model.js';
import { helpText, print } from '../layout.js';
import { awsOptions } from '../options.js';
import { QueueReader, queueDepth, READ_DEFAULTS, type QueueDepth, type ReaderOptions } from '../queue-reader.js';
import { stderrProgress } from '../stderr-progress.js';
import { resolveTarget, TargetError, type Target } from '../target.js';

/** What `dlq` and `redrive` need of a Target (a Target is one). */
export type DlqDeps = Pick<Target, 'homeRegion' | 'masterDeadLetterQueueUrl' | 'masterHighDeadLetterQueueUrl' | 'dispatchDeadLetterQueueUrl' | 'tableName' | 'sqs' | 'dynamo'>;

export const COUNTS_NOTE =
  'Counts are the messages this read could see; SQS\'s ApproximateNumberOfMessages is shown beside them (messages held in flight by another reader are not seen).';

export function dlqUrl(deps: Pick<DlqDeps, 'masterDeadLetterQueueUrl' | 'masterHighDeadLetterQueueUrl' | 'dispatchDeadLetterQueueUrl'>, kind: DlqKind): string {
  const url = { dispatch: deps.dispatchDeadLetterQueueUrl, master: deps.masterDeadLetterQueueUrl, 'master-high': deps.masterHighDeadLetterQueueUrl }[kind];
  if (!url) throw new TargetError(`the target names no ${DLQ_LABEL[kind]} URL`);
  return url;
}

/** The SQS client of the region a queue URL lives in (the home region when the URL does not say). */
export const clientFor = (deps: Pick<DlqDeps, 'sqs' | 'homeRegion'>, url: string): SQSClient => deps.sqs(queueRegion(url) ?? deps.homeRegion);

export async function getRecord(dynamo: DynamoDBClient, tableName: string | undefined, requestId: string): Promise<RecordRead> {
  if (!tableName) throw new TargetError('the target names no idempotency table');
  const { Item } = await dynamo.send(new GetItemCommand({ TableName: tableName, Key: { request_id: { S: requestId } }, ConsistentRead: true }));
  return readRecord(Item);
}

/** Runs `work` over `items`, at most `limit` at a time, results in input order. */
export async function pooled<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i] as T);
    }
  });
  await Promise.all(lanes);
  return results;
}

export interface ListedMessage {
  readonly messageId: string;
  readonly requestId?: string;
  readonly sourceMessageId?: string;
  readonly reason: string;
  readonly record?: string;
  readonly receiveCount?: number;
  readonly sentAt?: string;
}

export interface DlqListing {
  readonly queue: DlqKind;
  readonly name: string;
  readonly url: string;
  /** Distinct messages read. */
  readonly read: number;
  /** SQS's approximate counts, taken before the read. */
  readonly approximate: QueueDepth;
  readonly groups: ReasonGroup[];
  readonly messages: ListedMessage[];
  /** Messages that could not be made visible again: hidden until their visibility timeout ends. */
  readonly stillHidden: number;
  readonly warnings: string[];
}

export interface ListOptions extends Partial<ReaderOptions> {
  onProgress?(read: number, estimate: number): void;
}

const recordLabel = (read: RecordRead | undefined) =>
  !read ? undefined : !read.found ? 'none' : 'invalid' in read ? 'unreadable' : (read.record.status ?? 'no status');

/** Reads one DLQ whole, releases what it read, and groups it by reason. */
export async function listDlq(deps: DlqDeps, kind: DlqKind, options: ListOptions = {}): Promise<DlqListing> {
  const url = dlqUrl(deps, kind);
  const client = clientFor(deps, url);
  const approximate = await queueDepth(client, url);
  const reader = new QueueReader(client, url, { ...READ_DEFAULTS, ...options });
  const messages: DlqMessage[] = [];
  let stillHidden = 0;
  try {
    for await (const batch of reader.batches()) {
      messages.push(...batch.map((m) => readDlqMessage(kind, m)));
      options.onProgress?.(reader.read, approximate.visible);
    }
  } finally {
    stillHidden = (await reader.release()).length;
  }
  const warnings: string[] = [];
  const records = new Map<string, RecordRead>();
  if (isMasterDlq(kind)) {
    // SQS gave these no reason: what their record says is the best one there is.
    const ids = [...new Set(messages.flatMap((m) => (m.requestId ? [m.requestId] : [])))];
    let failures = 0;
    let firstError = '';
    await pooled(ids, 8, async (id) => {
      try {
        records.set(id, await getRecord(deps.dynamo(), deps.tableName, id));
      } catch (error) {
        failures++;
        firstError ||= `${(error as Error).name}: ${(error as Error).message}`;
      }
    });
    if (failures) warnings.push(`${failures} record lookup(s) failed (${firstError}): those messages are grouped without their record`);
  }
  const listed: ListedMessage[] = messages.map((m) => {
    const record = m.requestId ? records.get(m.requestId) : undefined;
    const label = recordLabel(record);
    return {
      messageId: m.messageId,
      ...(m.requestId ? { requestId: m.requestId } : {}),
      ...(m.sourceMessageId ? { sourceMessageId: m.sourceMessageId } : {}),
      reason: listingReason(m, record),
      ...(label ? { record: label } : {}),
      ...(m.receiveCount !== undefined ? { receiveCount: m.receiveCount } : {}),
      ...(m.sentAt ? { sentAt: m.sentAt } : {}),
    };
  });
  if (stillHidden) warnings.push(`${stillHidden} message(s) could not be made visible again: hidden until their visibility timeout ends`);
  return { queue: kind, name: queueName(url), url, read: messages.length, approximate, groups: groupByReason(listed), messages: listed, stillHidden, warnings };
}

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
  if (!kind) throw new InvalidArgumentError('--queue must be dispatch, master or all.');
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
    .option('--queue <queue>', 'dispatch, master or all', queueChoice, 'all' as const)
    .option('--full', 'show every request_id and the whole reason (lists are cut at 10 by default)')
    .option('--json', 'print a machine-readable listing (every message) on stdout (shape below)')
    .addHelpText('after', helpText(`
--json prints { "target", "note", "queues": [ { "queue": "dispatch"|"master", "name", "url", "read",
"approximate": { "visible", "inFlight" }, "groups": [ { "reason", "count", "requestIds", "withoutRequestId",
"messageIds" } ], "messages": [ { "messageId", "requestId", "sourceMessageId", "reason", "record",
"receiveCount", "sentAt" } ], "stillHidden", "warnings" } ] }.`));
  for (const option of awsOptions()) command.addOption(option);
  return command.action(async (options: DlqFlags) => {
    const target = await resolveTarget(options);
    const kinds = options.queue === 'all' ? DLQ_KINDS : [options.queue];
    const listings: DlqListing[] = [];
    for (const kind of kinds) {
      const bar = stderrProgress(`reading ${DLQ_LABEL[kind]}`);
      try {
        listings.push(await listDlq(target, kind, { onProgress: (read, estimate) => bar.update(read, estimate) }));
      } finally {
        bar.stop();
      }
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
