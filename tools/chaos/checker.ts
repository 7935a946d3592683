/**
 * A total-queue checker (Jepsen's, for this dispatcher): given what was sent and everything observed
 * after a chaos scenario, accounts for every request. Pure: no AWS import, no clock, no I/O; the
 * scenario runner (tools/chaos/harness.ts) gathers the observations.
 *
 *   sent:        master-queue messages: valid requests (some request_ids sent more than once on purpose)
 *                and malformed bodies with the corpus's expected outcome
 *   observed:    every copy found in a regional queue (received by a worker, or left at the end), every
 *                message in the dispatch DLQ, the master DLQ, the regional DLQs and the master queue; the
 *                workers' events (accepted, processed, dropped, crashed); the idempotency records; and
 *                the evidence of what the faults did (requests whose answer was lost, forwards crashed
 *                after sending, sends the forward confirmed)
 *
 * Per scenario it reports: sent, accepted by a worker exactly once, lost, accepted twice (processed more
 * than once), copies beyond the first (each attributed to a named window, tools/chaos/windows.ts, or
 * UNEXPLAINED), dead-lettered with and without a reason, still pending, and the time to drain; and three
 * checks that must find nothing: a request failed over or dead-lettered by the execution whose own attempt
 * for it went unanswered (DESIGN invariant 10), a request both in a region and in the dispatch DLQ, and a
 * DEAD_LETTERED record completed by a worker.
 *
 * Executions: a copy's execution is its `execution` attribute, or the one that sent its token (the hooks'
 * forward log, the proxies' bodies). Every delivery of a master message runs under an execution name of
 * its own (the intake names it from the batch's message ids and the second), so "a later delivery" is
 * "another execution name"; two runs under one name (the SDK retrying StartSyncExecution) count as one.
 *
 * Definitions:
 * - a request is completed when a worker processed it (workers' events; a COMPLETED record counts too);
 *   accepted twice = processed more than once, whatever the tokens.
 * - lost = a valid request (or a malformed message) that is neither completed, nor in the dispatch DLQ
 *   with a reason, nor pending (still in the master queue or, unprocessed, in a regional queue).
 *   A request only in the master DLQ or a regional DLQ (no reason) is lost, and counted as
 *   dead-lettered without a reason.
 * - a copy is one message in one queue (a regional queue's message id; a DLQ message); its redeliveries
 *   are the same copy. The kept copy of a request is the one its record committed (its token), else the
 *   one a worker processed, else the first seen; every other copy is an extra copy.
 */
import { REGION_UNCONFIRMED } from '../../core/errors.js';
import { UNEXPLAINED, WINDOWS, type Attribution, type WindowName } from './windows.js';

// ---------------------------------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------------------------------

export type Expected = { readonly result: 'dispatch'; readonly requestId: string } | { readonly result: 'dead-letter'; readonly reason: RegExp };

export interface SentMessage {
  /** The master queue's message id (what DLQ copies name in source_message_id). */
  readonly masterMessageId: string;
  /** request: a valid request; repeat: a request_id sent before; malformed: a corpus case. */
  readonly kind: 'request' | 'repeat' | 'malformed';
  /** Valid requests: their request_id. */
  readonly requestId?: string;
  /** Malformed: the corpus case's name and what must become of it. */
  readonly caseName?: string;
  readonly expected?: Expected;
  /** The body as sent, to check that a dispatched copy is unchanged (optional). */
  readonly body?: string;
}

export type QueueKind = 'region' | 'regional-dlq' | 'dispatch-dlq' | 'master-dlq' | 'master';

