/**
 * The inference request as producers put it on the master queue (the original system's message format).
 * Unknown fields are kept: the dispatcher forwards the original body byte for byte.
 */
import { z } from 'zod';
import { scanJson, type JsonScan } from './json-scan.js';
import { cutChars, sqsText } from './sqs-text.js';

/*
 * Limits on the free-form parts of a body (metadata and unknown fields), set by what a Python worker's
 * json.loads can take. Key counts and lengths get no limit of their own: the size limits bound them, and
 * Python's dicts take tens of thousands of keys without trouble.
 */
/**
 * Nesting of arrays and objects in the whole body, its own object being level 1. CPython's json recurses
 * once per level and raises RecursionError at about 1000 (3.11: at 1000; fewer in threads with small
 * stacks or under a deep call stack). 32 is far below that and far above any real request (the seed's
 * nests 2 levels).
 */
export const MAX_NESTING_DEPTH = 32;
/**
 * Serialized metadata. It carries identifiers and tags (the seed's user_id, session_id), not inputs, which
 * travel by input_data_url; 16 KiB is ample for that, and ten requests with full metadata still fit one
 * execution's input budget.
 */
export const MAX_METADATA_BYTES = 16 * 1024;
/**
 * Characters of one number literal. Python 3.11+ refuses to convert an integer of over 4300 digits
 * (ValueError in json.loads); no real number needs more than a few dozen characters.
 */
export const MAX_NUMBER_CHARS = 100;

export const PRIORITIES = ['high', 'normal', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** A string field whose error says whether it was missing or of the wrong type. */
const text = (field: string) =>
  z.string({ error: (issue) => (issue.input === undefined ? `${field} is required` : `${field} must be a string`) });

const requestId = text('request_id')
  .min(1, 'request_id must not be empty')
  .max(128, 'request_id must be at most 128 characters')
  .regex(/^[A-Za-z0-9._:-]+$/, 'request_id may hold only letters, digits and . _ : -');

export const inferenceRequestSchema = z.looseObject({
  request_id: requestId,
  model_name: text('model_name')
    .min(1, 'model_name must not be empty')
    .max(256, 'model_name must be at most 256 characters'),
  input_data_url: text('input_data_url')
    .max(2048, 'input_data_url must be at most 2048 characters')
    .regex(/^(s3|https?):\/\/\S+$/, 'input_data_url must be an s3:// or http(s):// URL'),
  callback_sns_topic: text('callback_sns_topic')
    .regex(/^arn:[\w-]+:sns:[\w-]*:[\w-]*:[\w.-]+$/, 'callback_sns_topic must be an SNS topic ARN')
    .optional(),
  priority: z.enum(PRIORITIES, { error: 'priority must be one of high, normal, low' }).default('normal'),
  timestamp: z.iso
    .datetime({ offset: true, error: 'timestamp must be an ISO 8601 date-time, e.g. 2025-12-02T10:23:00Z' })
    .optional(),
  metadata: z
    .record(z.string(), z.unknown(), { error: 'metadata must be an object' })
    .superRefine((metadata, ctx) => {
      // Compact JSON, as a worker would re-serialize it; depth is already within MAX_NESTING_DEPTH here.
      const bytes = Buffer.byteLength(JSON.stringify(metadata), 'utf8');
      if (bytes > MAX_METADATA_BYTES) {
        ctx.addIssue({ code: 'custom', message: `${bytes} bytes once serialized; the limit is ${MAX_METADATA_BYTES} (${MAX_METADATA_BYTES / 1024} KiB)` });
      }
    })
    .optional(),
});

export type InferenceRequest = z.infer<typeof inferenceRequestSchema>;

export type ParseResult =
  | { readonly ok: true; readonly request: InferenceRequest }
  | { readonly ok: false; readonly reason: string };

/** One line per violation, each naming the field: what goes into the DLQ's reason attribute. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.join('.');
      return path && !issue.message.startsWith(path) ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/** A raw key literal as JSON.parse reads it ("request\u005fid" is request_id); the raw text if unreadable. */
function decodeKey(rawKey: string): string {
  try {
    return String(JSON.parse(rawKey));
  } catch {
    return rawKey;
  }
}

const fieldName = (rawKey: string | undefined) => (rawKey === undefined ? 'body' : decodeKey(rawKey));

/** What the text scan alone refuses, before JSON.parse is given the text. */
function refuseBeforeParse(body: string, scan: JsonScan): string | undefined {
  if (/^[ \t\r\n]*$/.test(body)) return `body is not JSON: the body is ${body.length ? 'only whitespace' : 'empty'}`;
  // Forwarded byte for byte, a BOM would reach the workers too: Python's json.loads refuses a str starting with one.
  if (body.charCodeAt(0) === 0xfeff) return "body starts with a byte-order mark (U+FEFF), which JSON does not allow and Python's json.loads refuses";
  if (scan.depth > MAX_NESTING_DEPTH) {
    return `${fieldName(scan.depthKey)}: nested ${scan.depth} levels deep (the body itself is level 1); the limit is ${MAX_NESTING_DEPTH}`;
  }
  if (scan.longestNumber > MAX_NUMBER_CHARS) {
    return `${fieldName(scan.numberKey)}: a number ${scan.longestNumber} characters long; the limit is ${MAX_NUMBER_CHARS}`;
  }
  return undefined;
}

/**
 * Duplicate keys: JSON.parse and Python's json both keep the last, so a repeated key reads the same in the
 * dispatcher and a worker, and the body goes on unchanged. Other parsers keep the first, though, and
 * request_id is what exactly-once rests on: two different request_id values are refused.
 */
function refuseDuplicateRequestId(scan: JsonScan): string | undefined {
  const values = scan.members.filter((m) => decodeKey(m.rawKey) === 'request_id').map((m) => m.rawValue);
  const canonical = values.map((raw) => {
    try {
      return JSON.stringify(JSON.parse(raw));
    } catch {
      return raw;
    }
  });
  if (new Set(canonical).size <= 1) return undefined;
  const shown = canonical.map((v) => cutChars(v, 80)).join(', ');
  return `request_id: given ${values.length} times with different values (${shown}); parsers disagree on which one counts, so the dispatcher and a worker could read different ids`;
}

/** Parses a raw SQS body. Never throws: a bad body is a value with a reason. */
export function parseRequest(body: string): ParseResult {
  const scan = scanJson(body);
  const refused = refuseBeforeParse(body, scan);
  if (refused) return { ok: false, reason: refused };
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    // V8 quotes the body around the error by code units: half an emoji, which SQS refuses in an attribute.
    return { ok: false, reason: `body is not JSON: ${sqsText((error as Error).message)}` };
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    return { ok: false, reason: 'body must be a JSON object' };
  }
  const duplicate = refuseDuplicateRequestId(scan);
  if (duplicate) return { ok: false, reason: duplicate };
  const parsed = inferenceRequestSchema.safeParse(json);
  return parsed.success ? { ok: true, request: parsed.data } : { ok: false, reason: describeIssues(parsed.error) };
}
