/**
 * A message's body and attributes as the console shows them, like SQS's "poll for messages": the body as
 * it is (never parsed into something else), cut to its first few KiB so that a queue of 256 KiB bodies
 * stays quick to list, with how many bytes were left out and whether the whole body is JSON (the page
 * then indents what it shows). Pure: no SDK calls.
 */

/** How much of a body the console shows (UTF-8 bytes, as SQS counts a body's size). */
export const BODY_PREVIEW_BYTES = 4096;
/** How much of each attribute value the console shows. */
export const ATTRIBUTE_PREVIEW_BYTES = 1024;

/** A text cut to a number of UTF-8 bytes, never inside a character. */
export interface TextCut {
  /** The first bytes of the text (all of it when `moreBytes` is 0). */
  readonly text: string;
  /** The bytes not in `text`. */
  readonly moreBytes: number;
}

export interface BodyPreview extends TextCut {
  /** The whole body's size in UTF-8 bytes. */
  readonly bytes: number;
  /** Whether the whole body parses as JSON (the page indents it; what it holds is not changed). */
  readonly json: boolean;
}

export interface AttributePreview extends TextCut {
  readonly name: string;
}

export interface MessagePreview {
  readonly body: BodyPreview;
  /** The message's String (and Number) attributes, by name. */
  readonly attributes: AttributePreview[];
}

/** The first `maxBytes` UTF-8 bytes of `text`, cut before a character that does not fit whole. */
export function cutUtf8(text: string, maxBytes: number): TextCut & { readonly bytes: number } {
  const encoded = Buffer.from(text, 'utf8');
  if (encoded.length <= maxBytes) return { text, moreBytes: 0, bytes: encoded.length };
  let end = Math.max(0, maxBytes);
  // A byte 10xxxxxx continues a character: step back to where that character starts.
  while (end > 0 && ((encoded[end] as number) & 0xc0) === 0x80) end--;
  return { text: encoded.subarray(0, end).toString('utf8'), moreBytes: encoded.length - end, bytes: encoded.length };
}

/** Whether a body is JSON (a value of any kind). A body too deeply nested to parse is shown as text. */
export function isJson(body: string): boolean {
  try {
    JSON.parse(body);
    return true;
  } catch {
    return false;
  }
}

export function previewBody(body: string, maxBytes = BODY_PREVIEW_BYTES): BodyPreview {
  const cut = cutUtf8(body, maxBytes);
  return { text: cut.text, moreBytes: cut.moreBytes, bytes: cut.bytes, json: isJson(body) };
}

export function previewMessage(
  body: string,
  attributes: Readonly<Record<string, string | undefined>>,
  maxBytes = BODY_PREVIEW_BYTES,
  attributeBytes = ATTRIBUTE_PREVIEW_BYTES,
): MessagePreview {
  return {
    body: previewBody(body, maxBytes),
    attributes: Object.entries(attributes)
      .flatMap(([name, value]) => (value === undefined ? [] : [{ name, ...cutUtf8(value, attributeBytes) }]))
      .map(({ name, text, moreBytes }) => ({ name, text, moreBytes }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  };
}