export interface ObservedMessage {
  readonly queue: QueueKind;
  /** region and regional-dlq: which region. */
  readonly region?: string;
  /** The queue's message id (a regional copy's identity; its redeliveries share it). */
  readonly messageId: string;
  /** From the message attributes (request_id), else the body's request_id. */
  readonly requestId?: string;
  readonly token?: string;
  /** The `reason` message attribute (dispatch DLQ). */
  readonly reason?: string;
  /** The `source_message_id` attribute: the master message a DLQ copy came from. */
  readonly sourceMessageId?: string;
  /** The `execution` attribute: the name of the execution that sent it (one per delivery of a master message). */
  readonly execution?: string;
  /** The intake's DLQ copy of an invalid message: its `batch_id` and the master message's `receive_count` then. */
  readonly batchId?: string;
  readonly receiveCount?: number;
  readonly body?: string;
  /** Still in its queue when the run ended (not taken by a worker). */
  readonly leftAtEnd: boolean;
}

export type WorkKind = 'received' | 'processed' | 'dropped' | 'crashed' | 'deferred';

export interface WorkEvent {
  readonly kind: WorkKind;
  readonly region: string;
  readonly workerId: string;
  readonly messageId: string;
  readonly requestId?: string;
  readonly token?: string;
  readonly reason?: string;
}

/** The parts of an idempotency record the checker reads (core/record.ts). */
export interface RecordView {
  readonly requestId: string;
  readonly status?: string;
  readonly token?: string;
  readonly tokens?: readonly string[];
  readonly triedRegion?: string;
  readonly triedToken?: string;
  readonly workStatus?: string;
  readonly acceptedToken?: string;
  readonly acceptedBy?: string;
  readonly completedAt?: number;
  readonly reason?: string;
}

/** One copy a send put (or may have put) somewhere: which request, which token, which region. */
export interface SentCopy {
  readonly region: string;
  readonly requestId: string;
  readonly token: string;
  /** The execution that sent it, when known (the forward's input, the send's `execution` attribute). */
  readonly execution?: string;
}

/** An attempt that sent to a region and heard nothing back: its copies' tokens are unknown. */
export interface AttemptedCopy {
  readonly region: string;
  readonly requestId: string;
  readonly execution?: string;
}

export interface Evidence {
  /**
   * Sends that reached a queue without their caller hearing so: entries of faulted requests that the
   * target applied (lose-answer, delay), placements the forward reported unconfirmed.
   */
  readonly unansweredSends: readonly SentCopy[];
  /** What forwards that the chaos hook crashed after they ran had sent. */
  readonly crashedForwards: readonly SentCopy[];
  /** Sends the forward function confirmed (placements it returned as dispatched). */
  readonly confirmedSends: readonly SentCopy[];
  /**
   * Forwards that ended RegionUnconfirmed: they sent to the region and no answer came in time (a timeout
   * can fire after the queue took the batch), so a copy may be there under a token nobody returned.
   */
  readonly unansweredAttempts?: readonly AttemptedCopy[];
  /** DLQ sends whose answer was lost: by request_id (workflow) or by source message id (intake). */
  readonly unansweredDeadLetters: ReadonlyArray<{ readonly requestId?: string; readonly sourceMessageId?: string }>;
}

export interface Observations {
  readonly messages: readonly ObservedMessage[];
  readonly work: readonly WorkEvent[];
  readonly records: readonly RecordView[];
  readonly evidence: Evidence;
  /** From the first send until nothing was left to do; undefined when the run ended first. */
  readonly drainMs?: number;
}

// ---------------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------------

export interface ExtraCopy {
  /** request_id, or for malformed input `message <master message id>`. */
  readonly item: string;
  readonly queue: QueueKind;
  readonly region?: string;
  readonly messageId: string;
  readonly token?: string;
  readonly window: Attribution;
  /** Why that window (or why none). */
  readonly why: string;
}

export interface BadInputMismatch {
  readonly caseName: string;
  readonly masterMessageId: string;
  readonly expected: string;
  readonly found: string;
}

