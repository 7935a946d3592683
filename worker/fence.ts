/**
 * The dispatch fence, worker side: a worker accepts a request with ONE conditional write on the
 * request's idempotency record before working on it, and drops a copy whose acceptance fails.
 *
 *   accept   -> the worker holds the request until acceptedUntil (its lease: the queue's visibility timeout)
 *   extend   -> heartbeat: the lease moves on (extend the message's visibility with it)
 *   complete -> done: every other copy, and this one redelivered, is dropped from now on
 *   release  -> processing failed: the next copy, or this one redelivered, may accept
 *
 * Guarantee: at most one worker holds a request at a time; at most one acceptance completes it.
 * See docs/worker-fence.md.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import { DEFAULT_RECORD_LIFETIME_SECONDS } from '../core/topology.js';
import type { RequestRecord } from '../core/record.js';
import { DynamoFencePersistence, type FencePersistence } from './persistence.js';

/** The record outlives every copy: the deployment's default lifetime after the last acceptance (core/topology.ts). */
export const RECORD_TTL_SECONDS = DEFAULT_RECORD_LIFETIME_SECONDS;

const text = z.string().min(1);
const epochSeconds = z.number().int().nonnegative();
const holderSchema = z.object({ requestId: text, token: text, workerId: text, now: epochSeconds.optional() });
const acceptSchema = holderSchema.extend({ leaseSeconds: z.number().int().positive() });
const extendSchema = holderSchema.extend({ seconds: z.number().int().positive() });

export interface HolderInput {
  readonly requestId: string;
  /** The copy's dispatch token (message attribute dispatch_token). */
  readonly token: string;
  /** Who works on it: unique per worker process (or per Lambda invocation). */
  readonly workerId: string;
  /** Epoch seconds; the fence's clock when absent. */
  readonly now?: number;
}

export interface AcceptInput extends HolderInput {
  /** How long the acceptance holds without a heartbeat: the queue's visibility timeout. */
  readonly leaseSeconds: number;
}

export interface ExtendInput extends HolderInput {
  /** The lease ends this many seconds from now. */
  readonly seconds: number;
}

export interface FenceOptions {
  readonly persistence: FencePersistence;
  /** Epoch seconds (whole). Default: the system clock. */
  readonly clock?: () => number;
  /** Default 7 days. */
  readonly ttlSeconds?: number;
}

const systemClock = () => Math.floor(Date.now() / 1000);

const parse = <T>(schema: z.ZodType<T>, input: unknown, what: string): T => {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TypeError(`${what}: ${issue?.path.join('.') || 'input'}: ${issue?.message}`);
  }
  return parsed.data;
};

export class Fence {
  private readonly persistence: FencePersistence;
  private readonly clock: () => number;
  private readonly ttlSeconds: number;

  constructor(options: FenceOptions) {
    this.persistence = options.persistence;
    this.clock = options.clock ?? systemClock;
    this.ttlSeconds = options.ttlSeconds ?? RECORD_TTL_SECONDS;
  }

  /** A fence on the idempotency table (key request_id) through the given client. */
  static dynamo(client: DynamoDBClient, tableName: string, options: Omit<FenceOptions, 'persistence'> = {}): Fence {
    return new Fence({ ...options, persistence: new DynamoFencePersistence(client, tableName) });
  }

  /**
   * Accepts the request for this copy, or throws AlreadyAcceptedError (another copy holds it:
   * reason ALREADY_ACCEPTED; or this very copy does and its lease runs: reason IN_FLIGHT),
   * AlreadyCompletedError or DeadLetteredError, each carrying the record. An absent record is accepted
   * (and created). Returns the record as written.
   */
  async accept(input: AcceptInput): Promise<RequestRecord> {
    const { requestId, token, workerId, leaseSeconds, now = this.clock() } = parse(acceptSchema, input, 'accept');
    return this.persistence.accept({ requestId, token, workerId, now, acceptedUntil: now + leaseSeconds, expiresAt: now + this.ttlSeconds });
  }

  /** Marks the request COMPLETED; only its holder may (NotHolderError otherwise). */
  async complete(input: HolderInput): Promise<RequestRecord> {
    const { requestId, token, workerId, now = this.clock() } = parse(holderSchema, input, 'complete');
    return this.persistence.complete({ requestId, token, workerId, now });
  }

  /** Gives the request up after a failure, so that another copy or a redelivery may accept it. */
  async release(input: HolderInput): Promise<void> {
    const { requestId, token, workerId, now = this.clock() } = parse(holderSchema, input, 'release');
    return this.persistence.release({ requestId, token, workerId, now });
  }

  /** Heartbeat: the lease now ends `seconds` from now. */
  async extend(input: ExtendInput): Promise<RequestRecord> {
    const { requestId, token, workerId, seconds, now = this.clock() } = parse(extendSchema, input, 'extend');
    return this.persistence.extend({ requestId, token, workerId, now, acceptedUntil: now + seconds });
  }

  async get(requestId: string): Promise<RequestRecord | undefined> {
    return this.persistence.get(parse(text, requestId, 'get'));
  }
}
