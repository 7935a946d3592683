/**
 * Where the fence keeps its state: the request's idempotency record (core/record.ts), behind a small
 * interface. The DynamoDB implementation makes each operation ONE conditional UpdateItem; when the
 * condition fails it reads the record (from the error when DynamoDB returns it, else with a consistent
 * GetItem: dynalite accepts ReturnValuesOnConditionCheckFailure but returns nothing) and throws the
 * typed error that says why.
 */
import {
  ConditionalCheckFailedException,
  GetItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { ATTR, RECORD_STATUS, requestRecordSchema, WORK_STATUS, type RequestRecord } from '../core/record.js';
import { acceptRefusal, FenceError, holderRefusal } from './errors.js';

/** Epoch seconds throughout. */
export interface AcceptWrite {
  readonly requestId: string;
  readonly token: string;
  readonly workerId: string;
  readonly now: number;
  /** now + lease: until then no other acceptance, not even of the same token. */
  readonly acceptedUntil: number;
  /** The record's TTL after this write (now + 7 days). */
  readonly expiresAt: number;
}

export interface HolderWrite {
  readonly requestId: string;
  readonly token: string;
  readonly workerId: string;
  readonly now: number;
}

export interface FencePersistence {
  /** Throws AlreadyAcceptedError, AlreadyCompletedError or DeadLetteredError when refused. */
  accept(write: AcceptWrite): Promise<RequestRecord>;
  /** Throws NotHolderError when refused. */
  complete(write: HolderWrite): Promise<RequestRecord>;
  /** Throws NotHolderError, or AlreadyCompletedError when the holder already completed it. */
  release(write: HolderWrite): Promise<void>;
  /** Throws NotHolderError when refused. */
  extend(write: HolderWrite & { readonly acceptedUntil: number }): Promise<RequestRecord>;
  get(requestId: string): Promise<RequestRecord | undefined>;
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
} as const;
type Name = keyof typeof NAMES;

/**
 * The accept condition, as a list of named cases (all must hold). A comparison with a missing
 * attribute is false in DynamoDB, hence the attribute_not_exists(...) OR ... forms.
 */
export const ACCEPT_CONDITION_CASES = {
  notDeadLettered: '(attribute_not_exists(#status) OR #status <> :deadLettered)',
  notCompleted: '(attribute_not_exists(#workStatus) OR #workStatus <> :completed)',
  /** Nobody holds it (never accepted, released, or no record at all), or this same copy holds it and its lease has expired. */
  freeOrOwnLeaseExpired: '(attribute_not_exists(#acceptedToken) OR (#acceptedToken = :token AND #acceptedUntil < :now))',
} as const;

export const EXPRESSIONS = {
  accept: {
    update:
      'SET #acceptedToken = :token, #acceptedBy = :worker, #acceptedAt = :now, #acceptedUntil = :until, #workStatus = :accepted, #expiresAt = :expiresAt',
    condition: Object.values(ACCEPT_CONDITION_CASES).join(' AND '),
  },
  complete: {
    update: 'SET #workStatus = :completed, #completedAt = :now',
    condition: '#acceptedToken = :token AND #acceptedBy = :worker',
  },
  release: {
    update: 'REMOVE #acceptedToken, #acceptedBy, #acceptedAt, #acceptedUntil, #workStatus',
    condition: '#acceptedToken = :token AND #acceptedBy = :worker AND (attribute_not_exists(#workStatus) OR #workStatus <> :completed)',
  },
  extend: {
    update: 'SET #acceptedUntil = :until',
    condition: '#acceptedToken = :token AND #acceptedBy = :worker',
  },
} as const;

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

  async accept(write: AcceptWrite): Promise<RequestRecord> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.update(EXPRESSIONS.accept, write.requestId, {
        ':token': S(write.token),
        ':worker': S(write.workerId),
        ':now': N(write.now),
        ':until': N(write.acceptedUntil),
        ':accepted': S(WORK_STATUS.accepted),
        ':expiresAt': N(write.expiresAt),
        ':deadLettered': S(RECORD_STATUS.deadLettered),
        ':completed': S(WORK_STATUS.completed),
      });
      if (outcome.ok) return outcome.record;
      if (!outcome.record) {
        // Refused, yet no record: it was deleted in between. Write again.
        if (attempt < ACCEPT_ATTEMPTS) continue;
        throw new FenceError(`request ${write.requestId}: acceptance refused ${attempt} times and no record found`);
      }
      const refusal = acceptRefusal(outcome.record, write.token, write.now);
      if (refusal) throw refusal;
      if (attempt >= ACCEPT_ATTEMPTS) {
        throw new FenceError(`request ${write.requestId}: acceptance refused ${attempt} times by a record that keeps changing`);
      }
    }
  }

  async complete(write: HolderWrite): Promise<RequestRecord> {
    const outcome = await this.update(EXPRESSIONS.complete, write.requestId, this.holderValues(write, { ':completed': S(WORK_STATUS.completed) }));
    if (outcome.ok) return outcome.record;
    throw this.holderError('complete', write, outcome.record);
  }

  async release(write: HolderWrite): Promise<void> {
    const outcome = await this.update(EXPRESSIONS.release, write.requestId, this.holderValues(write, { ':completed': S(WORK_STATUS.completed) }));
    if (outcome.ok) return;
    throw this.holderError('release', write, outcome.record);
  }

  async extend(write: HolderWrite & { readonly acceptedUntil: number }): Promise<RequestRecord> {
    const outcome = await this.update(EXPRESSIONS.extend, write.requestId, this.holderValues(write, { ':until': N(write.acceptedUntil) }));
    if (outcome.ok) return outcome.record;
    throw this.holderError('extend', write, outcome.record);
  }

  async get(requestId: string): Promise<RequestRecord | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { [ATTR.key]: S(requestId) }, ConsistentRead: true }),
    );
    return Item ? parseRecord(Item) : undefined;
  }

  private holderValues(write: HolderWrite, extra: Record<string, AttributeValue>): Record<string, AttributeValue> {
    return { ':token': S(write.token), ':worker': S(write.workerId), ':now': N(write.now), ...extra };
  }

  private holderError(operation: 'complete' | 'release' | 'extend', write: HolderWrite, record: RequestRecord | undefined): FenceError {
    return (
      holderRefusal(operation, write.requestId, write.token, write.workerId, record) ??
      new FenceError(`request ${write.requestId}: ${operation} refused, yet the record read back names ${write.workerId} as its holder`)
    );
  }

  /** One conditional UpdateItem; on a failed condition, the record as it stands (undefined: no record). */
  private async update(
    expression: { readonly update: string; readonly condition: string },
    requestId: string,
    values: Record<string, AttributeValue>,
  ): Promise<{ ok: true; record: RequestRecord } | { ok: false; record: RequestRecord | undefined }> {
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
export function parseRecord(item: Record<string, AttributeValue>): RequestRecord {
  const parsed = requestRecordSchema.safeParse(item);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new FenceError(`unreadable idempotency record ${item[ATTR.key]?.S ?? '(no request_id)'}: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  return parsed.data;
}
