/**
 * FilterLogEvents' filter patterns, as the local CloudWatch Logs endpoint (logs-endpoint.ts) runs them:
 * empty (every event), terms (`ERROR "two words" -skip ?either`), and JSON patterns
 * (`{ $.a.b = "x*" && ($.n > 3 || $.c != "y") }`); a space-delimited pattern (`[a, b]`) is refused.
 * A pattern that cannot be read is refused as InvalidParameterException, saying why.
 */
import { LogsApiError } from './logs-api-error.js';

export type EventMatcher = (message: string) => boolean;

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

/** Whether an event's message matches a filterPattern (none or blank: every event). */
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
