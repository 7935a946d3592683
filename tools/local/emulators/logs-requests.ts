/**
 * The request bodies the local CloudWatch Logs endpoint (logs-endpoint.ts) serves, checked as the service
 * checks them: a body that breaks a rule is refused with InvalidParameterException, naming the member.
 */
import { z } from 'zod';
import { LogsApiError } from './logs-api-error.js';
import { MAX_QUERY_ROWS } from './logs-insights.js';

/** The service's limit on a PutLogEvents batch and a FilterLogEvents page, in events. */
export const MAX_BATCH_EVENTS = 10_000;

const groupName = z.string().min(1).max(512).regex(/^[.\-_/#A-Za-z0-9]+$/, 'Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+');
const streamName = z.string().min(1).max(512).regex(/^[^:*]*$/, 'Member must satisfy regular expression pattern: [^:*]*');
const epochMs = z.number().int().min(0);
const token = z.string().min(1).optional();

export const createGroupSchema = z.object({
  logGroupName: groupName,
  kmsKeyId: z.string().optional(),
  tags: z.record(z.string(), z.string()).optional(),
  logGroupClass: z.string().optional(),
});
export const createStreamSchema = z.object({ logGroupName: groupName, logStreamName: streamName });
export const putSchema = z.object({
  logGroupName: groupName,
  logStreamName: streamName,
  logEvents: z.array(z.object({ timestamp: epochMs, message: z.string().min(1) })).min(1).max(MAX_BATCH_EVENTS),
  sequenceToken: z.string().optional(),
});
export const describeGroupsSchema = z.object({
  logGroupNamePrefix: z.string().min(1).max(512).optional(),
  logGroupNamePattern: z.string().min(0).max(512).optional(),
  limit: z.number().int().min(1).max(50).optional(),
  nextToken: token,
});
export const filterSchema = z.object({
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
export const startQuerySchema = z.object({
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
export const queryIdSchema = z.object({ queryId: z.string().min(1).max(256) });

/** A body as its schema reads it, or the service's validation error. */
export function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new LogsApiError(
    'InvalidParameterException',
    `1 validation error detected: Value at '${issue?.path.join('.') ?? ''}' failed to satisfy constraint: ${issue?.message ?? 'invalid'}`,
  );
}
