/**
 * The dispatch fence, worker side: a worker accepts a request with ONE conditional write on the
 * request's idempotency record before working on it, and drops a copy whose acceptance fails.
 *
 *   accept   -> the worker holds the request for a lease (a duration: the queue's visibility timeout),
 *               written with a fresh random lease version
 *   extend   -> heartbeat: a new version, the lease counts again from now (extend the message's visibility too)
 *   complete -> done: every other copy, and this one redelivered, is dropped from now on
 *   release  -> processing failed: the next copy, or this one redelivered, may accept at once
 *
 * Safe under clock skew: the same copy's lease is taken over only by a fence that has itself watched its
 * version unchanged for the lease's duration by its own monotonic clock (watch.ts), with a write
 * conditional on that version; the holder trusts its lease from before it sent its write. Wall-clock
 * times (acceptedAt, acceptedUntil, completedAt, expiresAt) are written for people and the TTL only.
 *
 * Guarantee: at most one worker holds a request at a time; at most one acceptance completes it.
 * See docs/worker-fence.md.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import { DEFAULT_RECORD_LIFETIME_SECONDS } from '../core/topology.js';
import { AcceptRefusedError, AlreadyAcceptedError } from './errors.js';
import { DynamoFencePersistence, type FencePersistence } from './persistence.js';
import type { FenceRecord } from './record.js';
import { checkRequestId } from './request-id.js';
import { LeaseWatch } from './watch.js';

/** The record outlives every copy: the deployment's default lifetime after the last acceptance (core/topology.ts). */
export const RECORD_TTL_SECONDS = DEFAULT_RECORD_LIFETIME_SECONDS;

/** Take-over writes tried in one accept when the version watched changes under it. */
const TAKE_OVER_ATTEMPTS = 3;

const text = z.string().min(1);
const epochSeconds = z.number().int().nonnegative();
const versions = z.array(text).max(16).optional();
const holderSchema = z.object({ requestId: text, token: text, workerId: text, now: epochSeconds.optional(), versions });
const acceptSchema = holderSchema.extend({ leaseSeconds: z.number().int().positive() });
const extendSchema = holderSchema.extend({ seconds: z.number().int().positive(), newVersion: text.optional() });

export interface HolderInput {
  readonly requestId: string;
  /** The copy's dispatch token (message attribute dispatch_token). */
  readonly token: string;
  /** Who works on it: unique per worker process (or per Lambda invocation). */
  readonly workerId: string;
  /** Epoch seconds, written for people to read (never compared); the fence's clock when absent. */
  readonly now?: number;
  /**
   * The lease versions this holder may have written last (more than one after a heartbeat whose answer
   * was lost). When given, the write holds only while the record is still at one of them.
   */
  readonly versions?: readonly string[];
}

export interface AcceptInput extends HolderInput {
  /** How long the acceptance holds without a heartbeat: the queue's visibility timeout. */
  readonly leaseSeconds: number;
}

export interface ExtendInput extends HolderInput {
  /** The lease's new duration, counted from now. */
  readonly seconds: number;
  /** The version to write (random when absent): a holder that names it can still tell it if the answer is lost. */
  readonly newVersion?: string;
}

/** An acceptance as its holder sees it. */
export interface HeldLease {
  readonly requestId: string;
  readonly token: string;
  readonly workerId: string;
  readonly record: FenceRecord;
  readonly version: string;
  readonly leaseSeconds: number;
  /**
   * The fence's monotonic ms before which the holder may trust its lease: the lease counted from before
   * its write was sent, so it ends before any watcher may take over.
   */
  readonly validUntil: number;
}

export interface FenceOptions {
  readonly persistence: FencePersistence;
  /** Epoch seconds (whole), for the record's timestamps and TTL only. Default: the system clock. */
  readonly clock?: () => number;
  /** Milliseconds that never go back and are never set: what every lease decision is timed by. Default performance.now(). */
  readonly monotonic?: () => number;
  /** Default: the record lifetime (core/topology.ts). */
  readonly ttlSeconds?: number;
}

const systemClock = () => Math.floor(Date.now() / 1000);
const monotonicClock = () => performance.now();

const parse = <T>(schema: z.ZodType<T>, input: unknown, what: string): T => {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TypeError(`${what}: ${issue?.path.join('.') || 'input'}: ${issue?.message}`);
  }
  return parsed.data;
};

export class Fence {
  readonly monotonic: () => number;
  private readonly persistence: FencePersistence;
  private readonly clock: () => number;
  private readonly ttlSeconds: number;
  private readonly watch: LeaseWatch;
  /**
   * Acceptance writes this fence sent whose answer never came back (request_id -> version -> when it was
   * sent, monotonic): a record later found at one of those versions holds this fence's own lease, written
   * before the answer was lost. Versions are random per write, so no other writer can match one.
   */
  private readonly unanswered = new Map<string, Map<string, { token: string; workerId: string; sentAt: number }>>();

  constructor(options: FenceOptions) {
    this.persistence = options.persistence;
    this.clock = options.clock ?? systemClock;
    this.monotonic = options.monotonic ?? monotonicClock;
    this.ttlSeconds = options.ttlSeconds ?? RECORD_TTL_SECONDS;
    this.watch = new LeaseWatch(this.monotonic);
  }

  /** A fence on the idempotency table (key request_id) through the given client. */
  static dynamo(client: DynamoDBClient, tableName: string, options: Omit<FenceOptions, 'persistence'> = {}): Fence {
    return new Fence({ ...options, persistence: new DynamoFencePersistence(client, tableName) });
  }

