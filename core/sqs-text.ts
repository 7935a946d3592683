/**
 * Text that SQS takes. A message body and a String attribute value may hold only
 * #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF; SQS refuses anything else
 * (InvalidMessageContents), a lone surrogate included. Reasons built from error messages can hold such
 * characters (V8's JSON.parse error quotes the offending code unit, half an emoji), and cutting text by
 * code units or bytes can split a character: every reason goes through here before it is sent or stored.
 * No AWS import.
 */

/** One character (code point) outside SQS's set; with the `u` flag a lone surrogate is one too. */
const OUTSIDE_SQS = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const OUTSIDE_SQS_ALL = new RegExp(OUTSIDE_SQS.source, 'gu');

export const REPLACEMENT_CHARACTER = '\uFFFD';

/** Whether SQS takes this text as a body or a String attribute value. */
export const isSqsText = (text: string): boolean => !OUTSIDE_SQS.test(text);

/** The first character SQS refuses, as SQS names it (`#x1`, `#xD83D`), or undefined. */
export function firstRefusedCharacter(text: string): string | undefined {
  const found = OUTSIDE_SQS.exec(text);
  return found ? `#x${(found[0].codePointAt(0) as number).toString(16).toUpperCase()}` : undefined;
}

/** The text with every character SQS refuses (lone surrogates, most control characters) replaced by U+FFFD. */
export const sqsText = (text: string): string => text.replace(OUTSIDE_SQS_ALL, REPLACEMENT_CHARACTER);

/**
 * Well-formed text cut to at most `maxBytes` of UTF-8, on a character boundary, ending in `marker` when
 * cut. Made SQS-safe first, so the result is always a valid attribute value or DynamoDB string.
 */
export function cutUtf8(text: string, maxBytes: number, marker = '...'): string {
  const safe = sqsText(text);
  if (Buffer.byteLength(safe) <= maxBytes) return safe;
  const room = maxBytes - Buffer.byteLength(marker);
  let bytes = 0;
  let end = 0;
  for (const char of safe) {
    const size = Buffer.byteLength(char);
    if (bytes + size > room) break;
    bytes += size;
    end += char.length;
  }
  return `${safe.slice(0, end)}${marker}`;
}

/** Well-formed text cut to at most `maxChars` code units, never inside a surrogate pair, ending in `marker` when cut. */
export function cutChars(text: string, maxChars: number, marker = '...'): string {
  const safe = sqsText(text);
  if (safe.length <= maxChars) return safe;
  let end = 0;
  for (const char of safe) {
    if (end + char.length > maxChars - marker.length) break;
    end += char.length;
  }
  return `${safe.slice(0, end)}${marker}`;
}
