/**
 * The search of GET /api/executions, kept pure: the query's checks (zod), the order, the filter (name,
 * status, start time) and the pages, with an opaque cursor. The cursor is a position in the newest-first
 * order (start time, then ARN), not an offset: executions that start while a person pages do not shift
 * the pages, and a position means the same under any search, so a moving "last 15 min" window pages on.
 */
import { z } from 'zod';

/** What a search needs of an execution. */
export interface Searchable {
  readonly arn: string;
  readonly name: string;
  readonly status: string;
  /** Epoch ms. */
  readonly startDate: number;
}

/** A place in the newest-first order: the last execution of the page before. */
export interface Position {
  readonly startDate: number;
  readonly arn: string;
}

export interface ExecutionSearch {
  /** Part of the name, matched ignoring case. */
  readonly name?: string;
  readonly status?: string;
  /** Start time bounds, epoch ms, both inclusive. */
  readonly from?: number;
  readonly to?: number;
  readonly limit: number;
  /** Only executions after this one, in the newest-first order. */
  readonly after?: Position;
}

export interface ExecutionPage<T> {
  /** This page, newest first. */
  readonly executions: T[];
  /** How many matching executions come before this page: its first row is number offset + 1. */
  readonly offset: number;
  /** Executions that match the search, among those read. */
  readonly matching: number;
  /** False when the read stopped at its cap: older executions may match too, so `matching` is a lower bound. */
  readonly exact: boolean;
  /** Executions read, matching or not. */
  readonly scanned: number;
  /** The cursor of the next page; absent on the last one. */
  readonly nextToken?: string;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

// ---- the cursor ----------------------------------------------------------------------------------

const cursorSchema = z.strictObject({ v: z.literal(1), t: z.number().int().min(0), a: z.string().startsWith('arn:').max(2048) });

export function encodeCursor(position: Position): string {
  return Buffer.from(JSON.stringify({ v: 1, t: position.startDate, a: position.arn })).toString('base64url');
}

/** The position a cursor holds, or undefined when it is not one `encodeCursor` made. */
export function decodeCursor(token: string): Position | undefined {
  if (!/^[\w-]{1,4096}$/.test(token)) return undefined;
  try {
    const parsed = cursorSchema.safeParse(JSON.parse(Buffer.from(token, 'base64url').toString('utf8')));
    return parsed.success ? { startDate: parsed.data.t, arn: parsed.data.a } : undefined;
  } catch {
    return undefined;
  }
}

// ---- times: ISO 8601 or epoch ms --------------------------------------------------------------------

const EPOCH_MS = /^\d{1,16}$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const MAX_TIME = 8.64e15; // the largest time a Date holds

/**
 * Epoch ms from an ISO 8601 date (UTC midnight), date-time with its offset, or epoch ms; or why not.
 * A date-time without an offset is refused: the server's zone and the person's may differ.
 */
export function parseTime(text: string): { ms: number } | { error: string } {
  if (EPOCH_MS.test(text)) {
    const ms = Number(text);
    return ms <= MAX_TIME ? { ms } : { error: 'is past the largest time there is' };
  }
  const m = ISO_DATE.exec(text);
  if (!m) return { error: 'must be an ISO 8601 time (2024-05-01T10:00:00Z) or epoch milliseconds' };
  const [, y, mo, d, hh, mi, ss, frac, zone] = m;
  if (hh !== undefined && zone === undefined) return { error: 'needs a time zone: end it with Z or an offset such as +02:00' };
  const parts = [y, mo, d, hh ?? '0', mi ?? '0', ss ?? '0'].map(Number) as [number, number, number, number, number, number];
  const [year, month, day, hour, minute, second] = parts;
  const utc = Date.UTC(year, month - 1, day, hour, minute, second);
  const back = new Date(utc);
  // Date.UTC rolls 30 February over into March: a date that does not come back unchanged does not exist.
  if (back.getUTCFullYear() !== year || back.getUTCMonth() !== month - 1 || back.getUTCDate() !== day || back.getUTCHours() !== hour || back.getUTCMinutes() !== minute || back.getUTCSeconds() !== second) {
    return { error: `is not a date on the calendar (${text})` };
  }
  const millis = frac ? Math.floor(Number(`0.${frac}`) * 1000) : 0;
  let offsetMinutes = 0;
  if (zone && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = Number(digits.slice(2));
    if (oh > 23 || om > 59) return { error: `has an offset that is not one (${zone})` };
    offsetMinutes = sign * (oh * 60 + om);
  }
  return { ms: utc + millis - offsetMinutes * 60_000 };
}

// ---- the query ---------------------------------------------------------------------------------------

// Step Functions' names hold none of these, so a part of a name that does can match nothing.
const NOT_IN_NAMES = /[\s<>{}[\]?*"#%\\^|~`$&,;:/]/;

const time = z.string().transform((text, ctx) => {
  const parsed = parseTime(text);
  if ('ms' in parsed) return parsed.ms;
  ctx.addIssue({ code: 'custom', message: parsed.error });
  return z.NEVER;
});

/** The query of GET /api/executions, with the statuses the API knows. */
export function executionSearchQuery(statuses: readonly [string, ...string[]]) {
  return z
    .strictObject({
      name: z
        .string()
        .min(1, 'must not be empty (leave it out to match every name)')
        .max(80, 'must be at most 80 characters (a name is at most 80)')
        .refine((s) => !NOT_IN_NAMES.test(s), 'can match no execution: names hold no whitespace and none of < > { } [ ] ? * " # % \\ ^ | ~ ` $ & , ; : /')
        .optional(),
      status: z.enum(statuses, { error: `must be one of ${statuses.join(', ')}` }).optional(),
      from: time.optional(),
      to: time.optional(),
      limit: z.coerce
        .number({ error: 'must be a number' })
        .int('must be a whole number')
        .min(1, 'must be at least 1')
        .max(MAX_PAGE_SIZE, `must be at most ${MAX_PAGE_SIZE}`)
        .default(DEFAULT_PAGE_SIZE),
      nextToken: z
        .string()
        .transform((token, ctx) => {
          const position = decodeCursor(token);
          if (position) return position;
          ctx.addIssue({ code: 'custom', message: 'is not a cursor this console gave: pass back the nextToken of an earlier answer, unchanged' });
          return z.NEVER;
        })
        .optional(),
    })
    .superRefine((q, ctx) => {
      if (q.from !== undefined && q.to !== undefined && q.from > q.to) {
        const iso = (ms: number) => new Date(ms).toISOString();
        ctx.addIssue({ code: 'custom', path: ['from'], message: `is after to (${iso(q.from)} > ${iso(q.to)}): no execution can match` });
      }
    })
    .transform(({ nextToken, ...rest }): ExecutionSearch => ({ ...rest, ...(nextToken ? { after: nextToken } : {}) }));
}

// ---- the search ------------------------------------------------------------------------------------

/** Newest first; executions that started in the same millisecond are ordered by ARN, so every one has one place. */
export function newestFirst(a: Position, b: Position): number {
  return b.startDate - a.startDate || (a.arn < b.arn ? 1 : a.arn > b.arn ? -1 : 0);
}

export function matches(e: Searchable, search: Omit<ExecutionSearch, 'limit' | 'after'>): boolean {
  if (search.status && e.status !== search.status) return false;
  if (search.from !== undefined && e.startDate < search.from) return false;
  if (search.to !== undefined && e.startDate > search.to) return false;
  return !search.name || e.name.toLowerCase().includes(search.name.toLowerCase());
}

/**
 * One page of the executions that match `search`. `complete` says whether `all` is every execution
 * there is, or only the newest ones a capped read returned (then the counts are lower bounds).
 */
export function searchExecutions<T extends Searchable>(all: readonly T[], search: ExecutionSearch, complete: boolean): ExecutionPage<T> {
  const matching = all.filter((e) => matches(e, search)).sort(newestFirst);
  const after = search.after;
  const found = after ? matching.findIndex((e) => newestFirst(after, e) < 0) : 0;
  const offset = found < 0 ? matching.length : found;
  const executions = matching.slice(offset, offset + search.limit);
  const last = executions.at(-1);
  return {
    executions,
    offset,
    matching: matching.length,
    exact: complete,
    scanned: all.length,
    ...(last && offset + executions.length < matching.length ? { nextToken: encodeCursor(last) } : {}),
  };
}
