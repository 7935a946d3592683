/**
 * Redrive: moves messages from a DLQ back to the master queue (`redrive`, cli/commands/redrive.ts, and
 * the console's redrive buttons). For each selected message, in order:
 *   a. its idempotency record, if DEAD_LETTERED (or REDRIVEN by an interrupted earlier redrive), is set
 *      REDRIVEN (conditional write), so that the claim accepts the copy about to be sent; a record in any
 *      other state is left alone (DISPATCHED or done by a worker: the DLQ copy is a duplicate, skipped);
 *      the copy about to be sent starts a new retention period, so a record that a redrive reopens, or
 *      that --force moves past, gets expiresAt >= now + the record lifetime (docs/architecture.md, invariant 11);
 *   b. the original body, unchanged, is sent to the master queue, with attributes naming the redrive;
 *   c. only once the send succeeded, the message is deleted from the DLQ.
 * A failure at a or b leaves the message in the DLQ, visible again at once. Crash between a and b: the
 * record is REDRIVEN and the message still in the DLQ (the next redrive accepts REDRIVEN). Crash between b
 * and c: a copy is in the master queue and one in the DLQ: the claim lets one copy through, and the next
 * redrive sees DISPATCHED and skips the other. Nothing is lost, nothing is dispatched twice.
 */