  /**
   * Accepts the request for this copy, or throws AlreadyAcceptedError (another copy holds it: reason
   * ALREADY_ACCEPTED; or this very copy does and this fence has not yet watched its lease unchanged for
   * the lease's duration: reason IN_FLIGHT, with retryAfterSeconds), AlreadyCompletedError,
   * DeadLetteredError, or InvalidRequestIdError. An absent record is accepted (and created). Returns the
   * record as written.
   */
  async accept(input: AcceptInput): Promise<FenceRecord> {
    return (await this.acceptLease(input)).record;
  }

  /** `accept`, returning what the holder needs to keep its lease (heartbeat.ts). */
  async acceptLease(input: AcceptInput): Promise<HeldLease> {
    const { requestId, token, workerId, leaseSeconds, now = this.clock() } = parse(acceptSchema, input, 'accept');
    checkRequestId(requestId);
    for (let attempt = 1; ; attempt++) {
      const ripe = this.watch.ripe(requestId, token);
      const version = randomUUID();
      const write = { requestId, token, workerId, now, acceptedUntil: now + leaseSeconds, expiresAt: now + this.ttlSeconds, leaseVersion: version, leaseSeconds };
      // Before the write is sent: the holder's lease can only end earlier than any watcher's wait.
      const sentAt = this.monotonic();
      this.noteUnanswered(requestId, version, { token, workerId, sentAt });
      try {
        const record = await this.persistence.accept(write, ripe?.seen);
        this.watch.forget(requestId);
        this.unanswered.delete(requestId);
        return { requestId, token, workerId, record, version, leaseSeconds, validUntil: sentAt + leaseSeconds * 1000 };
      } catch (error) {
        if (error instanceof AlreadyAcceptedError && error.sameCopy) {
          // Our own write, applied before its answer was lost (the SDK's resend, or this call after a failed one).
          const own = this.ownLease(error.record, token, workerId);
          if (own) {
            this.watch.forget(requestId);
            this.unanswered.delete(requestId);
            return { requestId, token, workerId, record: error.record, version: own.version, leaseSeconds, validUntil: own.sentAt + leaseSeconds * 1000 };
          }
          // Read back after the write that refused: the watch of this version starts no earlier than now.
          const sighting = this.watch.look(requestId, token, error.record, leaseSeconds);
          const remainingMs = this.watch.remainingMs(sighting);
          if (remainingMs <= 0 && attempt < TAKE_OVER_ATTEMPTS) continue;
          throw new AlreadyAcceptedError(error.record, true, Math.max(remainingMs, 0) / 1000 + 1);
        }
        if (error instanceof AcceptRefusedError) {
          this.watch.forget(requestId);
          this.unanswered.delete(requestId);
        }
        throw error;
      }
    }
  }

  private noteUnanswered(requestId: string, version: string, write: { token: string; workerId: string; sentAt: number }): void {
    const versions = this.unanswered.get(requestId) ?? new Map();
    versions.set(version, write);
    this.unanswered.set(requestId, versions);
  }

  /** The record holds a lease this fence wrote for this copy and worker, whose answer was lost. */
  private ownLease(record: FenceRecord, token: string, workerId: string): { version: string; sentAt: number } | undefined {
    const version = record.leaseVersion;
    if (!version || record.acceptedToken !== token || record.acceptedBy !== workerId) return undefined;
    const write = this.unanswered.get(record.request_id)?.get(version);
    return write && write.token === token && write.workerId === workerId ? { version, sentAt: write.sentAt } : undefined;
  }

  /** Marks the request COMPLETED; only its holder may (NotHolderError otherwise). */
  async complete(input: HolderInput): Promise<FenceRecord> {
    const { requestId, token, workerId, now = this.clock(), versions } = parse(holderSchema, input, 'complete');
    checkRequestId(requestId);
    return this.persistence.complete({ requestId, token, workerId, now, ...(versions ? { versions } : {}) });
  }

  /** Gives the request up after a failure, so that another copy or a redelivery may accept it at once. */
  async release(input: HolderInput): Promise<void> {
    const { requestId, token, workerId, now = this.clock(), versions } = parse(holderSchema, input, 'release');
    checkRequestId(requestId);
    return this.persistence.release({ requestId, token, workerId, now, ...(versions ? { versions } : {}) });
  }

  /** Heartbeat: a new lease version, and the lease counts `seconds` again from now. */
  async extend(input: ExtendInput): Promise<FenceRecord> {
    return (await this.renew(input)).record;
  }

  /** `extend`, returning the new version and until when (monotonic) the holder may trust its lease. */
  async renew(input: ExtendInput): Promise<{ record: FenceRecord; version: string; validUntil: number }> {
    const { requestId, token, workerId, seconds, now = this.clock(), versions, newVersion } = parse(extendSchema, input, 'extend');
    checkRequestId(requestId);
    const version = newVersion ?? randomUUID();
    const sentAt = this.monotonic();
    const record = await this.persistence.extend({
      requestId,
      token,
      workerId,
      now,
      acceptedUntil: now + seconds,
      leaseVersion: version,
      leaseSeconds: seconds,
      ...(versions ? { versions } : {}),
    });
    return { record, version, validUntil: sentAt + seconds * 1000 };
  }

  async get(requestId: string): Promise<FenceRecord | undefined> {
    checkRequestId(parse(text, requestId, 'get'));
    return this.persistence.get(requestId);
  }
}
