/**
 * The nextToken of the local CloudWatch Logs endpoint's pages (DescribeLogGroups, FilterLogEvents): opaque,
 * and bound to the request it came from (its scope), so a token is not reused with other parameters.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { LogsApiError } from './logs-api-error.js';

/** A token naming where the next page starts, within this scope. */
export function encodeToken(scope: string, position: object): string {
  return Buffer.from(JSON.stringify({ scope, ...position })).toString('base64url');
}

/** The position a token names, refused as the service refuses it when it belongs to another scope. */
export function decodeToken<T>(value: string | undefined, scope: string, shape: z.ZodType<T>): T | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = z.object({ scope: z.literal(scope) }).passthrough().parse(JSON.parse(Buffer.from(value, 'base64url').toString()));
    return shape.parse(parsed);
  } catch {
    throw new LogsApiError('InvalidParameterException', 'The specified nextToken is invalid (it belongs to another request, or was not issued by this endpoint).');
  }
}

/** The scope of a request: a short hash of the parameters a token must keep to. */
export const scopeOf = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('base64url').slice(0, 16);
