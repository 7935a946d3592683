/**
 * The checks run after every explored run (docs/architecture.md, the invariants). Pure: plain data in, violations out.
 *
 * - lost: every message taken is in a regional queue, the dispatch DLQ, or back in the master queue
 * - failover-after-unanswered: no message is failed over or dead-lettered after an attempt that held it
 *   went unanswered in the same execution (invariant 10)
 * - dispatched-and-dead-lettered: no request both in a regional queue and in the dispatch DLQ
 * - accepted-twice: no request accepted by two workers
 * - dead-lettered-completed: no DEAD_LETTERED record completed
 * - unexplained-copy: every copy beyond the kept one is attributed to a named window, with its evidence
 */
import type { AttemptLog, CopyView, RecordView, RunView } from './observation.js';
import { UNEXPLAINED, WINDOWS, type Attribution } from './windows.js';

export const CHECKS = [
  'lost',
  'failover-after-unanswered',
  'dispatched-and-dead-lettered',
  'accepted-twice',
  'dead-lettered-completed',
  'unexplained-copy',
] as const;
export type CheckName = (typeof CHECKS)[number];

export interface Violation {
  readonly check: CheckName;
  readonly requestId: string;
  readonly detail: string;
}

export interface ExtraCopy {
  readonly requestId: string;
  readonly where: string;
  readonly token?: string;
  readonly window: Attribution;
  readonly why: string;
}

export interface CheckReport {
  readonly violations: readonly Violation[];
  readonly extraCopies: readonly ExtraCopy[];
}

const DEAD_LETTERED = 'DEAD_LETTERED';
const COMPLETED = 'COMPLETED';
const copyKey = (region: string, token: string) => `${region}\u0000${token}`;

function lost(run: RunView): Violation[] {
  const out: Violation[] = [];
  for (const m of run.messages) {
    const somewhere = run.copies.some((c) => c.requestId === m.requestId);
    // The last execution that had the message decides whether it went back to the master queue.
    const last = [...run.executions].reverse().find((e) => e.outcomes.some((o) => o.messageId === m.messageId));
    const outcome = last?.outcomes.find((o) => o.messageId === m.messageId);
    if (somewhere || outcome?.outcome === 'retry') continue;
    out.push({
      check: 'lost',
      requestId: m.requestId,
      detail: `in no regional queue, not in the dispatch DLQ, not retried (last outcome ${outcome?.outcome ?? 'none'}${outcome?.reason ? `: ${outcome.reason}` : ''})`,
    });
  }
  return out;
}

function failoverAfterUnanswered(attempts: readonly AttemptLog[]): Violation[] {
  const out: Violation[] = [];
  const reported = new Set<string>();
  const ordered = [...attempts].sort((a, b) => a.seq - b.seq);
  for (const [i, first] of ordered.entries()) {
    if (first.role !== 'forward' && first.role !== 'failover') continue;
    for (const requestId of first.unanswered) {
      const later = ordered
        .slice(i + 1)
        .find((a) => a.execution === first.execution && (a.role === 'failover' || a.role === 'dead-letter') && a.holds.includes(requestId));
      const key = `${requestId}\u0000${first.execution}`;
      if (!later || reported.has(key)) continue;
      reported.add(key);
      out.push({
        check: 'failover-after-unanswered',
        requestId,
        detail:
          `${first.state} attempt ${first.attempt} went unanswered${first.fault ? ` (${first.fault})` : ''}, ` +
          `then ${later.role === 'failover' ? 'failed over by' : 'dead-lettered by'} ${later.state} attempt ${later.attempt}`,
      });
    }
  }
  return out;
}

function dispatchedAndDeadLettered(run: RunView): Violation[] {
  const ids = new Set(run.copies.filter((c) => c.queue === 'dlq').map((c) => c.requestId));
  return [...ids]
    .filter((id) => run.copies.some((c) => c.queue === 'region' && c.requestId === id))
    .map((requestId) => ({
      check: 'dispatched-and-dead-lettered' as const,
      requestId,
      detail: `in ${run.copies.filter((c) => c.queue === 'region' && c.requestId === requestId).map((c) => c.region).join(', ')} and in the dispatch DLQ`,
    }));
}

function acceptedTwice(run: RunView): Violation[] {
  const byRequest = new Map<string, Set<string>>();
  for (const w of run.work) {
    if (w.result !== 'accepted' && w.result !== 'completed') continue;
    byRequest.set(w.requestId, (byRequest.get(w.requestId) ?? new Set()).add(w.workerId));
  }
  return [...byRequest]
    .filter(([, workers]) => workers.size > 1)
    .map(([requestId, workers]) => ({ check: 'accepted-twice' as const, requestId, detail: `accepted by ${[...workers].join(' and ')}` }));
}

function deadLetteredCompleted(run: RunView): Violation[] {
  return run.records
    .filter((r) => r.status === DEAD_LETTERED && (r.workStatus === COMPLETED || run.work.some((w) => w.requestId === r.requestId && w.result === 'completed')))
    .map((r) => ({ check: 'dead-lettered-completed' as const, requestId: r.requestId, detail: 'the record is DEAD_LETTERED and a worker completed a copy' }));
}

/** The copy to keep: the committed one, else the dead-lettered one, else the first found. */
function keptCopy(copies: readonly CopyView[], record: RecordView | undefined): CopyView | undefined {
  const regional = copies.filter((c) => c.queue === 'region');
  return (
    regional.find((c) => c.token !== undefined && c.token === record?.token) ??
    regional.find((c) => c.token !== undefined && (record?.tokens ?? []).includes(c.token)) ??
    (record?.status === DEAD_LETTERED ? copies.find((c) => c.queue === 'dlq') : undefined) ??
    copies[0]
  );
}

