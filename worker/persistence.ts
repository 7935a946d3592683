/**
 * Where the fence keeps its state: the request's idempotency record (core/record.ts, worker/record.ts),
 * behind a small interface. The DynamoDB implementation makes each operation ONE conditional UpdateItem;
 * when the condition fails it reads the record (from the error when DynamoDB returns it, else with a
 * consistent GetItem: dynalite accepts ReturnValuesOnConditionCheckFailure but returns nothing) and
 * throws the typed error that says why. No condition compares timestamps: a lease is taken over only
 * with a write conditional on the lease version the taker watched (watch.ts).
 */
import {
  ConditionalCheckFailedException,
  GetItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { ATTR, RECORD_STATUS, WORK_STATUS } from '../core/record.js';
import { acceptRefusal, FenceError, holderRefusal } from './errors.js';
import { FENCE_ATTR, fenceRecordSchema, type FenceRecord } from './record.js';

/** Epoch seconds (the writer's own clock: written for people to read, never compared by the fence). */
export interface AcceptWrite {
  readonly requestId: string;
  readonly token: string;
  readonly workerId: string;
  readonly now: number;
  /** now + lease, for people to read. */
  readonly acceptedUntil: number;
  /** The record's TTL after this write (now + 7 days). */
  readonly expiresAt: number;
  /** Fresh and random: what a taker watches. */
  readonly leaseVersion: string;
  /** The lease's duration: how long a taker watches the version before it may take over. */
  readonly leaseSeconds: number;
}

/**
 * The lease a taker watched and may take over: its leaseVersion, or, for an acceptance written without
 * one (an older worker), its holder and acceptedUntil as they were read.
 */
export interface SeenVersion {
  readonly leaseVersion?: string;
  readonly acceptedBy?: string;
  readonly acceptedUntil?: number;
}

export interface HolderWrite {
  readonly requestId: string;
  readonly token: string;
  readonly workerId: string;
  readonly now: number;
  /** When given: the write also requires the record's leaseVersion to be one of these (the holder's own). */
  readonly versions?: readonly string[];
}

export interface ExtendWrite extends HolderWrite {
  readonly acceptedUntil: number;
  readonly leaseVersion: string;
  readonly leaseSeconds: number;
}

export interface FencePersistence {
  /**
   * Accepts a free record (never accepted, released, absent), or with `takeOver` the same copy's lease at
   * exactly the version watched. Throws AlreadyAcceptedError (IN_FLIGHT when the same copy is held),
   * AlreadyCompletedError or DeadLetteredError when refused.
   */
  accept(write: AcceptWrite, takeOver?: SeenVersion): Promise<FenceRecord>;
  /** Throws NotHolderError when refused. */
  complete(write: HolderWrite): Promise<FenceRecord>;
  /** Throws NotHolderError, or AlreadyCompletedError when the holder already completed it. */
  release(write: HolderWrite): Promise<void>;
  /** Heartbeat: a new version and duration. Throws NotHolderError when refused. */
  extend(write: ExtendWrite): Promise<FenceRecord>;
  get(requestId: string): Promise<FenceRecord | undefined>;
}

/** Expression attribute names: every attribute the fence reads or writes (`status` is a reserved word). */
const NAMES = {
  '#status': ATTR.status,
  '#acceptedToken': ATTR.acceptedToken,
  '#acceptedBy': ATTR.acceptedBy,
  '#acceptedAt': ATTR.acceptedAt,
  '#acceptedUntil': ATTR.acceptedUntil,
  '#workStatus': ATTR.workStatus,
  '#completedAt': ATTR.completedAt,
  '#expiresAt': ATTR.expiresAt,
  '#leaseVersion': FENCE_ATTR.leaseVersion,
  '#leaseSeconds': FENCE_ATTR.leaseSeconds,
} as const;
type Name = keyof typeof NAMES;

/**
 * The accept condition, as a list of named cases (all must hold). A comparison with a missing
 * attribute is false in DynamoDB, hence the attribute_not_exists(...) OR ... forms.
 */
export const ACCEPT_CONDITION_CASES = {
  notDeadLettered: '(attribute_not_exists(#status) OR #status <> :deadLettered)',
  notCompleted: '(attribute_not_exists(#workStatus) OR #workStatus <> :completed)',
  /** Nobody holds it: never accepted, released, or no record at all. */
  free: 'attribute_not_exists(#acceptedToken)',
} as const;

/** The take-over condition's last case: this same copy holds it, at exactly the version the taker watched. */
export const TAKE_OVER_CASES = {
  sameCopy: '#acceptedToken = :token',
  watchedVersion: '#leaseVersion = :seenVersion',
  /** An acceptance written without a version: the same holder with the same acceptedUntil (both as read). */
  watchedLegacy: 'attribute_not_exists(#leaseVersion) AND #acceptedBy = :seenBy AND #acceptedUntil = :seenUntil',
} as const;

const NOT_COMPLETED = ACCEPT_CONDITION_CASES.notCompleted;
const HOLDER = '#acceptedToken = :token AND #acceptedBy = :worker';
const ACCEPT_SET =
  'SET #acceptedToken = :token, #acceptedBy = :worker, #acceptedAt = :now, #acceptedUntil = :until, #leaseVersion = :version, ' +
  '#leaseSeconds = :leaseSeconds, #workStatus = :accepted, #expiresAt = :expiresAt';

export const EXPRESSIONS = {
  accept: {
    update: ACCEPT_SET,
    condition: Object.values(ACCEPT_CONDITION_CASES).join(' AND '),
  },
  complete: {
    update: 'SET #workStatus = :completed, #completedAt = :now',
    condition: HOLDER,
  },
  release: {
    update: 'REMOVE #acceptedToken, #acceptedBy, #acceptedAt, #acceptedUntil, #leaseVersion, #leaseSeconds, #workStatus',
    condition: `${HOLDER} AND ${NOT_COMPLETED}`,
  },
  extend: {
    update: 'SET #acceptedUntil = :until, #leaseVersion = :version, #leaseSeconds = :leaseSeconds',
    condition: HOLDER,
  },
} as const;

/** The take-over of the lease seen: the accept write, on the condition that nothing changed since. */
export function takeOverExpression(seen: SeenVersion): { update: string; condition: string } {
  const legacy = [
    'attribute_not_exists(#leaseVersion)',
    seen.acceptedBy === undefined ? 'attribute_not_exists(#acceptedBy)' : '#acceptedBy = :seenBy',
    seen.acceptedUntil === undefined ? 'attribute_not_exists(#acceptedUntil)' : '#acceptedUntil = :seenUntil',
  ].join(' AND ');
  const version = seen.leaseVersion === undefined ? legacy : TAKE_OVER_CASES.watchedVersion;
  return {
    update: ACCEPT_SET,
    condition: [ACCEPT_CONDITION_CASES.notDeadLettered, NOT_COMPLETED, TAKE_OVER_CASES.sameCopy, `(${version})`].join(' AND '),
  };
}

/** `#leaseVersion IN (...)` when the holder names its versions: its write holds only on its own lease. */
function withVersions(expression: { readonly update: string; readonly condition: string }, versions: readonly string[] | undefined) {
  if (!versions?.length) return { expression, values: {} };
  const names = versions.map((_, i) => `:v${i}`);
  return {
    expression: { update: expression.update, condition: `${expression.condition} AND #leaseVersion IN (${names.join(', ')})` },
    values: Object.fromEntries(versions.map((v, i) => [names[i] as string, S(v)])),
  };
}

/** Only the names and values an expression uses: DynamoDB refuses unused ones. */
function used<T>(all: Record<string, T>, expressions: readonly string[]): Record<string, T> {
  const text = expressions.join(' ');
  return Object.fromEntries(Object.entries(all).filter(([key]) => new RegExp(`${key}\\b`).test(text)));
}

const S = (value: string): AttributeValue => ({ S: value });
const N = (value: number): AttributeValue => ({ N: String(value) });

/** How many times accept writes again when the record read back would have accepted (it changed meanwhile). */
const ACCEPT_ATTEMPTS = 3;

export class DynamoFencePersistence implements FencePersistence {
  constructor(
    private readonly client: DynamoDBClient,
    readonly tableName: string,
  ) {}

  async accept(write: AcceptWrite, takeOver?: SeenVersion): Promise<FenceRecord> {
    let seen = takeOver;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.update(seen ? takeOverExpression(seen) : EXPRESSIONS.accept, write.requestId, {
        ':token': S(write.token),
        ':worker': S(write.workerId),
        ':now': N(write.now),
        ':until': N(write.acceptedUntil),
        ':version': S(write.leaseVersion),
        ':leaseSeconds': N(write.leaseSeconds),
        ':accepted': S(WORK_STATUS.accepted),
        ':expiresAt': N(write.expiresAt),
        ':deadLettered': S(RECORD_STATUS.deadLettered),
        ':completed': S(WORK_STATUS.completed),
        ...(seen?.leaseVersion !== undefined ? { ':seenVersion': S(seen.leaseVersion) } : {}),
        ...(seen?.acceptedBy !== undefined ? { ':seenBy': S(seen.acceptedBy) } : {}),
        ...(seen?.acceptedUntil !== undefined ? { ':seenUntil': N(seen.acceptedUntil) } : {}),
      });
      if (outcome.ok) return outcome.record;
      if (!outcome.record) {
        // Refused, yet no record: it was deleted in between. Write again.
        if (attempt < ACCEPT_ATTEMPTS) {
          seen = undefined;
          continue;
        }
        throw new FenceError(`request ${write.requestId}: acceptance refused ${attempt} times and no record found`);
      }
      // The same copy held at another version than the one watched is IN_FLIGHT: the watch starts again.
      const refusal = acceptRefusal(outcome.record, write.token);
      if (refusal) throw refusal;
      if (attempt >= ACCEPT_ATTEMPTS) {
        throw new FenceError(`request ${write.requestId}: acceptance refused ${attempt} times by a record that keeps changing`);
      }
      // Free after all (released in between): a plain acceptance.
      seen = undefined;
    }
  }

  async complete(write: HolderWrite): Promise<FenceRecord> {
    const { expression, values } = withVersions(EXPRESSIONS.complete, write.versions);
    const outcome = await this.update(expression, write.requestId, this.holderValues(write, { ':completed': S(WORK_STATUS.completed), ...values }));
    if (outcome.ok) return outcome.record;
    throw this.holderError('complete', write, outcome.record);
  }

  async release(write: HolderWrite): Promise<void> {
    const { expression, values } = withVersions(EXPRESSIONS.release, write.versions);
    const outcome = await this.update(expression, write.requestId, this.holderValues(write, { ':completed': S(WORK_STATUS.completed), ...values }));
    if (outcome.ok) return;
    throw this.holderError('release', write, outcome.record);
  }

  async extend(write: ExtendWrite): Promise<FenceRecord> {
    const { expression, values } = withVersions(EXPRESSIONS.extend, write.versions);
    const outcome = await this.update(
      expression,
      write.requestId,
      this.holderValues(write, { ':until': N(write.acceptedUntil), ':version': S(write.leaseVersion), ':leaseSeconds': N(write.leaseSeconds), ...values }),
    );
    if (outcome.ok) return outcome.record;
    throw this.holderError('extend', write, outcome.record);
  }

  async get(requestId: string): Promise<FenceRecord | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { [ATTR.key]: S(requestId) }, ConsistentRead: true }),
    );
    return Item ? parseRecord(Item) : undefined;
  }

  private holderValues(write: HolderWrite, extra: Record<string, AttributeValue>): Record<string, AttributeValue> {
    return { ':token': S(write.token), ':worker': S(write.workerId), ':now': N(write.now), ...extra };
  }

  private holderError(operation: 'complete' | 'release' | 'extend', write: HolderWrite, record: FenceRecord | undefined): FenceError {
    return (
      holderRefusal(operation, write.requestId, write.token, write.workerId, record, write.versions) ??
      new FenceError(`request ${write.requestId}: ${operation} refused, yet the record read back names ${write.workerId} as its holder`)
    );
  }

  /** One conditional UpdateItem; on a failed condition, the record as it stands (undefined: no record). */
  private async update(
    expression: { readonly update: string; readonly condition: string },
    requestId: string,
    values: Record<string, AttributeValue>,
  ): Promise<{ ok: true; record: FenceRecord } | { ok: false; record: FenceRecord | undefined }> {
    const texts = [expression.update, expression.condition];
    const input: UpdateItemCommandInput = {
      TableName: this.tableName,
      Key: { [ATTR.key]: S(requestId) },
      UpdateExpression: expression.update,
      ConditionExpression: expression.condition,
      ExpressionAttributeNames: used(NAMES as Record<Name, string>, texts),
      ExpressionAttributeValues: used(values, texts),
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    };
    try {
      const { Attributes } = await this.client.send(new UpdateItemCommand(input));
      return { ok: true, record: parseRecord(Attributes ?? { [ATTR.key]: S(requestId) }) };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException) && (error as Error)?.name !== 'ConditionalCheckFailedException') throw error;
      const item = (error as ConditionalCheckFailedException).Item;
      return { ok: false, record: item ? parseRecord(item) : await this.get(requestId) };
    }
  }
}

/** The record read back, through the contract's schema (zod at the boundary). */
export function parseRecord(item: Record<string, AttributeValue>): FenceRecord {
  const parsed = fenceRecordSchema.safeParse(item);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new FenceError(`unreadable idempotency record ${item[ATTR.key]?.S ?? '(no request_id)'}: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  return parsed.data;
}
