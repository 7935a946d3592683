/**
 * The pure part of `dlq` and `redrive`: what a dead-lettered message says about itself, how messages
 * group by reason, which ones a redrive selects, and what the idempotency record's state means for a
 * redrive. No SDK calls here (only the SQS message type); the operations (ops/dlq.ts, ops/redrive.ts,
 * ops/dlq-search.ts) do the I/O.
 */
import type { Message } from '@aws-sdk/client-sqs';
import { RECORD_STATUS, WORK_STATUS, requestRecordSchema, type RequestRecord } from '../../core/record.js';
import { inferenceRequestSchema } from '../../core/request.js';
import { MAX_RECEIVE_COUNT } from '../../core/topology.js';

export const DLQ_KINDS = ['dispatch', 'master', 'master-high'] as const;
export type DlqKind = (typeof DLQ_KINDS)[number];

export const DLQ_LABEL: Record<DlqKind, string> = { dispatch: 'dispatch DLQ', master: 'master DLQ', 'master-high': 'master high DLQ' };

/** The master queue's DLQs (its normal lane's and its high lane's): SQS moved their messages, without a reason. */
export const isMasterDlq = (kind: DlqKind): boolean => kind !== 'dispatch';

/** What a master-DLQ message is grouped under: SQS moved it there, so it carries no reason of ours. */
export const MASTER_DLQ_REASON = `failed ${MAX_RECEIVE_COUNT} receives (master queue redrive policy)`;
/** A dispatch-DLQ message without a `reason` attribute (should not happen: every writer sets one). */
export const NO_REASON = '(no reason attribute)';

/** Message attributes a redrive puts on the copy it sends to the master queue. */
export const REDRIVE_ATTRIBUTE = { from: 'redriven_from', reason: 'redrive_reason' } as const;
/** How much of the old reason travels with the redriven copy (characters). */
export const REDRIVE_REASON_CHARS = 300;

/** A message read from a DLQ, with what its attributes (or, failing those, its body) say. */
export interface DlqMessage {
  readonly queue: DlqKind;
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  /** The `reason` attribute, if any. */
  readonly reason?: string;
  /** The `request_id` attribute; else the body's request_id (bodyRequestId), valid request or not. */
  readonly requestId?: string;
  readonly requestIdFrom?: 'attribute' | 'body';
  /** The master-queue message this one came from (dispatch DLQ only). */
  readonly sourceMessageId?: string;
  /** Every String attribute, as read. */
  readonly attributes: Readonly<Record<string, string>>;
  readonly receiveCount?: number;
  /** When SQS first took the message into this queue (or the master queue, for a redrive-policy move). */
  readonly sentAt?: string;
}

/** The request_id rules the dispatch and the console apply (core/request.ts): 1 to 128 of A-Z a-z 0-9 . _ : - */
export const requestIdSchema = inferenceRequestSchema.shape.request_id;

/** Why a request_id is refused (the first rule it breaks), or undefined when it is one. */
export function requestIdProblem(id: string): string | undefined {
  const checked = requestIdSchema.safeParse(id);
  return checked.success ? undefined : (checked.error.issues[0]?.message ?? 'not a request_id');
}

/**
 * The request_id a dead-lettered body names, valid request or not: a JSON object whose request_id is a
 * string that keeps the request_id rules. An invalid request (a bad URL, an unknown priority) still names
 * its request, and an operator looks it up, lists it and redrives it by that id.
 */
export function bodyRequestId(body: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined; // not JSON: it names no request_id
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const id = (parsed as { request_id?: unknown }).request_id;
  return typeof id === 'string' && requestIdProblem(id) === undefined ? id : undefined;
}

/** A message's request_id: its `request_id` attribute, else its body's (bodyRequestId). */
export function messageRequestId(attributes: Readonly<Record<string, string | undefined>>, body: string): { requestId: string; from: 'attribute' | 'body' } | undefined {
  const attribute = attributes.request_id;
  if (attribute) return { requestId: attribute, from: 'attribute' };
  const fromBody = bodyRequestId(body);
  return fromBody ? { requestId: fromBody, from: 'body' } : undefined;
}

/**
 * Whether a DLQ message is a copy of this request, and by what: its request_id attribute, else the
 * request_id in its body. One rule for `status`, `dlq`, `redrive` and the console.
 */
export function namesRequest(message: Pick<DlqMessage, 'requestId' | 'requestIdFrom'>, requestId: string): 'attribute' | 'body' | undefined {
  return message.requestId === requestId ? (message.requestIdFrom ?? 'attribute') : undefined;
}

