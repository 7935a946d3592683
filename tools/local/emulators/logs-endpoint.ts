/**
 * A local CloudWatch Logs endpoint: node:http on 127.0.0.1 speaking the AWS JSON 1.1 protocol
 * (x-amz-target: Logs_20140328.<Action>), log groups and their events in memory. It serves what reading
 * Express executions on a deployed stage needs (tools/ops/express-logs.ts), so that path runs over the
 * wire with the real CloudWatchLogsClient:
 * - CreateLogGroup, CreateLogStream, PutLogEvents (the service's batch rules), DescribeLogGroups;
 * - FilterLogEvents: time range, streams, the filter patterns below, pages cut at `limit` events or
 *   1 MB as the service cuts them, nextToken;
 * - StartQuery / GetQueryResults / StopQuery: the Logs Insights commands fields, filter, stats, sort and
 *   limit as express-logs.ts writes them (newestExecutionsQuery); any other command or function is
 *   refused as MalformedQueryException, saying what this endpoint runs.
 * Filter patterns: empty (every event), terms (`ERROR "two words" -skip ?either`), and JSON patterns
 * (`{ $.a.b = "x*" && ($.n > 3 || $.c != "y") }`); a space-delimited pattern (`[a, b]`) is refused.
 * Errors are HTTP 400 with `{ __type, message }`, which the SDK raises as its named exceptions.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { localOnly } from './local-only.js';
import { PortInUseError } from './servers.js';

export interface LogsEndpointOptions {
  /** 0 (the default) takes any free port. */
  readonly port?: number;
  readonly region?: string;
  readonly accountId?: string;
  /** GetQueryResults answers Running this many times before Complete (default 0), as a real query takes a while. */
  readonly runningPolls?: number;
  /** A FilterLogEvents page holds at most this many bytes of events (default 1 MB, the service's cut). */
  readonly maxPageBytes?: number;
  /** The clock PutLogEvents judges too old / too new events by (default Date.now). */
  readonly now?: () => number;
}

export interface LogsEndpoint {
  /** http://127.0.0.1:<port>, for CloudWatchLogsClient's `endpoint`. */
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** An API error: HTTP 400 with `{ __type, message, ...extra }`, which the SDK turns into its named exception. */
export class LogsApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = type;
  }
}

// The service's limits.
const MAX_BATCH_EVENTS = 10_000;
const MAX_BATCH_BYTES = 1_048_576;
const EVENT_OVERHEAD_BYTES = 26;
const MAX_BATCH_SPAN_MS = 24 * 3600_000;
const TOO_NEW_MS = 2 * 3600_000;
const TOO_OLD_MS = 14 * 24 * 3600_000;
const MAX_QUERY_ROWS = 10_000;

// ---- request bodies ------------------------------------------------------------------------------

const groupName = z.string().min(1).max(512).regex(/^[.\-_/#A-Za-z0-9]+$/, 'Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+');
const streamName = z.string().min(1).max(512).regex(/^[^:*]*$/, 'Member must satisfy regular expression pattern: [^:*]*');
const epochMs = z.number().int().min(0);
const token = z.string().min(1).optional();

const createGroupSchema = z.object({
  logGroupName: groupName,
  kmsKeyId: z.string().optional(),
  tags: z.record(z.string(), z.string()).optional(),
  logGroupClass: z.string().optional(),
});
const createStreamSchema = z.object({ logGroupName: groupName, logStreamName: streamName });
const putSchema = z.object({
  logGroupName: groupName,
  logStreamName: streamName,
  logEvents: z.array(z.object({ timestamp: epochMs, message: z.string().min(1) })).min(1).max(MAX_BATCH_EVENTS),
  sequenceToken: z.string().optional(),
});
const describeGroupsSchema = z.object({
  logGroupNamePrefix: z.string().min(1).max(512).optional(),
  logGroupNamePattern: z.string().min(0).max(512).optional(),
  limit: z.number().int().min(1).max(50).optional(),
  nextToken: token,
});
const filterSchema = z.object({
  logGroupName: groupName.optional(),
  logGroupIdentifier: z.string().min(1).max(2048).optional(),
  logStreamNames: z.array(streamName).min(1).max(100).optional(),
  logStreamNamePrefix: streamName.optional(),
  startTime: epochMs.optional(),
  endTime: epochMs.optional(),
  filterPattern: z.string().max(1024).optional(),
  nextToken: token,
  limit: z.number().int().min(1).max(MAX_BATCH_EVENTS).optional(),
  interleaved: z.boolean().optional(),
  unmask: z.boolean().optional(),
});
const startQuerySchema = z.object({
  queryLanguage: z.string().optional(),
  logGroupName: groupName.optional(),
  logGroupNames: z.array(groupName).min(1).max(50).optional(),
  logGroupIdentifiers: z.array(z.string().min(1)).min(1).max(50).optional(),
  /** Epoch seconds. */
  startTime: z.number().int().min(0),
  endTime: z.number().int().min(0),
  queryString: z.string().max(10_000),
  limit: z.number().int().min(1).max(MAX_QUERY_ROWS).optional(),
});
const queryIdSchema = z.object({ queryId: z.string().min(1).max(256) });

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new LogsApiError(
    'InvalidParameterException',
    `1 validation error detected: Value at '${issue?.path.join('.') ?? ''}' failed to satisfy constraint: ${issue?.message ?? 'invalid'}`,
  );
}

// ---- storage -------------------------------------------------------------------------------------

interface StoredEvent {
  readonly timestamp: number;
  readonly message: string;
  readonly ingestionTime: number;
  /** Arrival order over the whole endpoint: orders events of equal timestamps. */
  readonly seq: number;
  readonly stream: string;
  readonly group: string;
}

interface Group {
  readonly name: string;
  readonly creationTime: number;
  readonly streams: Map<string, { readonly creationTime: number; readonly events: StoredEvent[] }>;
  storedBytes: number;
}

const byTime = (a: StoredEvent, b: StoredEvent) => a.timestamp - b.timestamp || a.seq - b.seq;

/** Opaque page tokens bound to the request they came from, so a token is not reused with other parameters. */
function encodeToken(scope: string, position: object): string {
  return Buffer.from(JSON.stringify({ scope, ...position })).toString('base64url');
}

function decodeToken<T>(value: string | undefined, scope: string, shape: z.ZodType<T>): T | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = z.object({ scope: z.literal(scope) }).passthrough().parse(JSON.parse(Buffer.from(value, 'base64url').toString()));
    return shape.parse(parsed);
  } catch {
    throw new LogsApiError('InvalidParameterException', 'The specified nextToken is invalid (it belongs to another request, or was not issued by this endpoint).');
  }
}

