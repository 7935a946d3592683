/**
 * The fence's typed errors. A refused write carries the record that refused it, read back from the
 * table, so that a caller can say why (who holds it, since when, completed or dead-lettered).
 * No AWS import: every persistence reuses the same classification (`acceptRefusal`, `holderRefusal`).
 */
import { RECORD_STATUS, WORK_STATUS, type RequestRecord } from '../core/record.js';
import type { FenceRecord } from './record.js';

export class FenceError extends Error {
  override name = 'FenceError';
}

/** Why an acceptance was refused. */
export type RefusalReason = 'ALREADY_ACCEPTED' | 'IN_FLIGHT' | 'ALREADY_COMPLETED' | 'DEAD_LETTERED';
/** The refusals after which the copy is deleted without processing. */
export type DropReason = Exclude<RefusalReason, 'IN_FLIGHT'>;

/** `accept` was refused. `dropCopy` says what to do with the copy in hand. */
export abstract class AcceptRefusedError extends FenceError {
  abstract readonly reason: RefusalReason;
  constructor(
    message: string,
    /** The record as it stood when the acceptance was refused. */
    readonly record: RequestRecord,
  ) {
    super(message);
  }
  /**
   * True: delete the copy without processing it (another copy holds or finished the request, or it is
   * dead-lettered). False: this very copy is still held by a worker; leave it, it comes back.
   */
  get dropCopy(): boolean {
    return this.reason !== 'IN_FLIGHT';
  }
}

/**
 * Another acceptance holds the request (reason ALREADY_ACCEPTED: another token; the copy is dropped), or
 * this same copy is held and this fence has not yet watched its lease unchanged for the lease's duration
 * (reason IN_FLIGHT: a redelivery while its worker may still be working; NOT dropped: deleting it would
 * lose the request if that worker then fails).
 */
export class AlreadyAcceptedError extends AcceptRefusedError {
  override name = 'AlreadyAcceptedError';
  readonly reason: 'ALREADY_ACCEPTED' | 'IN_FLIGHT';
  /**
   * IN_FLIGHT only: seconds after which this fence will have watched the lease for its whole duration
   * (at least 1). Look again then, through the same Fence: it remembers what it watched.
   */
  readonly retryAfterSeconds: number | undefined;
  constructor(record: RequestRecord, readonly sameCopy: boolean, retryAfterSeconds?: number) {
    super(
      sameCopy
        ? `request ${record.request_id}: this copy (token ${record.acceptedToken}) is held by ${record.acceptedBy}; its lease is taken over only after it was seen unchanged for its whole duration`
        : `request ${record.request_id}: already accepted by ${record.acceptedBy} with another copy (token ${record.acceptedToken})`,
      record,
    );
    this.reason = sameCopy ? 'IN_FLIGHT' : 'ALREADY_ACCEPTED';
    this.retryAfterSeconds = sameCopy ? Math.max(1, Math.ceil(retryAfterSeconds ?? 1)) : undefined;
  }
}

export class AlreadyCompletedError extends AcceptRefusedError {
  override name = 'AlreadyCompletedError';
  readonly reason = 'ALREADY_COMPLETED' as const;
  constructor(record: RequestRecord) {
    super(`request ${record.request_id}: already completed by ${record.acceptedBy} (token ${record.acceptedToken})`, record);
  }
}

export class DeadLetteredError extends AcceptRefusedError {
  override name = 'DeadLetteredError';
  readonly reason = 'DEAD_LETTERED' as const;
  constructor(record: RequestRecord) {
    super(`request ${record.request_id}: dead-lettered${record.reason ? ` (${record.reason})` : ''}`, record);
  }
}

/** complete / release / extend by a worker that does not hold the request (record undefined: no record). */
export class NotHolderError extends FenceError {
  override name = 'NotHolderError';
  constructor(
    readonly requestId: string,
    readonly token: string,
    readonly workerId: string,
    readonly record: RequestRecord | undefined,
  ) {
    super(
      record?.acceptedToken
        ? `request ${requestId}: held by ${record.acceptedBy} (token ${record.acceptedToken}), not by ${workerId} (token ${token})`
        : `request ${requestId}: not accepted by anyone${record ? '' : ' (no record)'}, so not by ${workerId}`,
    );
  }
}

/** A message from which no request_id (or no token) can be read. */
export class NoDispatchIdentityError extends FenceError {
  override name = 'NoDispatchIdentityError';
}

/**
 * A request_id the intake would refuse (core/request.ts): no copy the dispatcher forwards carries one, and
 * such an id can name an item that is not a request (`#capacity#...`, `#health#...`). Nothing is written.
 */
export class InvalidRequestIdError extends NoDispatchIdentityError {
  override name = 'InvalidRequestIdError';
  constructor(
    readonly requestId: string,
    /** The intake's reason. */
    readonly why: string,
  ) {
    super(`request_id ${JSON.stringify(requestId.length > 140 ? `${requestId.slice(0, 137)}...` : requestId)} is refused: ${why}`);
  }
}

/**
 * The holder no longer holds its lease: a heartbeat was refused (another worker took the copy over after
 * watching the lease, or it was released or completed elsewhere: reason NOT_HOLDER), or no heartbeat got
 * through before the lease ran out by the holder's own clock (reason EXPIRED: a watcher may take it over).
 * The job is told through its AbortSignal; a NOT_HOLDER job's completion is refused.
 */
export class LeaseLostError extends FenceError {
  override name = 'LeaseLostError';
  constructor(
    readonly requestId: string,
    readonly reason: 'NOT_HOLDER' | 'EXPIRED',
    /** NOT_HOLDER: the record as found. */
    readonly record?: RequestRecord,
  ) {
    super(
      reason === 'NOT_HOLDER'
        ? `request ${requestId}: the lease is lost${record?.acceptedBy ? ` (now held by ${record.acceptedBy})` : ''}`
        : `request ${requestId}: no heartbeat got through before the lease ran out; another worker may take it over`,
    );
  }
}

/**
 * Why `accept` of `token` is refused by this record, or undefined when the record would accept (it
 * changed between the refused write and the read: the caller writes again). Mirrors the accept condition
 * (persistence.ts), case by case. The same copy held is IN_FLIGHT whatever any clock says: whether it may
 * be taken over is the watching fence's decision (watch.ts), never a comparison of timestamps.
 */
export function acceptRefusal(record: RequestRecord, token: string): AcceptRefusedError | undefined {
  if (record.status === RECORD_STATUS.deadLettered) return new DeadLetteredError(record);
  if (record.workStatus === WORK_STATUS.completed) return new AlreadyCompletedError(record);
  if (record.acceptedToken === undefined) return undefined;
  return new AlreadyAcceptedError(record, record.acceptedToken === token);
}

/**
 * Why complete / release / extend by (token, workerId) is refused by this record, or undefined.
 * `versions`: the lease versions the holder may have written last (its write condition named them).
 */
export function holderRefusal(
  operation: 'complete' | 'release' | 'extend',
  requestId: string,
  token: string,
  workerId: string,
  record: FenceRecord | undefined,
  versions?: readonly string[],
): FenceError | undefined {
  if (!record || record.acceptedToken !== token || record.acceptedBy !== workerId) return new NotHolderError(requestId, token, workerId, record);
  if (operation === 'release' && record.workStatus === WORK_STATUS.completed) return new AlreadyCompletedError(record);
  if (versions?.length && (record.leaseVersion === undefined || !versions.includes(record.leaseVersion))) return new NotHolderError(requestId, token, workerId, record);
  return undefined;
}