export function readDlqMessage(queue: DlqKind, message: Message): DlqMessage {
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    if (value.StringValue !== undefined) attributes[name] = value.StringValue;
  }
  const body = message.Body ?? '';
  const named = messageRequestId(attributes, body);
  const requestId = named?.requestId;
  const requestIdFrom = named?.from;
  const system = message.Attributes ?? {};
  const sent = Number(system.SentTimestamp);
  return {
    queue,
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body,
    ...(attributes.reason ? { reason: attributes.reason } : {}),
    ...(requestId ? { requestId, requestIdFrom } : {}),
    ...(attributes.source_message_id ? { sourceMessageId: attributes.source_message_id } : {}),
    attributes,
    ...(system.ApproximateReceiveCount ? { receiveCount: Number(system.ApproximateReceiveCount) } : {}),
    ...(Number.isFinite(sent) && sent > 0 ? { sentAt: new Date(sent).toISOString() } : {}),
  };
}

/** A record read from GetItem, or `invalid` when the item is not a record this code understands. */
export type RecordRead = { readonly found: false } | { readonly found: true; readonly record: RequestRecord } | { readonly found: true; readonly invalid: string };

export function readRecord(item: Record<string, unknown> | undefined): RecordRead {
  if (!item) return { found: false };
  const parsed = requestRecordSchema.safeParse(item);
  return parsed.success ? { found: true, record: parsed.data } : { found: true, invalid: parsed.error.issues[0]?.message ?? 'unreadable' };
}

/** The reason a message is listed and selected under (the record is not needed for it). */
export function baseReason(message: Pick<DlqMessage, 'queue' | 'reason'>): string {
  if (message.reason) return message.reason;
  return isMasterDlq(message.queue) ? MASTER_DLQ_REASON : NO_REASON;
}

/** The reason `dlq` groups a message under: for a master-DLQ message, what its record says too. */
export function listingReason(message: Pick<DlqMessage, 'queue' | 'reason'>, record?: RecordRead): string {
  const base = baseReason(message);
  if (!isMasterDlq(message.queue) || message.reason || !record?.found) return base;
  if ('invalid' in record) return `${base}; record unreadable`;
  const { status, reason } = record.record;
  return `${base}; record says ${status ?? 'no status'}${status === RECORD_STATUS.deadLettered && reason ? `: ${reason}` : ''}`;
}

export interface ReasonGroup {
  readonly reason: string;
  /** Messages read with this reason (copies of one request_id count each). */
  readonly count: number;
  /** Distinct request_ids, in the order read. */
  readonly requestIds: string[];
  /** Messages with no request_id (e.g. a body the intake found invalid). */
  readonly withoutRequestId: number;
  readonly messageIds: string[];
}

/** Groups by reason, largest group first (then by reason, so the order is stable). */
export function groupByReason(items: ReadonlyArray<{ reason: string; requestId?: string; messageId: string }>): ReasonGroup[] {
  const groups = new Map<string, { reason: string; count: number; requestIds: Set<string>; withoutRequestId: number; messageIds: string[] }>();
  for (const item of items) {
    let group = groups.get(item.reason);
    if (!group) groups.set(item.reason, (group = { reason: item.reason, count: 0, requestIds: new Set(), withoutRequestId: 0, messageIds: [] }));
    group.count++;
    group.messageIds.push(item.messageId);
    if (item.requestId) group.requestIds.add(item.requestId);
    else group.withoutRequestId++;
  }
  return [...groups.values()]
    .map((g) => ({ ...g, requestIds: [...g.requestIds] }))
    .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
}

/** Cuts by code points (never halves a surrogate pair), marking the cut. */
export function truncate(text: string, max: number): string {
  const points = Array.from(text);
  return points.length <= max ? text : `${points.slice(0, Math.max(0, max - 1)).join('')}…`;
}

export interface Selection {
  /** Case-insensitive substring of the message's reason. */
  readonly reason?: string;
  /** Only these request_ids (none given: any). */
  readonly requestIds?: readonly string[];
}

/** Whether a redrive selects this message. Both filters given: both must match. */
export function selects(message: Pick<DlqMessage, 'queue' | 'reason' | 'requestId'>, selection: Selection): boolean {
  if (selection.reason !== undefined && !baseReason(message).toLowerCase().includes(selection.reason.toLowerCase())) return false;
  if (selection.requestIds?.length && !(message.requestId && selection.requestIds.includes(message.requestId))) return false;
  return true;
}