const scopeOf = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('base64url').slice(0, 16);

// ---- filter patterns (FilterLogEvents) --------------------------------------------------------------

type EventMatcher = (message: string) => boolean;

const badPattern = (pattern: string, why: string) =>
  new LogsApiError('InvalidParameterException', `Invalid filter pattern ${JSON.stringify(pattern)}: ${why}`);

/** A glob with `*` as any run of characters, matched against the whole value. */
const glob = (pattern: string) => new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's');

/** Terms: every plain term and "phrase" appears, no -term does, and one ?term does when any is given. */
function termMatcher(pattern: string): EventMatcher {
  const terms = [...pattern.matchAll(/([-?]?)(?:"((?:[^"\\]|\\.)*)"|(\S+))/g)].map((m) => ({ sign: m[1] ?? '', text: m[2] ?? m[3] ?? '' }));
  if (terms.some((t) => t.text === '')) throw badPattern(pattern, 'an empty term');
  const all = terms.filter((t) => t.sign === '').map((t) => t.text);
  const none = terms.filter((t) => t.sign === '-').map((t) => t.text);
  const any = terms.filter((t) => t.sign === '?').map((t) => t.text);
  return (message) => all.every((t) => message.includes(t)) && !none.some((t) => message.includes(t)) && (!any.length || any.some((t) => message.includes(t)));
}

