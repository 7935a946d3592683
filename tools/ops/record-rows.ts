/**
 * A request's idempotency record as rows of (label, value), as `status` prints them and the console's
 * request page shows them: each state said in words (a released claim, an unanswered send, the worker
 * that holds the request).
 */
import type { RequestRecord } from '../../core/record.js';

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