export interface CheckResult {
  /** Master-queue messages sent. */
  readonly sent: number;
  /** Distinct valid request_ids among them (corpus cases the schema accepts included). */
  readonly uniqueRequests: number;
  readonly repeats: number;
  readonly malformed: number;
  /** Valid requests processed by a worker exactly once. */
  readonly acceptedOnce: number;
  readonly lost: readonly string[];
  /** Requests processed more than once (must be 0). */
  readonly acceptedTwice: readonly string[];
  readonly extraCopies: readonly ExtraCopy[];
  readonly extraByWindow: Readonly<Partial<Record<Attribution, number>>>;
  readonly unexplained: readonly ExtraCopy[];
  /** Items (requests, malformed messages) in the dispatch DLQ with a reason. */
  readonly deadLetteredWithReason: number;
  /** Items dead-lettered only without a reason (master DLQ, regional DLQ, a reasonless copy), not completed. */
  readonly deadLetteredWithoutReason: readonly string[];
  /** Master-DLQ messages of requests completed all the same (a redelivery storm leaves these). */
  readonly masterDlqOfCompleted: number;
  /** Items neither completed nor dead-lettered, still in the master queue or a regional queue. */
  readonly pending: readonly string[];
  readonly drainMs?: number;
  readonly badInput: readonly BadInputMismatch[];
  /** Same token accepted again after the worker holding it died (worker crashes; not a failure). */
  readonly reacceptedAfterCrash: number;
  /**
   * Requests an execution failed over or dead-lettered after one of its own attempts for them went
   * unanswered (one line each, naming the execution). Must be empty.
   */
  readonly sameExecution: readonly string[];
  /** Requests found in a region (a regional queue or its DLQ) and in the dispatch DLQ. Must be empty. */
  readonly dispatchedAndDeadLettered: readonly string[];
  /** Requests whose record is DEAD_LETTERED and that a worker completed all the same. Must be empty. */
  readonly deadLetteredCompleted: readonly string[];
  /** One sentence per failure; empty when the scenario passes. */
  readonly problems: readonly string[];
  readonly ok: boolean;
}

// ---------------------------------------------------------------------------------------------------
// The check
// ---------------------------------------------------------------------------------------------------

const key = (copy: { region: string; requestId: string; token: string }) => `${copy.region}\u0000${copy.requestId}\u0000${copy.token}`;

function index<T>(items: readonly T[], by: (item: T) => string | undefined): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const k = by(item);
    if (k === undefined) continue;
    const list = map.get(k);
    if (list) list.push(item);
    else map.set(k, [item]);
  }
  return map;
}

const hasReason = (m: ObservedMessage) => m.queue === 'dispatch-dlq' && typeof m.reason === 'string' && m.reason.trim() !== '';

/** One copy per queue message: worker receipts and end-of-run drains of the same message merge. */
function distinctMessages(messages: readonly ObservedMessage[]): ObservedMessage[] {
  const seen = new Map<string, ObservedMessage>();
  for (const m of messages) {
    const k = `${m.queue}\u0000${m.region ?? ''}\u0000${m.messageId}`;
    const before = seen.get(k);
    // A message seen by a worker and still there at the end is left at the end.
    if (!before || (m.leftAtEnd && !before.leftAtEnd)) seen.set(k, { ...before, ...m });
  }
  return [...seen.values()];
}

interface Ambiguity {
  readonly unanswered: Set<string>;
  readonly crashed: Set<string>;
  readonly confirmed: Set<string>;
  /** region + request_id -> the executions whose attempt there went unanswered. */
  readonly attempted: ReadonlyMap<string, readonly (string | undefined)[]>;
  /** Dispatch token -> the execution that sent it. */
  readonly executionOf: ReadonlyMap<string, string>;
}

const executionOf = (copy: ObservedMessage | undefined, seen: Ambiguity) => copy?.execution ?? (copy?.token ? seen.executionOf.get(copy.token) : undefined);

export const SAME_EXECUTION_FAILOVER = 'failed over after an unanswered attempt in the same execution';
export const SAME_EXECUTION_DEAD_LETTER = 'dead-lettered after an unanswered attempt in the same execution';