import { ConditionalCheckFailedException, UpdateItemCommand, type UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import { DeleteMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { ATTR, RECORD_STATUS } from '../../core/record.js';
import { DEFAULT_RECORD_LIFETIME_SECONDS } from '../../core/topology.js';
import { clientFor, dlqUrl, getRecord, type DlqDeps } from './dlq.js';
import {
  baseReason,
  queueName,
  readDlqMessage,
  redriveAttributes,
  redriveVerdict,
  selects,
  type DlqKind,
  type DlqMessage,
  type RecordRead,
  type Selection,
  type Verdict,
} from './dlq-model.js';
import { QueueReader, queueDepth, READ_DEFAULTS, type QueueDepth, type ReaderOptions } from './queue-reader.js';
import { TargetError } from './target.js';

/** What a redrive needs of a Target (a Target is one). */
export type RedriveDeps = DlqDeps & { readonly masterQueueUrl?: string; readonly masterHighQueueUrl?: string };

export interface RedriveOptions extends Selection, Partial<Omit<ReaderOptions, 'signal'>> {
  readonly queue?: DlqKind;
  readonly dryRun?: boolean;
  /** At most this many messages moved (or, in a dry run, listed as would move); failures count too. */
  readonly max?: number;
  /** Move a message whose record says it went out or was done (its status left alone, its expiry extended). */
  readonly force?: boolean;
  /**
   * Move a message whose body is not JSON too. Such a body can never pass the intake: moved, it only comes
   * back to the dispatch DLQ. By default it is skipped (left in the DLQ), and named.
   */
  readonly includeNotJson?: boolean;
  /**
   * How long a record must live after a copy is sent (the stage's IDEMPOTENCY_TTL_SECONDS); default the
   * deployment's default. An expiry already later is kept.
   */
  readonly recordLifetimeSeconds?: number;
  readonly now?: () => Date;
  /** Stops after the message at hand; what is held is released. */
  readonly signal?: AbortSignal;
  /** After each batch read: messages read so far, and SQS's approximate count as the estimate. */
  onProgress?(read: number, estimate: number): void;
}

export type RedriveOutcome = 'moved' | 'would-move' | 'skipped' | 'failed';

export interface RedriveEntry {
  readonly messageId: string;
  readonly requestId?: string;
  readonly reason: string;
  readonly outcome: RedriveOutcome;
  /** What was done or decided, and why. */
  readonly detail: string;
  /** The record's status when read (none: no record; absent: no request_id to look up). */
  readonly recordBefore?: string;
  /** What the record's state called for: reopen (set REDRIVEN), move (record left alone), skip. */
  readonly action?: Verdict['action'];
  /** Whether the record was set REDRIVEN (not in a dry run). */
  readonly reopened?: boolean;
  /** The record's expiry as this redrive left it (epoch seconds), when it wrote one. */
  readonly expiresAt?: number;
  readonly forced?: boolean;
  /** Its body is not JSON: it can never pass the intake (skipped unless includeNotJson). */
  readonly notJson?: boolean;
  /** The master-queue message id of the copy sent. */
  readonly sentMessageId?: string;
}

export interface RedriveResult {
  readonly queue: DlqKind;
  readonly from: { readonly name: string; readonly url: string };
  readonly to: { readonly name: string; readonly url: string };
  readonly dryRun: boolean;
  readonly approximate: QueueDepth;
  /** Distinct messages read from the DLQ. */
  readonly read: number;
  /** Read but not selected (left in the DLQ, visible again). */
  readonly notSelected: number;
  readonly entries: RedriveEntry[];
  readonly counts: Record<RedriveOutcome, number>;
  readonly stoppedAtMax: boolean;
  readonly aborted: boolean;
  /** Messages that could not be made visible again at the end: hidden until their timeout ends. */
  readonly stillHidden: number;
  /** False when anything failed. */
  readonly ok: boolean;
}

const describeError = (error: unknown) => {
  const e = error as Error;
  return `${e.name ?? 'Error'}: ${e.message ?? String(error)}`;
};

const recordStatus = (read: RecordRead) => (!read.found ? 'none' : 'invalid' in read ? 'unreadable' : (read.record.status ?? 'no status'));

const isConditionFailure = (error: unknown) =>
  error instanceof ConditionalCheckFailedException || (error as Error).name === 'ConditionalCheckFailedException';

/**
 * Sets REDRIVEN, and the expiry the new copy needs, if the record is still DEAD_LETTERED or REDRIVEN;
 * false if it changed meanwhile.
 */
async function reopen(deps: RedriveDeps, requestId: string, now: Date, expiresAt: number): Promise<boolean> {
  return updateIfStill(deps, {
    TableName: deps.tableName,
    Key: { [ATTR.key]: { S: requestId } },
    UpdateExpression: 'SET #status = :redriven, #redrivenAt = :now, #expiresAt = :expiresAt',
    ConditionExpression: '#status IN (:deadLettered, :redriven)',
    ExpressionAttributeNames: { '#status': ATTR.status, '#redrivenAt': ATTR.redrivenAt, '#expiresAt': ATTR.expiresAt },
    ExpressionAttributeValues: {
      ':redriven': { S: RECORD_STATUS.redriven },
      ':deadLettered': { S: RECORD_STATUS.deadLettered },
      ':now': { S: now.toISOString() },
      ':expiresAt': { N: String(expiresAt) },
    },
  });
}

/**
 * A forced copy of a request that went out or was done: the record's expiry moves to `expiresAt` unless
 * it is already later (or the record is gone), so the record outlives the copy and the claim drops it.
 */
async function outliveCopy(deps: RedriveDeps, requestId: string, expiresAt: number): Promise<void> {
  await updateIfStill(deps, {
    TableName: deps.tableName,
    Key: { [ATTR.key]: { S: requestId } },
    UpdateExpression: 'SET #expiresAt = :expiresAt',
    ConditionExpression: 'attribute_exists(#key) AND (attribute_not_exists(#expiresAt) OR #expiresAt < :expiresAt)',
    ExpressionAttributeNames: { '#key': ATTR.key, '#expiresAt': ATTR.expiresAt },
    ExpressionAttributeValues: { ':expiresAt': { N: String(expiresAt) } },
  });
}

/** One conditional write on a record: false when its condition no longer holds (the record changed). */
async function updateIfStill(deps: RedriveDeps, input: UpdateItemCommandInput): Promise<boolean> {
  try {
    await deps.dynamo().send(new UpdateItemCommand(input));
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** What one redrive run shares across the messages it moves. */
interface Run {
  readonly deps: RedriveDeps;
  readonly reader: QueueReader;
  readonly dlq: SQSClient;
  readonly from: { readonly name: string; readonly url: string };
  readonly master: SQSClient;
  readonly toUrl: string;
  readonly dryRun: boolean;
  readonly force: boolean;
  readonly includeNotJson: boolean;
  readonly now: () => Date;
  /** How long a record must live after a copy is sent (seconds). */
  readonly lifetime: number;
  /** Master-queue message ids of the copies this run sent: their return to the DLQ is not redriven again. */
  readonly sent: Set<string>;
}

type EntryBase = Omit<RedriveEntry, 'outcome' | 'detail'>;

/** The expiry a record needs once a copy is sent now: never earlier than the one it has. */
function expiryFor(run: Run, read: RecordRead): number {
  const needed = Math.floor(run.now().getTime() / 1000) + run.lifetime;
  const current = read.found && 'record' in read ? read.record.expiresAt : undefined;
  return current !== undefined && current > needed ? current : needed;
}

/** A failed message goes back at once, so the DLQ still shows it. */
async function leftInDlq(run: Run, base: EntryBase, detail: string): Promise<RedriveEntry> {
  const notReleased = await run.reader.release([base.messageId]);
  const visibility = notReleased.length ? 'hidden until its visibility timeout ends' : 'visible again';
  return { ...base, outcome: 'failed', detail: `${detail}; left in the DLQ, ${visibility}` };
}

/** One message, steps a, b, c of the file comment, in that order; any failure leaves it in the DLQ. */
async function redriveMessage(run: Run, message: DlqMessage): Promise<RedriveEntry> {
  const { deps, dryRun, now } = run;
  const reason = baseReason(message);
  let base: EntryBase = {
    messageId: message.messageId,
    ...(message.requestId ? { requestId: message.requestId } : {}),
    reason,
  };
  // A body that is not JSON can never pass the intake: moved, it would only come back here.
  const notJson = !isJson(message.body);
  if (notJson) {
    base = { ...base, notJson };
    if (!run.includeNotJson) {
      return { ...base, outcome: 'skipped', detail: 'the body is not JSON: it can never pass the intake, which would dead-letter it again; left in the DLQ (--include-not-json to move it anyway)' };
    }
  }
  // a. The record first, so that the copy sent next finds it claimable.
  let verdict: Verdict | undefined;
  let reopened = false;
  let read: RecordRead = { found: false };
  let expiresAt: number | undefined;
  for (let attempt = 0; attempt < 3 && !verdict; attempt++) {
    read = { found: false };
    if (message.requestId) {
      try {
        read = await getRecord(deps.dynamo(), deps.tableName, message.requestId);
      } catch (error) {
        return leftInDlq(run, base, `reading the record failed: ${describeError(error)}`);
      }
    }
    base = { ...base, recordBefore: message.requestId ? recordStatus(read) : 'absent' };
    const decided = redriveVerdict(message.requestId, read, Math.floor(now().getTime() / 1000), run.force);
    if (decided.action !== 'reopen' || dryRun) {
      verdict = decided;
      break;
    }
    try {
      // The condition holds unless the record changed since it was read: then read it again.
      const expiry = expiryFor(run, read);
      if (await reopen(deps, message.requestId as string, now(), expiry)) {
        verdict = decided;
        reopened = true;
        expiresAt = expiry;
      }
    } catch (error) {
      return leftInDlq(run, base, `setting the record REDRIVEN failed: ${describeError(error)}`);
    }
  }
  if (!verdict) return leftInDlq(run, base, 'the record kept changing while it was being set REDRIVEN');
  const forced = verdict.action === 'move' && Boolean(verdict.forced);
  base = { ...base, action: verdict.action, ...(forced ? { forced } : {}) };
  if (verdict.action === 'skip') return { ...base, outcome: 'skipped', detail: verdict.note };
  if (dryRun) {
    const note = verdict.action === 'reopen' ? `${verdict.note} (would be set)` : verdict.note;
    return { ...base, outcome: 'would-move', detail: notJson ? `${note}; the body is not JSON (--include-not-json): the intake would dead-letter it again` : note };
  }
  if (forced && read.found && message.requestId) {
    // The copy about to be sent may outlive the record as it stands: extend it first.
    expiresAt = expiryFor(run, read);
    try {
      await outliveCopy(deps, message.requestId, expiresAt);
    } catch (error) {
      return leftInDlq(run, base, `extending the record's expiry failed: ${describeError(error)}`);
    }
  }
  base = { ...base, reopened, ...(expiresAt !== undefined ? { expiresAt } : {}) };

  // b. The original body, unchanged, to the master queue.
  let sentMessageId: string;
  try {
    const result = await run.master.send(
      new SendMessageCommand({ QueueUrl: run.toUrl, MessageBody: message.body, MessageAttributes: redriveAttributes(run.from.name, reason) }),
    );
    sentMessageId = result.MessageId ?? '?';
    run.sent.add(sentMessageId);
  } catch (error) {
    const record = reopened ? ' (the record stays REDRIVEN: the next redrive accepts it)' : '';
    return leftInDlq(run, base, `sending to the master queue failed: ${describeError(error)}${record}`);
  }
  base = { ...base, sentMessageId };

  // c. Only now out of the DLQ.
  try {
    const handle = run.reader.receiptHandle(message.messageId) ?? message.receiptHandle;
    await run.dlq.send(new DeleteMessageCommand({ QueueUrl: run.from.url, ReceiptHandle: handle }));
    run.reader.forget(message.messageId);
  } catch (error) {
    return {
      ...base,
      outcome: 'failed',
      detail: `sent to the master queue as ${sentMessageId}, but deleting it from the DLQ failed (${describeError(error)}): the DLQ copy is now a duplicate, which the claim drops and the next redrive skips once the record says DISPATCHED`,
    };
  }
  return { ...base, outcome: 'moved', detail: notJson ? `${verdict.note}; the body is not JSON (moved with --include-not-json): the intake dead-letters it again` : verdict.note };
}

function isJson(body: string): boolean {
  try {
    JSON.parse(body);
    return true;
  } catch {
    return false;
  }
}

/** Moves DLQ messages back to the master queue (see the file comment for the order and why). */
export async function redrive(deps: RedriveDeps, options: RedriveOptions = {}): Promise<RedriveResult> {
  const kind = options.queue ?? 'dispatch';
  const fromUrl = dlqUrl(deps, kind);
  // The master high DLQ's messages go back to the high lane they came from (core/lanes.ts).
  const toUrl = kind === 'master-high' ? (deps.masterHighQueueUrl ?? deps.masterQueueUrl) : deps.masterQueueUrl;
  if (!toUrl) throw new TargetError('the target names no master queue URL');
  if (!deps.tableName) throw new TargetError('the target names no idempotency table');
  const dlq = clientFor(deps, fromUrl);
  const max = options.max ?? Number.POSITIVE_INFINITY;
  const approximate = await queueDepth(dlq, fromUrl);
  const { onProgress, signal } = options;
  const reader = new QueueReader(dlq, fromUrl, {
    visibilitySeconds: options.visibilitySeconds ?? READ_DEFAULTS.visibilitySeconds,
    waitSeconds: options.waitSeconds ?? READ_DEFAULTS.waitSeconds,
    idleReceives: options.idleReceives ?? READ_DEFAULTS.idleReceives,
    ...(signal ? { signal } : {}),
  });
  const run: Run = {
    deps,
    reader,
    dlq,
    from: { name: queueName(fromUrl), url: fromUrl },
    master: clientFor(deps, toUrl),
    toUrl,
    dryRun: Boolean(options.dryRun),
    force: Boolean(options.force),
    includeNotJson: Boolean(options.includeNotJson),
    now: options.now ?? (() => new Date()),
    lifetime: options.recordLifetimeSeconds ?? DEFAULT_RECORD_LIFETIME_SECONDS,
    sent: new Set<string>(),
  };
  const entries: RedriveEntry[] = [];
  let notSelected = 0;
  let attempted = 0;
  let stoppedAtMax = false;
  let stillHidden = 0;

  try {
    reading: for await (const batch of reader.batches()) {
      for (const raw of batch) {
        if (signal?.aborted) break reading;
        if (attempted >= max) {
          stoppedAtMax = true;
          break reading;
        }
        const message = readDlqMessage(kind, raw);
        if (!selects(message, options)) {
          notSelected++;
          continue;
        }
        if (run.sent.has(message.messageId) || (message.sourceMessageId && run.sent.has(message.sourceMessageId))) {
          entries.push({
            messageId: message.messageId,
            ...(message.requestId ? { requestId: message.requestId } : {}),
            reason: baseReason(message),
            outcome: 'skipped',
            detail: 'a copy this run sent came back to the DLQ: not redriven twice in one run',
          });
          continue;
        }
        const entry = await redriveMessage(run, message);
        entries.push(entry);
        if (entry.outcome !== 'skipped') attempted++;
      }
      // At --max the next message read ends the run (and says so): a queue with nothing more is not "stopped".
      onProgress?.(reader.read, approximate.visible);
    }
  } finally {
    // Whatever was read and not moved (not selected, skipped, left at --max) is made visible again.
    stillHidden = (await reader.release()).length;
  }
  const counts: Record<RedriveOutcome, number> = { moved: 0, 'would-move': 0, skipped: 0, failed: 0 };
  for (const entry of entries) counts[entry.outcome]++;
  return {
    queue: kind,
    from: run.from,
    to: { name: queueName(toUrl), url: toUrl },
    dryRun: run.dryRun,
    approximate,
    read: reader.read,
    notSelected,
    entries,
    counts,
    stoppedAtMax,
    aborted: Boolean(signal?.aborted),
    stillHidden,
    ok: counts.failed === 0,
  };
}