/** `$.a.b[0].c` -> ['a', 'b', 0, 'c'] */
function selectorPath(selector: string, pattern: string): Array<string | number> {
  if (!/^\$(\.[A-Za-z_@$][\w@$-]*|\[\d+\])+$/.test(selector)) throw badPattern(pattern, `${selector} is not a selector ($.field, $.a.b, $.list[0])`);
  return [...selector.slice(1).matchAll(/\.([^.[]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : (m[1] as string)));
}

const at = (value: unknown, path: ReadonlyArray<string | number>) =>
  path.reduce<unknown>((v, key) => (v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[key] : undefined), value);

/** A JSON pattern: comparisons joined by && and ||, with parentheses. */
function jsonMatcher(pattern: string): EventMatcher {
  const inner = pattern.trim().slice(1, -1);
  const tokens = [...inner.matchAll(/\s*(&&|\|\||\(|\)|!=|<=|>=|=|<|>|"(?:[^"\\]|\\.)*"|[^\s()&|=!<>"]+)/gy)].map((m) => m[1] as string);
  if (tokens.join('').replace(/\s/g, '') !== inner.replace(/\s/g, '')) throw badPattern(pattern, 'it has characters a JSON pattern cannot hold here');
  let i = 0;
  type Node = (doc: unknown) => boolean;
  const expression = (): Node => {
    let node = conjunction();
    while (tokens[i] === '||') {
      i++;
      const left = node;
      const right = conjunction();
      node = (doc) => left(doc) || right(doc);
    }
    return node;
  };
  const conjunction = (): Node => {
    let node = term();
    while (tokens[i] === '&&') {
      i++;
      const left = node;
      const right = term();
      node = (doc) => left(doc) && right(doc);
    }
    return node;
  };
  const term = (): Node => {
    if (tokens[i] === '(') {
      i++;
      const node = expression();
      if (tokens[i++] !== ')') throw badPattern(pattern, 'a parenthesis is not closed');
      return node;
    }
    const selector = tokens[i++] ?? '';
    const op = tokens[i++] ?? '';
    const raw = tokens[i++];
    if (!['=', '!=', '<', '>', '<=', '>='].includes(op) || raw === undefined) {
      throw badPattern(pattern, `expected "$.selector <op> value" (op one of = != < > <= >=), found ${JSON.stringify([selector, op, raw ?? ''].join(' ').trim())}`);
    }
    const path = selectorPath(selector, pattern);
    const quoted = raw.startsWith('"');
    const text = quoted ? (JSON.parse(raw) as string) : raw;
    const number = !quoted && /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : undefined;
    if (number === undefined && !['=', '!='].includes(op)) throw badPattern(pattern, `${op} compares numbers only, not ${raw}`);
    const matches = glob(text);
    return (doc) => {
      const value = at(doc, path);
      if (value === undefined || value === null || typeof value === 'object') return false;
      if (number !== undefined && typeof value === 'number') {
        const cmp = { '=': value === number, '!=': value !== number, '<': value < number, '>': value > number, '<=': value <= number, '>=': value >= number };
        return cmp[op as keyof typeof cmp];
      }
      const equal = matches.test(String(value));
      return op === '=' ? equal : !equal;
    };
  };
  const root = expression();
  if (i !== tokens.length) throw badPattern(pattern, `unexpected ${JSON.stringify(tokens[i])}`);
  return (message) => {
    let doc: unknown;
    try {
      doc = JSON.parse(message);
    } catch {
      return false;
    }
    return root(doc);
  };
}

export function filterPatternMatcher(pattern: string | undefined): EventMatcher {
  const text = (pattern ?? '').trim();
  if (text === '') return () => true;
  if (text.startsWith('{')) {
    if (!text.endsWith('}')) throw badPattern(text, 'a JSON pattern ends with }');
    return jsonMatcher(text);
  }
  if (text.startsWith('[')) throw badPattern(text, 'space-delimited patterns ([a, b, ...]) are not served by this local endpoint');
  return termMatcher(text);
}

// ---- Logs Insights queries ---------------------------------------------------------------------------

/** A value in a query row: its text as GetQueryResults gives it, and a number to sort and compare by. */
interface Cell {
  readonly text: string;
  readonly num?: number;
}
type Row = Map<string, Cell>;

type Condition = (row: Row) => boolean;
interface Aggregate {
  readonly fn: 'count' | 'min' | 'max' | 'earliest' | 'latest';
  readonly field: string;
  readonly alias: string;
}
type Command =
  | { kind: 'fields'; fields: string[] }
  | { kind: 'filter'; condition: Condition }
  | { kind: 'stats'; aggregates: Aggregate[]; by: string[] }
  | { kind: 'sort'; keys: Array<{ field: string; desc: boolean }> }
  | { kind: 'limit'; count: number };

const COMMANDS = 'fields, filter, stats, sort and limit';
const FUNCTIONS = 'count, min, max, earliest and latest';

interface Token {
  readonly text: string;
  readonly kind: 'word' | 'string' | 'number' | 'punct';
  readonly start: number;
  readonly end: number;
}

class QuerySyntaxError extends LogsApiError {
  constructor(message: string, start: number, end: number) {
    super('MalformedQueryException', message, { queryCompileError: { location: { startCharOffset: start, endCharOffset: end }, message } });
  }
}

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s+|(`[^`]*`|[A-Za-z_@][\w@.$-]*)|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(-?\d+(?:\.\d+)?)|(!=|<=|>=|[|,()[\]=<>*])/gy;
  let at = 0;
  while (at < query.length) {
    re.lastIndex = at;
    const m = re.exec(query);
    if (!m) throw new QuerySyntaxError(`unexpected character ${JSON.stringify(query[at])} at position ${at}`, at, at + 1);
    const [whole, word, string, number, punct] = m;
    const start = m.index;
    const end = start + whole.length;
    at = end;
    if (word) tokens.push({ text: word.startsWith('`') ? word.slice(1, -1) : word, kind: 'word', start, end });
    else if (string) tokens.push({ text: string.slice(1, -1).replace(/\\(.)/g, '$1'), kind: 'string', start, end });
    else if (number) tokens.push({ text: number, kind: 'number', start, end });
    else if (punct) tokens.push({ text: punct, kind: 'punct', start, end });
  }
  return tokens;
}

