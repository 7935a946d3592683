/**
 * The inference request as producers put it on the master queue (the original system's message format).
 * Unknown fields are kept: the dispatcher forwards the original body byte for byte.
 */
import { z } from 'zod';

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
  metadata: z.record(z.string(), z.unknown(), { error: 'metadata must be an object' }).optional(),
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

/** Parses a raw SQS body. Never throws: a bad body is a value with a reason. */
export function parseRequest(body: string): ParseResult {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    return { ok: false, reason: `body is not JSON: ${(error as Error).message}` };
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    return { ok: false, reason: 'body must be a JSON object' };
  }
  const parsed = inferenceRequestSchema.safeParse(json);
  return parsed.success ? { ok: true, request: parsed.data } : { ok: false, reason: describeIssues(parsed.error) };
}