/**
 * What the record means for a redrive:
 * - `reopen`: DEAD_LETTERED (or REDRIVEN by an earlier, interrupted redrive): set REDRIVEN, with a new
 *   expiry, first, then move;
 * - `move`: nothing to decide in the table (no request_id, no record, or a claim nobody settled: the
 *   dispatcher's claim decides), or `--force` past a skip (status left alone, expiry extended);
 * - `skip`: the request went out or was done: this DLQ copy is a duplicate; left in the DLQ.
 * What the request became is read before its expiry (docs/architecture.md, invariant 11): a record past expiresAt
 * that DynamoDB has not deleted yet still says the request was dispatched or completed, and moving its
 * copy as "expired" would have the claim take it as new and a worker process it again.
 */
export type Verdict =
  | { readonly action: 'reopen'; readonly note: string }
  | { readonly action: 'move'; readonly note: string; readonly forced?: boolean }
  | { readonly action: 'skip'; readonly note: string };

const at = (epochSeconds: number | undefined) => (epochSeconds ? new Date(epochSeconds * 1000).toISOString() : '?');

/** `now` in epoch seconds, as the record's times are. */
export function redriveVerdict(requestId: string | undefined, read: RecordRead, nowSeconds: number, force: boolean): Verdict {
  if (!requestId) return { action: 'move', note: 'no request_id: moved as is (the intake judges it again)' };
  if (!read.found) return { action: 'move', note: 'no record: the claim takes it as new' };
  const skip = (note: string): Verdict =>
    force
      ? {
          action: 'move',
          forced: true,
          note: `${note}; moved anyway (--force): status left alone, expiry extended so the record outlives this copy, which the dispatcher drops as a duplicate`,
        }
      : { action: 'skip', note: `${note}; left in the DLQ (--force to move it anyway)` };
  if ('invalid' in read) return skip(`record unreadable (${read.invalid})`);
  const record = read.record;
  const expired = record.expiresAt !== undefined && record.expiresAt < nowSeconds;
  const expiry = expired ? ` (its expiry ${at(record.expiresAt)} has passed)` : '';
  if (record.workStatus === WORK_STATUS.completed) {
    return skip(`record says a worker completed the request (${at(record.completedAt)})${expiry}: this DLQ copy is a duplicate`);
  }
  // The claim never takes over a record a worker has accepted: a copy sent now would not be dispatched.
  if (record.acceptedToken) return skip(`record says worker ${record.acceptedBy ?? '?'} accepted the request${expiry}: this DLQ copy is a duplicate`);
  switch (record.status) {
    case RECORD_STATUS.deadLettered:
      return { action: 'reopen', note: `record DEAD_LETTERED${expiry} -> REDRIVEN` };
    case RECORD_STATUS.redriven:
      return { action: 'reopen', note: 'record already REDRIVEN (an earlier redrive was interrupted) -> REDRIVEN' };
    case RECORD_STATUS.dispatched:
      return skip(
        `record DISPATCHED to ${record.region ?? '?'} at ${record.dispatchedAt ?? '?'}${expiry}: the request went out after all, this DLQ copy is a duplicate`,
      );
    case RECORD_STATUS.inProgress:
      return {
        action: 'move',
        note: expired
          ? `record IN_PROGRESS expired at ${at(record.expiresAt)}, never settled: left alone, the claim takes it over`
          : record.leaseUntil !== undefined && record.leaseUntil > nowSeconds
            ? `record IN_PROGRESS, claimed by ${record.owner ?? '?'} until ${at(record.leaseUntil)}: left alone, the claim decides (busy now, taken over when the lease ends)`
            : 'record IN_PROGRESS with its lease over: left alone, the claim takes it over',
      };
    default:
      return skip('record without a status');
  }
}

/** The attributes of the redriven copy: where it came from and why it had been dead-lettered. */
export function redriveAttributes(queueName: string, reason: string): Record<string, { DataType: 'String'; StringValue: string }> {
  return {
    [REDRIVE_ATTRIBUTE.from]: { DataType: 'String', StringValue: queueName || '?' },
    [REDRIVE_ATTRIBUTE.reason]: { DataType: 'String', StringValue: truncate(reason, REDRIVE_REASON_CHARS) || '?' },
  };
}

/** The queue name: the last path segment of its URL. */
export function queueName(url: string): string {
  return url.split('/').filter(Boolean).at(-1) ?? url;
}

/** The region a queue URL lives in (AWS or a local stack's URL), if it says. */
export function queueRegion(url: string): string | undefined {
  return /^https?:\/\/sqs[.-]([a-z0-9-]+)\.(?:amazonaws\.com|localhost)/.exec(url)?.[1];
}

/** A queue kind named by a user (the CLI's --queue): one of the allowed kinds, else undefined. */
export function parseQueueKind<K extends string>(value: string, allowed: readonly K[]): K | undefined {
  return (allowed as readonly string[]).includes(value) ? (value as K) : undefined;
}