interface Known {
  readonly unanswered: Set<string>;
  readonly answerLost: Map<string, AttemptLog>;
  readonly confirmed: Set<string>;
  readonly executionOrder: Map<string, number>;
}

function attribute(copy: CopyView, kept: CopyView | undefined, copies: readonly CopyView[], record: RecordView | undefined, known: Known): { window: Attribution; why: string } {
  const region = copy.region ?? '';
  if (!copy.token) return { window: UNEXPLAINED, why: 'a regional copy without a dispatch token' };
  const k = copyKey(region, copy.token);
  if (copies.some((c) => c !== copy && c.queue === 'region' && c.token === copy.token)) {
    return known.unanswered.has(k)
      ? { window: WINDOWS.sdkResend, why: `token ${copy.token} twice in ${region}; a send carrying it was stored without an answer` }
      : { window: UNEXPLAINED, why: `token ${copy.token} twice in ${region} and no lost answer carried it` };
  }
  // Another region than the kept copy's is allowed only on a later delivery (README's guarantee).
  const elsewhere = kept?.queue === 'region' && kept.region !== region;
  const laterDelivery = (known.executionOrder.get(kept?.execution ?? '') ?? -1) > (known.executionOrder.get(copy.execution ?? '') ?? -1);
  const sameExecution = (source: string): { window: Attribution; why: string } => ({ window: UNEXPLAINED, why: `${source} to ${region}, then sent to ${kept?.region} by the same execution` });
  const lostAfterRun = known.answerLost.get(k);
  if (lostAfterRun) {
    const source = `token ${copy.token} was sent by ${lostAfterRun.state} attempt ${lostAfterRun.attempt}, whose answer was lost (${lostAfterRun.fault})`;
    if (elsewhere && !laterDelivery) return sameExecution(source);
    return { window: lostAfterRun.fault === 'ran-crash' ? WINDOWS.forwardCrash : WINDOWS.forwardAnswerLost, why: source };
  }
  const tried = record?.triedToken === copy.token && record?.triedRegion === region;
  if (known.unanswered.has(k) || tried) {
    const source = tried ? "the record's triedToken" : 'a send stored without an answer';
    if (!elsewhere) return { window: WINDOWS.unconfirmedSend, why: `${source} to ${region}, retried there` };
    return laterDelivery
      ? { window: WINDOWS.ambiguousFailover, why: `${source} to ${region}; the kept copy went to ${kept?.region} on a later delivery` }
      : sameExecution(source);
  }
  if (known.confirmed.has(k) && !(record?.tokens ?? []).includes(copy.token)) {
    return { window: WINDOWS.commitLost, why: `token ${copy.token} was confirmed by its forward but never committed` };
  }
  return { window: UNEXPLAINED, why: `no evidence explains token ${copy.token} in ${region}` };
}

function extraCopies(run: RunView): ExtraCopy[] {
  const known: Known = {
    unanswered: new Set(run.evidence.storedUnanswered.map((s) => copyKey(s.region, s.token))),
    answerLost: new Map(),
    confirmed: new Set(),
    executionOrder: new Map(run.executions.map((e) => [e.name, e.index])),
  };
  for (const a of run.attempts) {
    for (const s of a.sent) {
      const k = copyKey(s.region, s.token);
      if (a.answerLost) known.answerLost.set(k, a);
      else if (a.unanswered.includes(s.requestId)) known.unanswered.add(k);
      else known.confirmed.add(k);
    }
  }
  const deadLetterResent = new Set(run.evidence.deadLettersUnanswered);
  const records = new Map(run.records.map((r) => [r.requestId, r]));
  const out: ExtraCopy[] = [];
  for (const requestId of new Set(run.copies.map((c) => c.requestId))) {
    const copies = run.copies.filter((c) => c.requestId === requestId);
    if (copies.length <= 1) continue;
    const record = records.get(requestId);
    const kept = keptCopy(copies, record);
    for (const copy of copies) {
      if (copy === kept) continue;
      const attribution: { window: Attribution; why: string } =
        copy.queue === 'dlq'
          ? copies.some((c) => c.queue === 'region')
            ? { window: UNEXPLAINED, why: 'in the dispatch DLQ and also in a regional queue' }
            : deadLetterResent.has(requestId)
              ? { window: WINDOWS.deadLetterResent, why: 'its dead-letter send was stored without an answer' }
              : { window: UNEXPLAINED, why: 'a second DLQ copy and no lost answer on a dead-letter send' }
          : attribute(copy, kept, copies, record, known);
      out.push({
        requestId,
        where: copy.queue === 'dlq' ? 'dispatch DLQ' : (copy.region ?? '?'),
        ...(copy.token ? { token: copy.token } : {}),
        ...attribution,
      });
    }
  }
  return out;
}

export function checkRun(run: RunView): CheckReport {
  const extras = extraCopies(run);
  const unexplained = extras
    .filter((e) => e.window === UNEXPLAINED)
    .map((e) => ({ check: 'unexplained-copy' as const, requestId: e.requestId, detail: `a copy in ${e.where}: ${e.why}` }));
  return {
    violations: [
      ...lost(run),
      ...failoverAfterUnanswered(run.attempts),
      ...dispatchedAndDeadLettered(run),
      ...acceptedTwice(run),
      ...deadLetteredCompleted(run),
      ...unexplained,
    ],
    extraCopies: extras,
  };
}
