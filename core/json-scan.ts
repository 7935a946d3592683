/**
 * One linear pass over JSON text, before JSON.parse: how deep it nests, its longest number, and its
 * top-level members as raw text. No recursion and no parse, so a hostile body (a megabyte of `[`) costs
 * one loop and cannot overflow the stack. It trusts nothing: on text that is not JSON the figures are
 * whatever the characters imply, and JSON.parse decides validity afterwards.
 */

export interface JsonMember {
  /** The key's JSON string literal, quotes and escapes included (decode it with JSON.parse). */
  readonly rawKey: string;
  /** The value's text, trimmed. */
  readonly rawValue: string;
}

export interface JsonScan {
  /** Deepest nesting of arrays and objects; the outermost container is level 1. */
  readonly depth: number;
  /** The top-level key holding the deepest nesting (raw literal); undefined when it is the body itself. */
  readonly depthKey?: string;
  /** Characters in the longest run of number characters outside strings. */
  readonly longestNumber: number;
  readonly numberKey?: string;
  /** The top-level object's members in order, duplicates included (JSON.parse keeps only the last). */
  readonly members: readonly JsonMember[];
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** 0-9 - + . e E: the characters of a JSON number. */
function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45;
}

export function scanJson(text: string): JsonScan {
  let depth = 0;
  let maxDepth = 0;
  let depthKey: string | undefined;
  let numberRun = 0;
  let longestNumber = 0;
  let numberKey: string | undefined;
  let inString = false;
  let escaped = false;
  let stringStart = 0;
  // Top-level object bookkeeping: the key being read, the member it opens, and where its value starts.
  let topIsObject = false;
  let expectKey = false;
  let pendingKey: string | undefined;
  let memberKey: string | undefined;
  let valueStart = -1;
  const members: JsonMember[] = [];
  const closeMember = (end: number) => {
    if (memberKey !== undefined && valueStart >= 0) members.push({ rawKey: memberKey, rawValue: text.slice(valueStart, end).trim() });
    valueStart = -1;
  };
  // Inside a member's value, the member names what is found there; outside one, it is the body's.
  const currentKey = () => (depth >= 1 && valueStart >= 0 ? memberKey : undefined);

  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (escaped) escaped = false;
      else if (c === BACKSLASH) escaped = true;
      else if (c === QUOTE) {
        inString = false;
        if (depth === 1 && expectKey) {
          pendingKey = text.slice(stringStart, i + 1);
          expectKey = false;
        }
      }
      continue;
    }
    if (isNumberChar(c)) {
      numberRun++;
      if (numberRun > longestNumber) {
        longestNumber = numberRun;
        numberKey = currentKey();
      }
      continue;
    }
    numberRun = 0;
    switch (text[i]) {
      case '"':
        inString = true;
        stringStart = i;
        break;
      case '{':
      case '[':
        depth++;
        if (depth === 1) {
          topIsObject = text[i] === '{';
          expectKey = topIsObject;
        }
        if (depth > maxDepth) {
          maxDepth = depth;
          depthKey = currentKey();
        }
        break;
      case '}':
      case ']':
        if (depth === 1) closeMember(i);
        depth = Math.max(0, depth - 1);
        break;
      case ':':
        if (depth === 1 && pendingKey !== undefined) {
          memberKey = pendingKey;
          pendingKey = undefined;
          valueStart = i + 1;
        }
        break;
      case ',':
        if (depth === 1) {
          closeMember(i);
          expectKey = topIsObject;
        }
        break;
    }
  }
  return { depth: maxDepth, depthKey, longestNumber, numberKey, members };
}