/**
 * A copy left by an attempt without an answer, and the kept copy elsewhere: a failover is a named window
 * only when it came on a later delivery of the master message (another execution), never in the
 * execution whose attempt went unanswered (DESIGN invariant 10).
 */
function elsewhere(
  copy: ObservedMessage,
  kept: ObservedMessage | undefined,
  seen: Ambiguity,
  source: string,
  window: WindowName,
): { window: Attribution; why: string } {
  const region = copy.region ?? '';
  const mine = executionOf(copy, seen);
  const theirs = executionOf(kept, seen);
  const where = kept?.queue === 'region' ? `the kept copy is in ${kept.region}` : 'the request was dead-lettered';
  if (mine !== undefined && mine === theirs) {
    const what = kept?.queue === 'region' ? SAME_EXECUTION_FAILOVER : SAME_EXECUTION_DEAD_LETTER;
    return { window: UNEXPLAINED, why: `${what} (${mine}): ${source} to ${region}; ${where}` };
  }
  if (kept?.queue !== 'region') return { window: UNEXPLAINED, why: `${source} to ${region}, and ${where} (a dead-lettered request must not also be dispatched)` };
  if (mine === undefined || theirs === undefined) {
    return { window: UNEXPLAINED, why: `${source} to ${region}; ${where}, and no evidence says which execution sent ${mine === undefined ? 'it' : 'the kept copy'} (a failover counts only on a later delivery)` };
  }
  return { window, why: `${source} to ${region} by ${mine}; ${where}, placed by a later execution, ${theirs}` };
}

function attributeRegional(
  copy: ObservedMessage,
  kept: ObservedMessage | undefined,
  copies: readonly ObservedMessage[],
  record: RecordView | undefined,
  seen: Ambiguity,
): { window: Attribution; why: string } {
  const requestId = copy.requestId ?? '';
  const region = copy.region ?? '';
  if (!copy.token) return { window: UNEXPLAINED, why: 'a copy without a dispatch token' };
  const k = key({ region, requestId, token: copy.token });
  const sameToken = copies.filter((c) => c !== copy && c.token === copy.token);
  if (sameToken.length) {
    return seen.unanswered.has(k)
      ? { window: WINDOWS.sdkResend, why: `token ${copy.token} twice in ${region}; a request carrying it reached the queue without its answer` }
      : { window: UNEXPLAINED, why: `token ${copy.token} twice in ${region} and no lost answer carried it` };
  }
  const sameRegion = kept?.queue === 'region' && kept.region === region;
  if (seen.crashed.has(k)) {
    return sameRegion
      ? { window: WINDOWS.forwardCrash, why: `token ${copy.token} was sent by a forward that crashed after sending` }
      : elsewhere(copy, kept, seen, `token ${copy.token} sent by a forward that crashed after sending`, WINDOWS.forwardCrash);
  }
  const triedToken = record?.triedToken === copy.token && record?.triedRegion === region;
  if (seen.unanswered.has(k) || triedToken) {
    const source = triedToken ? "the record's triedToken" : 'a send without an answer';
    return sameRegion ? { window: WINDOWS.unconfirmedSend, why: `${source} to ${region}, retried there` } : elsewhere(copy, kept, seen, source, WINDOWS.ambiguousFailover);
  }
  if (seen.confirmed.has(k) && !(record?.tokens ?? []).includes(copy.token)) {
    const committed = kept?.token && (record?.tokens ?? []).includes(kept.token) ? `; ${kept.token} was` : '; neither was the other';
    return { window: WINDOWS.commitLost, why: `token ${copy.token} was confirmed by its forward but never committed${committed}` };
  }
  const attempts = record?.token === copy.token ? undefined : seen.attempted.get(`${region}\u0000${requestId}`);
  if (attempts?.length) {
    const by = attempts.find((e) => e !== undefined);
    const source = `an attempt to ${region}${by ? ` by ${by}` : ''} that went unanswered (${REGION_UNCONFIRMED})`;
    if (sameRegion) return { window: WINDOWS.unconfirmedSend, why: `${source}, retried there` };
    return elsewhere({ ...copy, ...(by ? { execution: by } : {}) }, kept, seen, source, WINDOWS.ambiguousFailover);
  }
  return { window: UNEXPLAINED, why: `no evidence explains token ${copy.token} in ${region}` };
}

