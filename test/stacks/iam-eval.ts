/**
 * The part of IAM policy evaluation the rules need, written from the IAM user guide ("Policy evaluation
 * logic", "Condition operators", "Single-valued vs. multivalued context keys"): an explicit Deny wins,
 * then an Allow, else the request is implicitly denied. Conditions: the String, Arn and Bool operators,
 * their IfExists forms, and the ForAnyValue/ForAllValues set operators. An operator it does not know
 * throws, so a policy it cannot read is never passed by accident.
 */
import type { Statement } from './harness/model.js';

export interface Request {
  readonly action: string;
  readonly resource: string;
  /** Condition keys of the request; an absent key is absent. Multivalued keys are arrays. */
  readonly context?: Readonly<Record<string, string | readonly string[]>>;
}

export type Decision = 'allow' | 'deny' | 'implicit-deny';

/** An IAM pattern ("*" any run of characters, "?" one), case-sensitive unless told otherwise. */
export function globMatch(pattern: string, value: string, caseInsensitive = false): boolean {
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, caseInsensitive ? 'is' : 's').test(value);
}

/** Action names are case-insensitive. */
export const actionMatches = (statement: Statement, action: string) => statement.actions.some((a) => globMatch(a, action, true));
export const resourceMatches = (statement: Statement, resource: string) => statement.resources.some((r) => globMatch(r, resource));

/** S3 actions authorized against the bucket, never against an object in it. */
const BUCKET_ACTIONS = /^s3:(ListBucket|ListBucketVersions|ListBucketMultipartUploads|GetBucket\w*|PutBucket\w*)$/i;
const S3_OBJECT_ARN = /^arn:[^:]+:s3:::[^/]+\/.+/;

/**
 * Whether a statement can apply to this ARN with one of its own actions: a pattern that matches an
 * object's ARN does not reach the object through bucket-level actions (a wildcard matches "/" too).
 */
export function reaches(statement: Statement, arn: string, pattern: string): boolean {
  if (!globMatch(pattern, arn)) return false;
  return !(S3_OBJECT_ARN.test(arn) && statement.actions.every((a) => BUCKET_ACTIONS.test(a)));
}

type Values = readonly string[];
const BASE_OPERATORS: Record<string, (pattern: string, value: string) => boolean> = {
  StringEquals: (p, v) => p === v,
  StringNotEquals: (p, v) => p !== v,
  StringEqualsIgnoreCase: (p, v) => p.toLowerCase() === v.toLowerCase(),
  StringLike: (p, v) => globMatch(p, v),
  StringNotLike: (p, v) => !globMatch(p, v),
  ArnEquals: (p, v) => p === v,
  ArnLike: (p, v) => globMatch(p, v),
  ArnNotEquals: (p, v) => p !== v,
  ArnNotLike: (p, v) => !globMatch(p, v),
  Bool: (p, v) => p.toLowerCase() === v.toLowerCase(),
};
const NEGATED = new Set(['StringNotEquals', 'StringNotLike', 'ArnNotEquals', 'ArnNotLike']);

/** One condition block entry: operator, key, the values the policy names. */
function conditionHolds(operator: string, key: string, policyValues: Values, context: Request['context']): boolean {
  if (operator === 'Null') {
    const absent = context?.[key] === undefined;
    return policyValues.some((p) => (p === 'true') === absent);
  }
  const set = /^(ForAnyValue|ForAllValues):/.exec(operator)?.[1];
  let base = set ? operator.slice(set.length + 1) : operator;
  const ifExists = base.endsWith('IfExists');
  if (ifExists) base = base.slice(0, -'IfExists'.length);
  const test = BASE_OPERATORS[base];
  if (!test) throw new Error(`no rule for condition operator ${operator}`);
  const raw = context?.[key];
  if (raw === undefined) {
    if (ifExists) return true;
    if (set === 'ForAllValues') return true;
    if (set === 'ForAnyValue') return false;
    // A negated operator matches a request without the key; the others do not.
    return NEGATED.has(base);
  }
  const values: Values = typeof raw === 'string' ? [raw] : raw;
  // A negated operator holds when no policy value matches; the others when any does.
  const one = (value: string) => (NEGATED.has(base) ? policyValues.every((p) => test(p, value)) : policyValues.some((p) => test(p, value)));
  if (set === 'ForAllValues') return values.every(one);
  if (set === 'ForAnyValue') return values.some(one);
  return values.length === 1 && one(values[0]!);
}

/** Whether every condition of the statement holds for the request. */
export function conditionsHold(statement: Statement, context: Request['context']): boolean {
  const condition = (statement.condition ?? {}) as Record<string, Record<string, string | string[]>>;
  return Object.entries(condition).every(([operator, keys]) =>
    Object.entries(keys).every(([key, value]) => conditionHolds(operator, key, typeof value === 'string' ? [value] : value, context)),
  );
}

const applies = (statement: Statement, request: Request) =>
  statement.notActions.length === 0 &&
  statement.notResources.length === 0 &&
  actionMatches(statement, request.action) &&
  resourceMatches(statement, request.resource) &&
  conditionsHold(statement, request.context);

export function evaluate(statements: readonly Statement[], request: Request): Decision {
  if (statements.some((s) => (s.notActions.length > 0 || s.notResources.length > 0))) {
    throw new Error('NotAction and NotResource are not evaluated here');
  }
  if (statements.some((s) => s.effect === 'Deny' && applies(s, request))) return 'deny';
  if (statements.some((s) => s.effect === 'Allow' && applies(s, request))) return 'allow';
  return 'implicit-deny';
}

/**
 * Whether some context lets the request through: every Allow's conditions taken as satisfiable, only a
 * Deny without conditions counted. What a rule about "can this ever happen" needs.
 */
export function everAllowed(statements: readonly Statement[], action: string, resource: string): boolean {
  const matches = (s: Statement) => actionMatches(s, action) && resourceMatches(s, resource);
  if (statements.some((s) => s.effect === 'Deny' && matches(s) && s.condition === undefined)) return false;
  return statements.some((s) => s.effect === 'Allow' && matches(s));
}
