/**
 * A corpus of bad and odd master-queue bodies, each with what the dispatcher must do with it: dispatch
 * it unchanged (with the request_id and priority it reads), or dead-letter it with a reason matching a
 * regex. The unit test (test/functions/bad-input.test.ts) runs it through parseRequest and the intake's
 * triage; a chaos runner can send the same bodies through the whole stack:
 *
 *   import { BAD_INPUT } from '../../tools/chaos/bad-input.js';
 *   for (const c of BAD_INPUT) {
 *     if (c.sqsRefuses) { expect SendMessage to fail; continue }
 *     send c.body; then find it in a regional queue (dispatch) or in the dispatch DLQ with a `reason`
 *     attribute matching c.expected.reason (dead-letter)
 *   }
 *
 * Reasons are matched as the DLQ's `reason` attribute holds them (triage's wording). Request ids are
 * unique per case, so one run can send the whole corpus at once; send it again only after the
 * idempotency records expire, or the dispatch cases come back as duplicates.
 */
import { aloneBytes, EXECUTION_INPUT_BUDGET_BYTES } from '../../core/batching.js';
import { MAX_METADATA_BYTES, MAX_NESTING_DEPTH, MAX_NUMBER_CHARS, type Priority } from '../../core/request.js';

export type Expected =
  | { readonly result: 'dispatch'; readonly requestId: string; readonly priority: Priority }
  /** `stage` says which check refuses it: the request's parse, or the execution-size check after it. */
  | { readonly result: 'dead-letter'; readonly stage: 'parse' | 'size'; readonly reason: RegExp };

export interface BadInputCase {
  /** Unique, kebab-case. */
  readonly name: string;
  readonly class: string;
  readonly body: string;
  readonly expected: Expected;
  /** Why SQS's SendMessage refuses this body, when it does: a chaos runner expects the send to fail. */
  readonly sqsRefuses?: string;
}

/**
 * The message id the size cases are measured with. Triage measures the envelope, message id included;
 * SQS message ids are UUIDs, 36 characters, like this one.
 */
export const CORPUS_MESSAGE_ID = '0c6b7c9e-3d1f-4a5b-8e2d-9f0a1b2c3d4e';

const base = (requestId: string, extra: Record<string, unknown> = {}) => ({
  request_id: requestId,
  model_name: 'gpt-l-7b',
  input_data_url: `s3://inference-inputs/inputs/${requestId}.json`,
  ...extra,
});
const body = (requestId: string, extra: Record<string, unknown> = {}) => JSON.stringify(base(requestId, extra));
/** The raw members of a valid request, for bodies written by hand (duplicate keys, raw characters). */
const members = (requestId: string) =>
  `"request_id":"${requestId}","model_name":"gpt-l-7b","input_data_url":"s3://inference-inputs/inputs/${requestId}.json"`;

const dispatch = (requestId: string, priority: Priority = 'normal'): Expected => ({ result: 'dispatch', requestId, priority });
const refused = (reason: RegExp): Expected => ({ result: 'dead-letter', stage: 'parse', reason });
const tooLarge = (reason: RegExp): Expected => ({ result: 'dead-letter', stage: 'size', reason });

/** Arrays nested so that the whole body is `depth` levels deep (its object 1, metadata 2). */
const nestedMetadata = (requestId: string, depth: number) =>
  `{${members(requestId)},"metadata":{"deep":${'['.repeat(depth - 2)}${']'.repeat(depth - 2)}}}`;

/** A body with a top-level `pad` of exactly the length that makes its envelope `bytes` of execution input. */
function bodyTaking(requestId: string, bytes: number): string {
  const measure = (pad: number) =>
    aloneBytes({ messageId: CORPUS_MESSAGE_ID, requestId, body: body(requestId, { pad: 'x'.repeat(pad) }), priority: 'normal' });
  // Each 'x' adds one byte to the body and one to its escaped copy in the input.
  return body(requestId, { pad: 'x'.repeat(bytes - measure(0)) });
}

/** Metadata of exactly `bytes` once serialized: {"blob":"xx..."} is 11 bytes plus the blob. */
const metadataOf = (bytes: number) => ({ blob: 'x'.repeat(bytes - 11) });

// Keeps the hostile body below SQS's 1 MiB, with room for the attributes the dispatch DLQ adds to it.
const HOSTILE_BRACKETS = 1024 * 1024 - 8 * 1024;