/**
 * Executions that failed a request over, or dead-lettered it, after one of their own attempts for it went
 * unanswered (a send without an answer, a forward that crashed after sending): the copies of one request
 * grouped by the execution that sent them.
 */
function sameExecutionViolations(all: readonly ObservedMessage[], requestId: string, seen: Ambiguity): string[] {
  const byExecution = new Map<string, ObservedMessage[]>();
  for (const m of all) {
    if (m.queue !== 'region' && m.queue !== 'regional-dlq' && m.queue !== 'dispatch-dlq') continue;
    const execution = executionOf(m, seen);
    if (execution === undefined) continue;
    byExecution.set(execution, [...(byExecution.get(execution) ?? []), m]);
  }
  const found: string[] = [];
  for (const [execution, copies] of byExecution) {
    const unanswered = copies.filter((c) => {
      if (!c.token || (c.queue !== 'region' && c.queue !== 'regional-dlq')) return false;
      const k = key({ region: c.region ?? '', requestId, token: c.token });
      return seen.unanswered.has(k) || seen.crashed.has(k);
    });
    if (!unanswered.length) continue;
    const tried = new Set(unanswered.map((c) => c.region));
    const other = copies.find((c) => c.queue !== 'dispatch-dlq' && !tried.has(c.region));
    const dlq = copies.find((c) => c.queue === 'dispatch-dlq');
    if (other) found.push(`${requestId}: ${SAME_EXECUTION_FAILOVER} ${execution} (unanswered in ${[...tried].join(', ')}, then sent to ${other.region})`);
    if (dlq) found.push(`${requestId}: ${SAME_EXECUTION_DEAD_LETTER} ${execution} (unanswered in ${[...tried].join(', ')})`);
  }
  return found;
}

/** The copy to keep: the committed one, else the processed one, else the first seen. */
function keptCopy(copies: readonly ObservedMessage[], record: RecordView | undefined, processedTokens: ReadonlySet<string>): ObservedMessage | undefined {
  const regional = copies.filter((c) => c.queue === 'region');
  return (
    regional.find((c) => c.token !== undefined && c.token === record?.token) ??
    regional.find((c) => c.token !== undefined && (record?.tokens ?? []).includes(c.token)) ??
    regional.find((c) => c.token !== undefined && processedTokens.has(c.token)) ??
    (record?.status === 'DEAD_LETTERED' ? copies.find((c) => c.queue === 'dispatch-dlq') : undefined) ??
    copies[0]
  );
}