/** Parses a query into commands; what this endpoint does not run is refused as Logs Insights refuses a bad query. */
export function parseInsightsQuery(query: string): Command[] {
  const tokens = tokenize(query);
  let i = 0;
  const peek = () => tokens[i];
  const fail = (message: string, token: Token | undefined = peek()): never => {
    const start = token?.start ?? query.length;
    throw new QuerySyntaxError(`${message} (at position ${start})`, start, token?.end ?? start);
  };
  const next = (what: string) => tokens[i++] ?? fail(`expected ${what}, found the end of the query`);
  const expect = (text: string) => {
    const token = next(`"${text}"`);
    if (token.text !== text || token.kind === 'string') fail(`expected "${text}", found "${token.text}"`, token);
  };
  const isWord = (text: string) => peek()?.kind === 'word' && peek()?.text.toLowerCase() === text;
  const field = () => {
    const token = next('a field name');
    if (token.kind !== 'word') fail(`expected a field name, found "${token.text}"`, token);
    return token.text;
  };
  const literal = (): Cell => {
    const token = next('a value');
    if (token.kind === 'string') return { text: token.text };
    if (token.kind === 'number') return { text: token.text, num: Number(token.text) };
    return fail(`expected a quoted string or a number, found "${token.text}"`, token);
  };
  const endOfCommand = () => !peek() || peek()?.text === '|';

  const comparison = (): Condition => {
    const name = field();
    if (isWord('not') || isWord('in')) {
      const negate = isWord('not');
      if (negate) i++;
      if (!isWord('in')) fail('expected "in" after "not"');
      i++;
      expect('[');
      const values: Cell[] = [literal()];
      while (peek()?.text === ',') {
        i++;
        values.push(literal());
      }
      expect(']');
      return (row) => {
        const cell = row.get(name);
        return cell !== undefined && values.some((v) => equal(cell, v)) !== negate;
      };
    }
    const op = next('a comparison');
    if (!['=', '!=', '<', '>', '<=', '>='].includes(op.text)) fail(`expected one of = != < > <= >= or in [...], found "${op.text}"`, op);
    const value = literal();
    return (row) => {
      const cell = row.get(name);
      if (cell === undefined) return false;
      const order = compare(cell, value);
      return { '=': order === 0, '!=': order !== 0, '<': order < 0, '>': order > 0, '<=': order <= 0, '>=': order >= 0 }[op.text as '='];
    };
  };
  const conjunction = (): Condition => {
    let condition = comparison();
    while (isWord('and')) {
      i++;
      const [left, right] = [condition, comparison()];
      condition = (row) => left(row) && right(row);
    }
    return condition;
  };
  const disjunction = (): Condition => {
    let condition = conjunction();
    while (isWord('or')) {
      i++;
      const [left, right] = [condition, conjunction()];
      condition = (row) => left(row) || right(row);
    }
    return condition;
  };

  const commands: Command[] = [];
  while (peek()) {
    const head = next('a command');
    const name = head.text.toLowerCase();
    if (name === 'fields') {
      const fields = [field()];
      while (peek()?.text === ',') {
        i++;
        fields.push(field());
      }
      commands.push({ kind: 'fields', fields });
    } else if (name === 'filter') {
      commands.push({ kind: 'filter', condition: disjunction() });
    } else if (name === 'stats') {
      const aggregates: Aggregate[] = [];
      do {
        if (aggregates.length) i++;
        const fnToken = next('a function');
        const fn = fnToken.text.toLowerCase();
        if (!['count', 'min', 'max', 'earliest', 'latest'].includes(fn) || fnToken.kind !== 'word') {
          fail(`this local endpoint runs the stats functions ${FUNCTIONS}, not "${fnToken.text}"`, fnToken);
        }
        expect('(');
        const arg = peek()?.text === '*' && fn === 'count' ? (i++, '*') : field();
        expect(')');
        let alias = `${fn}(${arg})`;
        if (isWord('as')) {
          i++;
          alias = field();
        }
        aggregates.push({ fn: fn as Aggregate['fn'], field: arg, alias });
      } while (peek()?.text === ',');
      const by: string[] = [];
      if (isWord('by')) {
        i++;
        by.push(field());
        while (peek()?.text === ',') {
          i++;
          by.push(field());
        }
      }
      commands.push({ kind: 'stats', aggregates, by });
    } else if (name === 'sort') {
      const keys: Array<{ field: string; desc: boolean }> = [];
      do {
        if (keys.length) i++;
        const key = field();
        let desc = false;
        if (isWord('desc') || isWord('asc')) desc = next('a direction').text.toLowerCase() === 'desc';
        keys.push({ field: key, desc });
      } while (peek()?.text === ',');
      commands.push({ kind: 'sort', keys });
    } else if (name === 'limit') {
      const count = next('a number');
      if (count.kind !== 'number' || !/^\d+$/.test(count.text) || Number(count.text) < 1 || Number(count.text) > MAX_QUERY_ROWS) {
        fail(`limit takes a whole number from 1 to ${MAX_QUERY_ROWS}, not "${count.text}"`, count);
      }
      commands.push({ kind: 'limit', count: Number(count.text) });
    } else {
      fail(`this local endpoint runs the Logs Insights commands ${COMMANDS}, not "${head.text}"`, head);
    }
    if (!endOfCommand()) fail(`unexpected "${peek()?.text}" in the ${name} command`);
    if (peek()?.text === '|') {
      i++;
      if (!peek()) fail('expected a command after "|"');
    }
  }
  if (!commands.length) throw new QuerySyntaxError('the query is empty', 0, 0);
  if (commands.filter((c) => c.kind === 'stats').length > 1) throw new QuerySyntaxError('this local endpoint runs one stats command per query', 0, query.length);
  return commands;
}