export const BAD_INPUT: readonly BadInputCase[] = [
  // Not JSON at all.
  { name: 'not-json-text', class: 'not-json', body: 'this is not JSON', expected: refused(/^invalid request: body is not JSON/) },
  { name: 'not-json-truncated', class: 'not-json', body: '{"request_id": "req-c-trunc",', expected: refused(/^invalid request: body is not JSON/) },
  { name: 'not-json-nan', class: 'not-json', body: `{${members('req-c-nan')},"score":NaN}`, expected: refused(/^invalid request: body is not JSON/) },
  {
    name: 'empty-body',
    class: 'empty-body',
    body: '',
    expected: refused(/^invalid request: body is not JSON: the body is empty$/),
    sqsRefuses: 'a message body must hold at least one character',
  },
  { name: 'whitespace-body', class: 'whitespace-body', body: ' \n\t\r\n ', expected: refused(/^invalid request: body is not JSON: the body is only whitespace$/) },

  // JSON, but not an object.
  ...(
    [
      ['array', '[]'],
      ['array-of-request', `[${body('req-c-in-array')}]`],
      ['string', '"req-c-string"'],
      ['number', '42'],
      ['null', 'null'],
      ['boolean', 'true'],
    ] as const
  ).map(([variant, text]) => ({
    name: `not-object-${variant}`,
    class: 'not-object',
    body: text,
    expected: refused(/^invalid request: body must be a JSON object$/),
  })),

  // Each field of the wrong type.
  ...(
    [
      ['request_id', 42, /request_id must be a string/],
      ['model_name', 7, /model_name must be a string/],
      ['input_data_url', { bucket: 'b' }, /input_data_url must be a string/],
      ['callback_sns_topic', 1, /callback_sns_topic must be a string/],
      ['priority', 1, /priority must be one of high, normal, low/],
      ['timestamp', 1764670980, /timestamp/],
      ['metadata', ['user123'], /metadata must be an object/],
      ['metadata', 'user123', /metadata must be an object/],
    ] as const
  ).map(([field, value, reason], i) => ({
    name: `wrong-type-${field.replace(/_/g, '-')}-${i}`,
    class: 'wrong-type',
    body: JSON.stringify({ ...base(`req-c-type-${i}`), [field]: value }),
    expected: refused(reason),
  })),

  // request_id: missing, empty, too long, characters outside the set.
  { name: 'request-id-missing', class: 'request-id-missing', body: JSON.stringify({ model_name: 'm', input_data_url: 's3://b/k' }), expected: refused(/request_id is required/) },
  { name: 'request-id-empty', class: 'request-id-empty', body: body(''), expected: refused(/request_id must not be empty/) },
  { name: 'request-id-128', class: 'request-id-length', body: body(`req-c-${'x'.repeat(122)}`), expected: dispatch(`req-c-${'x'.repeat(122)}`) },
  { name: 'request-id-129', class: 'request-id-length', body: body(`req-c-${'x'.repeat(123)}`), expected: refused(/request_id must be at most 128 characters/) },
  ...(['req c space', 'req/c/slash', 'req-c-é', 'req-c\nnewline', 'req-c-\u0000-nul'] as const).map((id, i) => ({
    name: `request-id-charset-${i}`,
    class: 'request-id-charset',
    body: body(id),
    expected: refused(/request_id may hold only letters, digits and \. _ : -/),
  })),

  // Unknown priority, bad timestamps, URLs and topics.
  ...(['urgent', 'HIGH', ''] as const).map((priority, i) => ({
    name: `priority-unknown-${i}`,
    class: 'priority',
    body: body(`req-c-prio-${i}`, { priority }),
    expected: refused(/priority must be one of high, normal, low/),
  })),
  ...(['2025-12-02', '2025-12-02T10:23:00', '2025-13-02T10:23:00Z', 'yesterday'] as const).map((timestamp, i) => ({
    name: `timestamp-bad-${i}`,
    class: 'timestamp',
    body: body(`req-c-time-${i}`, { timestamp }),
    expected: refused(/timestamp must be an ISO 8601 date-time/),
  })),
  ...(['ftp://host/file', 'bucket/key', 'https://host/with space', `s3://b/${'k'.repeat(2048)}`] as const).map((url, i) => ({
    name: `url-bad-${i}`,
    class: 'url',
    body: JSON.stringify({ ...base(`req-c-url-${i}`), input_data_url: url }),
    expected: refused(/input_data_url must be (an s3:\/\/ or http\(s\):\/\/ URL|at most 2048 characters)/),
  })),
  {
    name: 'topic-not-sns',
    class: 'callback-topic',
    body: body('req-c-topic', { callback_sns_topic: 'arn:aws:sqs:us-east-1:123456789012:results' }),
    expected: refused(/callback_sns_topic must be an SNS topic ARN/),
  },

  // Nesting: at the limit, over it, far over it, in an unknown field, and hostile to a parser.
  { name: 'nesting-at-limit', class: 'nesting', body: nestedMetadata('req-c-nest-32', MAX_NESTING_DEPTH), expected: dispatch('req-c-nest-32') },
  {
    name: 'nesting-over-limit',
    class: 'nesting',
    body: nestedMetadata('req-c-nest-33', MAX_NESTING_DEPTH + 1),
    expected: refused(/^invalid request: metadata: nested 33 levels deep .*; the limit is 32$/),
  },
  {
    name: 'nesting-python-breaking',
    class: 'nesting',
    body: nestedMetadata('req-c-nest-1200', 1200),
    expected: refused(/^invalid request: metadata: nested 1200 levels deep .*; the limit is 32$/),
  },
  {
    name: 'nesting-unknown-field',
    class: 'nesting',
    body: `{${members('req-c-nest-field')},"options":{"stop":${'{"a":'.repeat(40)}1${'}'.repeat(40)}}}`,
    expected: refused(/^invalid request: options: nested 42 levels deep .*; the limit is 32$/),
  },
  {
    name: 'nesting-hostile-brackets',
    class: 'nesting-hostile',
    body: '['.repeat(HOSTILE_BRACKETS),
    expected: refused(new RegExp(`^invalid request: body: nested ${HOSTILE_BRACKETS} levels deep .*; the limit is 32$`)),
  },
  {
    name: 'nesting-brackets-in-strings',
    class: 'nesting',
    body: body('req-c-nest-strings', { metadata: { text: `${'['.repeat(500)}\\"{{{${'{'.repeat(500)}` } }),
    expected: dispatch('req-c-nest-strings'),
  },

  // Metadata size: at the limit and one byte over.
  { name: 'metadata-at-limit', class: 'metadata-size', body: body('req-c-meta-at', { metadata: metadataOf(MAX_METADATA_BYTES) }), expected: dispatch('req-c-meta-at') },
  {
    name: 'metadata-over-limit',
    class: 'metadata-size',
    body: body('req-c-meta-over', { metadata: metadataOf(MAX_METADATA_BYTES + 1) }),
    expected: refused(/^invalid request: metadata: 16385 bytes once serialized; the limit is 16384 \(16 KiB\)$/),
  },
  {
    name: 'metadata-huge',
    class: 'metadata-size',
    body: body('req-c-meta-huge', { metadata: metadataOf(200 * 1024) }),
    expected: refused(/^invalid request: metadata: 204800 bytes once serialized; the limit is 16384/),
  },

  // Number literals: Python refuses integers of over 4300 digits.
  { name: 'number-at-limit', class: 'number', body: `{${members('req-c-num-100')},"score":${'9'.repeat(MAX_NUMBER_CHARS)}}`, expected: dispatch('req-c-num-100') },
  {
    name: 'number-over-limit',
    class: 'number',
    body: `{${members('req-c-num-101')},"score":${'9'.repeat(MAX_NUMBER_CHARS + 1)}}`,
    expected: refused(/^invalid request: score: a number 101 characters long; the limit is 100$/),
  },
  {
    name: 'number-python-breaking',
    class: 'number',
    body: `{${members('req-c-num-5000')},"metadata":{"n":${'1'.repeat(5000)}}}`,
    expected: refused(/^invalid request: metadata: a number 5000 characters long; the limit is 100$/),
  },

  // Prototype-pollution keys: JSON.parse makes them plain keys and zod drops __proto__ from what it
  // returns; the body goes on byte for byte, and neither the id nor the priority comes from them.
  {
    name: 'proto-in-metadata',
    class: 'prototype',
    body: `{${members('req-c-proto-meta')},"metadata":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}}`,
    expected: dispatch('req-c-proto-meta'),
  },
  {
    name: 'proto-top-level',
    class: 'prototype',
    body: `{${members('req-c-proto-top')},"__proto__":{"priority":"high","polluted":true},"prototype":{"polluted":true}}`,
    expected: dispatch('req-c-proto-top', 'normal'),
  },
  {
    name: 'proto-holds-request-id',
    class: 'prototype',
    body: '{"__proto__":{"request_id":"req-c-proto-only","model_name":"m","input_data_url":"s3://b/k"}}',
    expected: refused(/request_id is required/),
  },

  // A byte-order mark, and control characters raw and escaped.
  { name: 'bom-at-start', class: 'bom', body: `\uFEFF${body('req-c-bom')}`, expected: refused(/^invalid request: body starts with a byte-order mark \(U\+FEFF\)/) },
  { name: 'bom-inside-string', class: 'unicode', body: body('req-c-bom-inside', { metadata: { note: '\uFEFFhello' } }), expected: dispatch('req-c-bom-inside') },
  { name: 'control-raw-tab-in-string', class: 'control-characters', body: `{${members('req-c-tab')},"metadata":{"note":"a\tb"}}`, expected: refused(/^invalid request: body is not JSON/) },
  {
    name: 'control-raw-soh-in-string',
    class: 'control-characters',
    body: `{${members('req-c-soh')},"metadata":{"note":"a\u0001b"}}`,
    expected: refused(/^invalid request: body is not JSON/),
    sqsRefuses: 'U+0001 is not among the characters SQS accepts in a body',
  },
  { name: 'control-escaped-in-string', class: 'control-characters', body: body('req-c-escaped', { metadata: { note: 'a\u0000b\u001fc' } }), expected: dispatch('req-c-escaped') },
  { name: 'control-whitespace-between-tokens', class: 'control-characters', body: `\r\n\t{\t${members('req-c-ws')}\r\n}\n`, expected: dispatch('req-c-ws') },
  { name: 'unicode-lone-surrogate-escaped', class: 'unicode', body: `{${members('req-c-surrogate')},"metadata":{"s":"\\ud800"}}`, expected: dispatch('req-c-surrogate') },

  // Duplicate keys: JSON.parse and Python's json both keep the last.
  { name: 'duplicate-request-id-same', class: 'duplicate-request-id', body: `{${members('req-c-dup-same')},"request_id":"req-c-dup-same"}`, expected: dispatch('req-c-dup-same') },
  {
    name: 'duplicate-request-id-different',
    class: 'duplicate-request-id',
    body: `{${members('req-c-dup-first')},"request_id":"req-c-dup-last"}`,
    expected: refused(/^invalid request: request_id: given 2 times with different values \("req-c-dup-first", "req-c-dup-last"\)/),
  },
  {
    name: 'duplicate-request-id-escaped-key',
    class: 'duplicate-request-id',
    body: `{${members('req-c-dup-esc-1')},"request\\u005fid":"req-c-dup-esc-2"}`,
    expected: refused(/^invalid request: request_id: given 2 times with different values/),
  },
  {
    name: 'duplicate-request-id-same-escaped-value',
    class: 'duplicate-request-id',
    body: `{${members('req-c-dup-esc')},"request_id":"req-c-dup-\\u0065sc"}`,
    expected: dispatch('req-c-dup-esc'),
  },
  { name: 'duplicate-priority', class: 'duplicate-other-keys', body: `{${members('req-c-dup-prio')},"priority":"low","priority":"high"}`, expected: dispatch('req-c-dup-prio', 'high') },
  { name: 'duplicate-metadata-key', class: 'duplicate-other-keys', body: `{${members('req-c-dup-meta')},"metadata":{"user_id":"a","user_id":"b"}}`, expected: dispatch('req-c-dup-meta') },

  // The execution-input budget: at it, one byte over, and over only once escaped.
  { name: 'size-at-budget', class: 'size', body: bodyTaking('req-c-size-at', EXECUTION_INPUT_BUDGET_BYTES), expected: dispatch('req-c-size-at') },
  {
    name: 'size-over-budget',
    class: 'size',
    body: bodyTaking('req-c-size-over', EXECUTION_INPUT_BUDGET_BYTES + 1),
    expected: tooLarge(/^too large: the request takes 245761 bytes of execution input .*; the budget is 245760 bytes \(240 KiB\): the 256 KiB Step Functions payload limit less 16 KiB kept for the workflow's bookkeeping$/),
  },
  {
    name: 'size-over-once-escaped',
    class: 'size',
    body: body('req-c-size-quotes', { pad: '"'.repeat(70_000) }),
    expected: tooLarge(/^too large: the request takes \d+ bytes of execution input/),
  },
];