export function checkScenario(sent: readonly SentMessage[], observed: Observations): CheckResult {
  const problems: string[] = [];
  const messages = distinctMessages(observed.messages);
  const records = new Map(observed.records.map((r) => [r.requestId, r]));
  const seen: Ambiguity = {
    unanswered: new Set(observed.evidence.unansweredSends.map(key)),
    crashed: new Set(observed.evidence.crashedForwards.map(key)),
    confirmed: new Set(observed.evidence.confirmedSends.map(key)),
    attempted: (observed.evidence.unansweredAttempts ?? []).reduce((map, a) => {
      const k = `${a.region}\u0000${a.requestId}`;
      return map.set(k, [...(map.get(k) ?? []), a.execution]);
    }, new Map<string, (string | undefined)[]>()),
    executionOf: new Map(
      [...observed.evidence.unansweredSends, ...observed.evidence.crashedForwards, ...observed.evidence.confirmedSends, ...messages].flatMap((c) =>
        c.token && c.execution ? [[c.token, c.execution] as const] : [],
      ),
    ),
  };
  const deadLetterEvidence = {
    byRequest: new Set(observed.evidence.unansweredDeadLetters.flatMap((e) => (e.requestId ? [e.requestId] : []))),
    bySource: new Set(observed.evidence.unansweredDeadLetters.flatMap((e) => (e.sourceMessageId ? [e.sourceMessageId] : []))),
  };

  // What was sent: valid request_ids, and malformed messages tracked one by one.
  const masterIds = new Map(sent.map((m) => [m.masterMessageId, m]));
  const validIds = new Set<string>();
  for (const m of sent) {
    if (m.kind !== 'malformed' && m.requestId) validIds.add(m.requestId);
    if (m.kind === 'malformed' && m.expected?.result === 'dispatch') validIds.add(m.expected.requestId);
  }
  const malformedToDeadLetter = sent.filter((m) => m.kind === 'malformed' && m.expected?.result === 'dead-letter');
  const requestOfMaster = (id: string | undefined): string | undefined => {
    const m = id === undefined ? undefined : masterIds.get(id);
    return m?.requestId ?? (m?.expected?.result === 'dispatch' ? m.expected.requestId : undefined);
  };

  // Work: completions per request, crashes per token.
  const processed = index(
    observed.work.filter((w) => w.kind === 'processed' && w.requestId),
    (w) => w.requestId,
  );
  const completedInRecord = new Set(observed.records.filter((r) => r.workStatus === 'COMPLETED').map((r) => r.requestId));
  const completions = (id: string) => Math.max(processed.get(id)?.length ?? 0, completedInRecord.has(id) ? 1 : 0);
  const crashedTokens = new Set(observed.work.filter((w) => w.kind === 'crashed' && w.token).map((w) => w.token as string));
  const reacceptedAfterCrash = observed.work.filter((w) => w.kind === 'processed' && w.token && crashedTokens.has(w.token)).length;

  // Messages by what they belong to.
  const requestOf = (m: ObservedMessage) => m.requestId ?? requestOfMaster(m.sourceMessageId) ?? requestOfMaster(m.messageId);
  const byRequest = index(messages, (m) => {
    const id = requestOf(m);
    return id !== undefined && validIds.has(id) ? id : undefined;
  });
  const bySource = index(
    messages.filter((m) => m.queue !== 'region'),
    (m) => (m.queue === 'master' || m.queue === 'master-dlq' ? m.messageId : m.sourceMessageId),
  );

  const extraCopies: ExtraCopy[] = [];
  const sameExecution: string[] = [];
  const dispatchedAndDeadLettered: string[] = [];
  const deadLetteredCompleted: string[] = [];
  const lost: string[] = [];
  const acceptedTwice: string[] = [];
  const withoutReason: string[] = [];
  const pending: string[] = [];
  let acceptedOnce = 0;
  let withReason = 0;
  let masterDlqOfCompleted = 0;

  for (const id of [...validIds].sort()) {
    const all = byRequest.get(id) ?? [];
    const record = records.get(id);
    const done = completions(id);
    if (done === 1) acceptedOnce++;
    if (done > 1) acceptedTwice.push(id);
    const reasoned = all.some(hasReason);
    if (reasoned) withReason++;
    if (done > 0) masterDlqOfCompleted += all.filter((m) => m.queue === 'master-dlq').length;
    const waiting = all.some((m) => m.queue === 'master' || (m.queue === 'region' && m.leftAtEnd));
    const reasonless = all.some((m) => m.queue === 'master-dlq' || m.queue === 'regional-dlq' || (m.queue === 'dispatch-dlq' && !hasReason(m)));
    if (!done && !reasoned) {
      if (waiting) pending.push(id);
      else lost.push(id);
      if (reasonless) withoutReason.push(id);
    }

    sameExecution.push(...sameExecutionViolations(all, id, seen));
    // A dead-lettered request is never also dispatched, and never completed once dead-lettered.
    if (all.some((m) => m.queue === 'dispatch-dlq') && all.some((m) => m.queue === 'region' || m.queue === 'regional-dlq')) dispatchedAndDeadLettered.push(id);
    if (record?.status === 'DEAD_LETTERED' && (record.workStatus === 'COMPLETED' || (processed.get(id)?.length ?? 0) > 0)) deadLetteredCompleted.push(id);

    // Copies: regional ones (a regional DLQ message is a regional copy moved there) and dispatch-DLQ ones.
    const copies = [
      ...all.filter((m) => m.queue === 'region'),
      ...all.filter((m) => m.queue === 'regional-dlq' && !all.some((c) => c.queue === 'region' && c.token === m.token)).map((m) => ({ ...m, queue: 'region' as const })),
      ...all.filter((m) => m.queue === 'dispatch-dlq'),
    ];
    if (copies.length <= 1) continue;
    const processedTokens = new Set((processed.get(id) ?? []).flatMap((w) => (w.token ? [w.token] : [])));
    const kept = keptCopy(copies, record, processedTokens);
    const regionalKept = copies.some((c) => c.queue === 'region');
    for (const copy of copies) {
      if (copy === kept) continue;
      let attribution: { window: Attribution; why: string };
      if (copy.queue === 'dispatch-dlq') {
        attribution = regionalKept
          ? { window: UNEXPLAINED, why: 'in the dispatch DLQ and also forwarded to a region (a dead-lettered request must not also be dispatched)' }
          : deadLetterEvidence.byRequest.has(id)
            ? { window: WINDOWS.deadLetterResent, why: 'its dead-letter send reached the DLQ without an answer' }
            : { window: UNEXPLAINED, why: 'a second DLQ copy and no lost answer on a dead-letter send' };
      } else {
        attribution = attributeRegional(copy, kept, copies, record, seen);
      }
      extraCopies.push({
        item: id,
        queue: copy.queue,
        ...(copy.region ? { region: copy.region } : {}),
        messageId: copy.messageId,
        ...(copy.token ? { token: copy.token } : {}),
        ...attribution,
      });
    }
  }

  // Malformed messages the corpus wants dead-lettered: once, with a reason that names the problem.
  const badInput: BadInputMismatch[] = [];
  for (const m of malformedToDeadLetter) {
    const item = `message ${m.masterMessageId} (${m.caseName ?? 'malformed'})`;
    const all = bySource.get(m.masterMessageId) ?? [];
    const dlq = all.filter((c) => c.queue === 'dispatch-dlq');
    const reasoned = dlq.filter(hasReason);
    const expected = m.expected?.result === 'dead-letter' ? m.expected.reason : undefined;
    if (reasoned.length) {
      withReason++;
      const bad = reasoned.find((c) => expected && !expected.test(c.reason ?? ''));
      if (bad) badInput.push({ caseName: m.caseName ?? '?', masterMessageId: m.masterMessageId, expected: `a reason matching ${String(expected)}`, found: `reason "${bad.reason}"` });
    } else if (all.some((c) => c.queue === 'master')) {
      pending.push(item);
    } else {
      lost.push(item);
      if (all.length) withoutReason.push(item);
    }
    // A later delivery of the master message (another batch, a higher receive count) that sent it again
    // before the earlier delivery's marker was written or could be read (aws/intake-dead-letters.ts).
    const deliveries = new Set(dlq.map((c) => c.batchId ?? '?'));
    const redelivered = deliveries.size > 1 && !deliveries.has('?') && dlq.some((c) => (c.receiveCount ?? 1) > 1);
    for (const extra of dlq.slice(1)) {
      const resent = deadLetterEvidence.bySource.has(m.masterMessageId);
      extraCopies.push({
        item,
        queue: 'dispatch-dlq',
        messageId: extra.messageId,
        window: resent || redelivered ? WINDOWS.deadLetterResent : UNEXPLAINED,
        why: resent
          ? 'its dead-letter send reached the DLQ without an answer'
          : redelivered
            ? `a redelivery of its master message (receive ${Math.max(...dlq.map((c) => c.receiveCount ?? 1))}, another batch) sent it again before the earlier delivery's marker was written or could be read`
            : 'dead-lettered more than once and no lost answer or redelivery explains it',
      });
    }
  }
  // Corpus cases the schema accepts: dispatched unchanged, never dead-lettered.
  for (const m of sent.filter((s) => s.kind === 'malformed' && s.expected?.result === 'dispatch')) {
    const requestId = (m.expected as { requestId: string }).requestId;
    const all = byRequest.get(requestId) ?? [];
    if (all.some((c) => c.queue === 'dispatch-dlq')) {
      badInput.push({ caseName: m.caseName ?? '?', masterMessageId: m.masterMessageId, expected: 'dispatched', found: 'in the dispatch DLQ' });
    }
    const changed = m.body === undefined ? undefined : all.find((c) => c.queue === 'region' && c.body !== undefined && c.body !== m.body);
    if (changed) badInput.push({ caseName: m.caseName ?? '?', masterMessageId: m.masterMessageId, expected: 'the body forwarded unchanged', found: `a copy in ${changed.region} with another body` });
  }

  const extraByWindow: Partial<Record<Attribution, number>> = {};
  for (const extra of extraCopies) extraByWindow[extra.window] = (extraByWindow[extra.window] ?? 0) + 1;
  const unexplained = extraCopies.filter((e) => e.window === UNEXPLAINED);

  const list = (ids: readonly string[]) => `${ids.slice(0, 5).join(', ')}${ids.length > 5 ? `, ... (${ids.length})` : ''}`;
  if (lost.length) problems.push(`lost ${lost.length}: ${list(lost)}`);
  if (acceptedTwice.length) problems.push(`processed more than once ${acceptedTwice.length}: ${list(acceptedTwice)}`);
  const unexplainedBy = index(unexplained, (u) => `${u.item}\u0000${u.region ?? u.queue}\u0000${u.why}`);
  for (const group of unexplainedBy.values()) {
    const u = group[0] as ExtraCopy;
    const copies = group.length === 1 ? `copy (message ${u.messageId})` : `${group.length} copies`;
    problems.push(`UNEXPLAINED ${copies} of ${u.item} in ${u.region ?? u.queue}: ${u.why}`);
  }
  if (sameExecution.length) problems.push(`unanswered, then failed over or dead-lettered in the same execution ${sameExecution.length}: ${list(sameExecution)}`);
  if (dispatchedAndDeadLettered.length) problems.push(`both dispatched and dead-lettered ${dispatchedAndDeadLettered.length}: ${list(dispatchedAndDeadLettered)}`);
  if (deadLetteredCompleted.length) problems.push(`DEAD_LETTERED yet completed by a worker ${deadLetteredCompleted.length}: ${list(deadLetteredCompleted)}`);
  for (const b of badInput) problems.push(`bad input ${b.caseName}: expected ${b.expected}, found ${b.found}`);

  const windowNames = new Set<string>(Object.values(WINDOWS));
  for (const name of Object.keys(extraByWindow)) {
    if (name !== UNEXPLAINED && !windowNames.has(name)) problems.push(`unknown window ${name}`);
  }

  return {
    sent: sent.length,
    uniqueRequests: validIds.size,
    repeats: sent.filter((m) => m.kind === 'repeat').length,
    malformed: sent.filter((m) => m.kind === 'malformed').length,
    acceptedOnce,
    lost,
    acceptedTwice,
    extraCopies,
    extraByWindow,
    unexplained,
    deadLetteredWithReason: withReason,
    deadLetteredWithoutReason: withoutReason,
    masterDlqOfCompleted,
    pending,
    ...(observed.drainMs === undefined ? {} : { drainMs: observed.drainMs }),
    badInput,
    reacceptedAfterCrash,
    sameExecution,
    dispatchedAndDeadLettered,
    deadLetteredCompleted,
    problems,
    ok: problems.length === 0,
  };
}

export type { Attribution, WindowName };