function compare(a: Cell, b: Cell): number {
  if (a.num !== undefined && b.num !== undefined) return a.num - b.num;
  return a.text < b.text ? -1 : a.text > b.text ? 1 : 0;
}
const equal = (a: Cell, b: Cell) => compare(a, b) === 0;

const pad = (n: number, width = 2) => String(n).padStart(width, '0');
/** @timestamp as Logs Insights shows it: "2025-12-02 10:23:00.000", UTC. */
export function insightsTimestamp(ms: number): string {
  const d = new Date(ms);
  const day = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  return `${day} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
}
const timeCell = (ms: number): Cell => ({ text: insightsTimestamp(ms), num: ms });

/** An event as a query row: its @ fields and the fields of its JSON message, nested ones by dotted name. */
function eventRow(event: StoredEvent): Row {
  const row: Row = new Map([
    ['@timestamp', timeCell(event.timestamp)],
    ['@ingestionTime', timeCell(event.ingestionTime)],
    ['@message', { text: event.message }],
    ['@logStream', { text: event.stream }],
    ['@log', { text: event.group }],
  ]);
  let doc: unknown;
  try {
    doc = JSON.parse(event.message);
  } catch {
    return row;
  }
  const visit = (value: unknown, prefix: string) => {
    if (value !== null && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) visit(inner, prefix ? `${prefix}.${key}` : key);
    } else if (prefix && value !== null && value !== undefined) {
      row.set(prefix, typeof value === 'number' ? { text: String(value), num: value } : { text: String(value) });
    }
  };
  if (doc !== null && typeof doc === 'object') visit(doc, '');
  return row;
}

interface QueryRun {
  readonly rows: Array<Array<{ field: string; value: string }>>;
  readonly recordsMatched: number;
}

/** Runs parsed commands over the events, in order; `limit` caps the rows returned (StartQuery's own limit). */
function runQuery(commands: readonly Command[], events: readonly StoredEvent[], limit: number): QueryRun {
  let rows: Array<{ row: Row; event?: StoredEvent }> = events.map((event) => ({ row: eventRow(event), event }));
  let projection: string[] | undefined;
  let recordsMatched: number | undefined;
  for (const command of commands) {
    if (command.kind === 'fields') projection = [...(projection ?? []), ...command.fields];
    else if (command.kind === 'filter') rows = rows.filter(({ row }) => command.condition(row));
    else if (command.kind === 'limit') limit = Math.min(limit, command.count);
    else if (command.kind === 'sort') {
      rows = [...rows].sort((a, b) => {
        for (const key of command.keys) {
          const [x, y] = [a.row.get(key.field), b.row.get(key.field)];
          // Rows without the field go last, whichever the direction.
          const order = x && y ? compare(x, y) : x ? -1 : y ? 1 : 0;
          if (order !== 0) return key.desc && x && y ? -order : order;
        }
        return 0;
      });
    } else {
      recordsMatched = rows.length;
      rows = aggregate(command, rows).map((row) => ({ row }));
      projection = [...command.by, ...command.aggregates.map((a) => a.alias)];
    }
  }
  const fields = projection ?? ['@timestamp', '@message'];
  return {
    recordsMatched: recordsMatched ?? rows.length,
    rows: rows.slice(0, limit).map(({ row, event }) => [
      ...fields.flatMap((field) => {
        const cell = row.get(field);
        return cell ? [{ field, value: cell.text }] : [];
      }),
      ...(event ? [{ field: '@ptr', value: Buffer.from(`${event.group}\u0000${event.stream}\u0000${event.seq}`).toString('base64url') }] : []),
    ]),
  };
}

function aggregate(stats: Extract<Command, { kind: 'stats' }>, rows: ReadonlyArray<{ row: Row; event?: StoredEvent }>): Row[] {
  const groups = new Map<string, Array<{ row: Row; event?: StoredEvent }>>();
  for (const entry of rows) {
    const key = JSON.stringify(stats.by.map((field) => entry.row.get(field)?.text ?? null));
    groups.set(key, [...(groups.get(key) ?? []), entry]);
  }
  return [...groups.values()].map((members) => {
    const first = members[0]?.row ?? new Map();
    const out: Row = new Map();
    for (const field of stats.by) {
      const cell = first.get(field);
      if (cell) out.set(field, cell);
    }
    for (const { fn, field, alias } of stats.aggregates) {
      const present = members.filter(({ row }) => field === '*' || row.has(field));
      if (fn === 'count') {
        out.set(alias, { text: String(present.length), num: present.length });
        continue;
      }
      if (!present.length) continue;
      let pick = present[0] as (typeof present)[number];
      for (const entry of present.slice(1)) {
        if (fn === 'min' || fn === 'max') {
          const order = compare(entry.row.get(field) as Cell, pick.row.get(field) as Cell);
          if (fn === 'min' ? order < 0 : order > 0) pick = entry;
        } else {
          // earliest/latest: by @timestamp; of equal times, the first or the last to arrive.
          const order = byTime(entry.event as StoredEvent, pick.event as StoredEvent);
          if (fn === 'earliest' ? order < 0 : order > 0) pick = entry;
        }
      }
      out.set(alias, pick.row.get(field) as Cell);
    }
    return out;
  });
}

interface Query {
  status: 'Running' | 'Complete' | 'Cancelled';
  pollsLeft: number;
  readonly run: QueryRun;
  readonly recordsScanned: number;
  readonly bytesScanned: number;
  readonly groups: number;
}

// ---- the server ------------------------------------------------------------------------------------

export async function startLogsEndpoint(options: LogsEndpointOptions = {}): Promise<LogsEndpoint> {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const now = options.now ?? Date.now;
  const maxPageBytes = options.maxPageBytes ?? MAX_BATCH_BYTES;
  const groups = new Map<string, Group>();
  const queries = new Map<string, Query>();
  let seq = 0;

  const groupArn = (name: string) => `arn:aws:logs:${region}:${accountId}:log-group:${name}`;
  const groupFor = (name: string) => {
    const group = groups.get(name);
    if (!group) throw new LogsApiError('ResourceNotFoundException', `The specified log group does not exist: ${name}`);
    return group;
  };
  /** logGroupIdentifier: a name or an ARN (with or without the trailing :*). */
  const groupByIdentifier = (identifier: string) => groupFor(identifier.startsWith('arn:') ? identifier.replace(/:\*$/, '').replace(/^.*:log-group:/, '') : identifier);

  const operations: Record<string, (body: unknown) => object> = {
    CreateLogGroup(body) {
      const { logGroupName } = parse(createGroupSchema, body);
      if (groups.has(logGroupName)) throw new LogsApiError('ResourceAlreadyExistsException', `The specified log group already exists: ${logGroupName}`);
      groups.set(logGroupName, { name: logGroupName, creationTime: now(), streams: new Map(), storedBytes: 0 });
      return {};
    },
    CreateLogStream(body) {
      const { logGroupName, logStreamName } = parse(createStreamSchema, body);
      const group = groupFor(logGroupName);
      if (group.streams.has(logStreamName)) throw new LogsApiError('ResourceAlreadyExistsException', `The specified log stream already exists: ${logStreamName}`);
      group.streams.set(logStreamName, { creationTime: now(), events: [] });
      return {};
    },
    PutLogEvents(body) {
      const request = parse(putSchema, body);
      const group = groupFor(request.logGroupName);
      const stream = group.streams.get(request.logStreamName);
      if (!stream) throw new LogsApiError('ResourceNotFoundException', `The specified log stream does not exist: ${request.logStreamName}`);
      const events = request.logEvents;
      if (events.some((e, i) => i > 0 && e.timestamp < (events[i - 1]?.timestamp ?? 0))) {
        throw new LogsApiError('InvalidParameterException', 'Log events in a single PutLogEvents request must be in chronological order.');
      }
      if ((events.at(-1)?.timestamp ?? 0) - (events[0]?.timestamp ?? 0) > MAX_BATCH_SPAN_MS) {
        throw new LogsApiError('InvalidParameterException', 'A batch of log events in a single request cannot span more than 24 hours.');
      }
      const bytes = events.reduce((sum, e) => sum + Buffer.byteLength(e.message) + EVENT_OVERHEAD_BYTES, 0);
      if (bytes > MAX_BATCH_BYTES) {
        throw new LogsApiError(
          'InvalidParameterException',
          `The batch of log events is ${bytes} bytes; at most ${MAX_BATCH_BYTES} are accepted (each message's UTF-8 bytes plus 26)`,
        );
      }
      // As the service does: events older than 14 days or more than 2 hours ahead are not stored, and said so.
      const at = now();
      const tooOldEnd = events.findLastIndex((e) => e.timestamp < at - TOO_OLD_MS) + 1;
      const tooNewStart = events.findIndex((e) => e.timestamp > at + TOO_NEW_MS);
      const kept = events.slice(tooOldEnd, tooNewStart === -1 ? undefined : tooNewStart);
      for (const e of kept) {
        stream.events.push({ timestamp: e.timestamp, message: e.message, ingestionTime: at, seq: ++seq, stream: request.logStreamName, group: group.name });
        group.storedBytes += Buffer.byteLength(e.message);
      }
      const rejected = { ...(tooOldEnd > 0 ? { tooOldLogEventEndIndex: tooOldEnd } : {}), ...(tooNewStart !== -1 ? { tooNewLogEventStartIndex: tooNewStart } : {}) };
      return Object.keys(rejected).length ? { rejectedLogEventsInfo: rejected } : {};
    },
    DescribeLogGroups(body) {
      const request = parse(describeGroupsSchema, body);
      if (request.logGroupNamePrefix && request.logGroupNamePattern) {
        throw new LogsApiError('InvalidParameterException', 'logGroupNamePrefix and logGroupNamePattern are mutually exclusive');
      }
      const scope = scopeOf(['groups', request.logGroupNamePrefix, request.logGroupNamePattern]);
      const after = decodeToken(request.nextToken, scope, z.object({ after: z.string() }))?.after;
      const matching = [...groups.values()]
        .filter((g) => !request.logGroupNamePrefix || g.name.startsWith(request.logGroupNamePrefix))
        .filter((g) => !request.logGroupNamePattern || g.name.toLowerCase().includes(request.logGroupNamePattern.toLowerCase()))
        .sort((a, b) => (a.name < b.name ? -1 : 1))
        .filter((g) => after === undefined || g.name > after);
      const page = matching.slice(0, request.limit ?? 50);
      const last = page.at(-1);
      return {
        logGroups: page.map((g) => ({
          logGroupName: g.name,
          creationTime: g.creationTime,
          metricFilterCount: 0,
          arn: `${groupArn(g.name)}:*`,
          logGroupArn: groupArn(g.name),
          storedBytes: g.storedBytes,
          logGroupClass: 'STANDARD',
        })),
        ...(last && matching.length > page.length ? { nextToken: encodeToken(scope, { after: last.name }) } : {}),
      };
    },
    FilterLogEvents(body) {
      const request = parse(filterSchema, body);
      if (!request.logGroupName === !request.logGroupIdentifier) {
        throw new LogsApiError('InvalidParameterException', 'Exactly one of logGroupName and logGroupIdentifier must be given');
      }
      if (request.logStreamNames && request.logStreamNamePrefix) {
        throw new LogsApiError('InvalidParameterException', 'logStreamNames and logStreamNamePrefix cannot both be given');
      }
      const group = request.logGroupName ? groupFor(request.logGroupName) : groupByIdentifier(request.logGroupIdentifier as string);
      const matches = filterPatternMatcher(request.filterPattern);
      for (const name of request.logStreamNames ?? []) {
        if (!group.streams.has(name)) throw new LogsApiError('ResourceNotFoundException', `The specified log stream does not exist: ${name}`);
      }
      const streams = [...group.streams.entries()].filter(
        ([name]) => (!request.logStreamNames || request.logStreamNames.includes(name)) && (!request.logStreamNamePrefix || name.startsWith(request.logStreamNamePrefix)),
      );
      // A token keeps to the group, streams and pattern it was issued for; the time range is the continuing
      // request's own (a caller that recomputes "the last N hours" for each page moves it a little).
      const scope = scopeOf(['filter', group.name, request.logStreamNames, request.logStreamNamePrefix, request.filterPattern]);
      // The token is the last event returned (time, arrival): events that arrive meanwhile do not shift pages.
      const after = decodeToken(request.nextToken, scope, z.object({ t: z.number(), s: z.number() }));
      const matching = streams
        .flatMap(([, s]) => s.events)
        .filter((e) => (request.startTime === undefined || e.timestamp >= request.startTime) && (request.endTime === undefined || e.timestamp <= request.endTime))
        .filter((e) => !after || e.timestamp > after.t || (e.timestamp === after.t && e.seq > after.s))
        .sort(byTime)
        .filter((e) => matches(e.message));
      const page: StoredEvent[] = [];
      let bytes = 0;
      for (const event of matching) {
        const size = Buffer.byteLength(event.message) + EVENT_OVERHEAD_BYTES;
        if (page.length === (request.limit ?? MAX_BATCH_EVENTS) || (page.length && bytes + size > maxPageBytes)) break;
        page.push(event);
        bytes += size;
      }
      const last = page.at(-1);
      return {
        events: page.map((e) => ({
          logStreamName: e.stream,
          timestamp: e.timestamp,
          message: e.message,
          ingestionTime: e.ingestionTime,
          eventId: `${e.timestamp}-${e.seq}`,
        })),
        searchedLogStreams: streams.map(([logStreamName]) => ({ logStreamName, searchedCompletely: true })),
        ...(last && matching.length > page.length ? { nextToken: encodeToken(scope, { t: last.timestamp, s: last.seq }) } : {}),
      };
    },
    StartQuery(body) {
      const request = parse(startQuerySchema, body);
      if (request.queryLanguage !== undefined && request.queryLanguage !== 'CWLI') {
        throw new LogsApiError('MalformedQueryException', `this local endpoint runs Logs Insights queries (queryLanguage CWLI), not ${request.queryLanguage}`);
      }
      const named = [request.logGroupName ? [request.logGroupName] : undefined, request.logGroupNames, request.logGroupIdentifiers].filter((g) => g !== undefined);
      if (named.length !== 1) {
        throw new LogsApiError('InvalidParameterException', 'Exactly one of logGroupName, logGroupNames and logGroupIdentifiers must be given');
      }
      if (request.endTime < request.startTime) throw new LogsApiError('InvalidParameterException', 'endTime cannot be before startTime');
      const targets = (named[0] as string[]).map((name) => {
        const group = request.logGroupIdentifiers ? groups.get(name.replace(/:\*$/, '').replace(/^.*:log-group:/, '')) : groups.get(name);
        if (!group) throw new LogsApiError('ResourceNotFoundException', `Log group '${name}' does not exist for account ID '${accountId}'`);
        return group;
      });
      const commands = parseInsightsQuery(request.queryString);
      // Both ends in whole seconds, the end second included.
      const [from, to] = [request.startTime * 1000, request.endTime * 1000 + 999];
      const events = targets
        .flatMap((g) => [...g.streams.values()].flatMap((s) => s.events))
        .filter((e) => e.timestamp >= from && e.timestamp <= to)
        .sort(byTime);
      const queryId = randomUUID();
      const runningPolls = options.runningPolls ?? 0;
      queries.set(queryId, {
        status: runningPolls > 0 ? 'Running' : 'Complete',
        pollsLeft: runningPolls,
        run: runQuery(commands, events, request.limit ?? MAX_QUERY_ROWS),
        recordsScanned: events.length,
        bytesScanned: events.reduce((sum, e) => sum + Buffer.byteLength(e.message), 0),
        groups: targets.length,
      });
      return { queryId };
    },
    GetQueryResults(body) {
      const { queryId } = parse(queryIdSchema, body);
      const query = queries.get(queryId);
      if (!query) throw new LogsApiError('ResourceNotFoundException', `No query with ID ${queryId} is known`);
      const running = query.status === 'Running';
      if (running && --query.pollsLeft <= 0) query.status = 'Complete';
      const done = !running && query.status === 'Complete';
      return {
        queryLanguage: 'CWLI',
        results: done ? query.run.rows : [],
        statistics: {
          recordsMatched: done ? query.run.recordsMatched : 0,
          recordsScanned: done ? query.recordsScanned : 0,
          bytesScanned: done ? query.bytesScanned : 0,
          estimatedRecordsSkipped: 0,
          estimatedBytesSkipped: 0,
          logGroupsScanned: query.groups,
        },
        status: running ? 'Running' : query.status,
      };
    },
    StopQuery(body) {
      const { queryId } = parse(queryIdSchema, body);
      const query = queries.get(queryId);
      if (!query) throw new LogsApiError('ResourceNotFoundException', `No query with ID ${queryId} is known`);
      if (query.status !== 'Running') throw new LogsApiError('InvalidParameterException', `Query ${queryId} is not running (it is ${query.status})`);
      query.status = 'Cancelled';
      return { success: true };
    },
  };

  const server = createServer(localOnly((req, res) => void handle(req, res)));

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const send = (status: number, payload: object) => {
      const text = JSON.stringify(payload);
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.1',
        'content-length': Buffer.byteLength(text),
        'x-amzn-requestid': randomUUID(),
      });
      res.end(text);
    };
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const target = String(req.headers['x-amz-target'] ?? '');
      const action = target.startsWith('Logs_20140328.') ? target.slice('Logs_20140328.'.length) : undefined;
      const operation = action !== undefined && Object.hasOwn(operations, action) ? operations[action] : undefined;
      if (req.method !== 'POST' || !operation) {
        throw new LogsApiError(
          'UnknownOperationException',
          `This local CloudWatch Logs endpoint does not serve '${target}'; it serves ${Object.keys(operations).join(', ')}`,
        );
      }
      let body: unknown;
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        body = text.trim() === '' ? {} : JSON.parse(text);
      } catch {
        throw new LogsApiError('SerializationException', 'The request body is not valid JSON');
      }
      send(200, operation(body));
    } catch (error) {
      if (error instanceof LogsApiError) send(400, { __type: error.type, message: error.message, ...error.extra });
      else send(500, { __type: 'ServiceUnavailableException', message: (error as Error)?.message ?? String(error) });
    }
  }

  const port = options.port ?? 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'EADDRINUSE' ? new PortInUseError('CloudWatch Logs endpoint', port) : error));
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;

  return {
    endpoint: `http://127.0.0.1:${bound}`,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
