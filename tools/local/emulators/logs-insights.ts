/**
 * Logs Insights queries, as the local CloudWatch Logs endpoint (logs-endpoint.ts) runs them: the commands
 * fields, filter, stats, sort and limit as tools/ops/express-logs.ts writes them (newestExecutionsQuery),
 * over the events of a query's time range. Any other command or function is refused as
 * MalformedQueryException, saying what this endpoint runs and where in the query.
 */
import { LogsApiError } from './logs-api-error.js';
import { byTime, type StoredEvent } from './logs-events.js';

/** The most rows a query returns (the service's cap, and StartQuery's largest limit). */
export const MAX_QUERY_ROWS = 10_000;

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
export type Command =
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

export interface QueryRun {
  readonly rows: Array<Array<{ field: string; value: string }>>;
  readonly recordsMatched: number;
}

/** Runs parsed commands over the events, in order; `limit` caps the rows returned (StartQuery's own limit). */
export function runQuery(commands: readonly Command[], events: readonly StoredEvent[], limit: number): QueryRun {
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
