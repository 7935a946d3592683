/**
 * Which request a copy is, and which copy: the message attributes request_id and dispatch_token that the
 * dispatcher puts on every forwarded message, read from an SDK `Message` (ReceiveMessage with
 * MessageAttributeNames ['All']) or a Lambda `SQSRecord`. A message without them (sent by hand, or
 * received without asking for its attributes) falls back to the body's request_id and the SQS message
 * id as token, and says so in `fallbacks`. A request_id the intake would refuse (core/request.ts) is
 * refused here too (InvalidRequestIdError): it could name an item that is not a request.
 */
import type { Message } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import { MESSAGE_ATTRIBUTE } from '../core/record.js';
import { NoDispatchIdentityError } from './errors.js';
import { checkRequestId } from './request-id.js';

export type FenceableMessage = Message | SQSRecord;

export interface DispatchIdentity {
  readonly requestId: string;
  readonly token: string;
  /** Empty when both came from the message attributes; otherwise one sentence per fallback taken. */
  readonly fallbacks: readonly string[];
}

const isLambdaRecord = (message: FenceableMessage): message is SQSRecord => 'messageId' in message || 'messageAttributes' in message;

function attribute(message: FenceableMessage, name: string): string | undefined {
  const value = isLambdaRecord(message) ? message.messageAttributes?.[name]?.stringValue : message.MessageAttributes?.[name]?.StringValue;
  return value ? value : undefined;
}

const bodySchema = z.object({ request_id: z.string().min(1) });

function requestIdInBody(body: string | undefined): string | undefined {
  if (!body) return undefined;
  try {
    const parsed = bodySchema.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data.request_id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Throws NoDispatchIdentityError when no request_id can be found (not in the attributes, not in the
 * body), InvalidRequestIdError (a NoDispatchIdentityError) when the one found is not a request's.
 */
export function dispatchIdentity(message: FenceableMessage): DispatchIdentity {
  const lambda = isLambdaRecord(message);
  const messageId = lambda ? message.messageId : message.MessageId;
  const body = lambda ? message.body : message.Body;
  const fallbacks: string[] = [];

  let requestId = attribute(message, MESSAGE_ATTRIBUTE.requestId);
  if (!requestId) {
    requestId = requestIdInBody(body);
    if (!requestId) {
      throw new NoDispatchIdentityError(
        `message ${messageId ?? '(no id)'}: no ${MESSAGE_ATTRIBUTE.requestId} message attribute and no request_id in the body`,
      );
    }
    fallbacks.push(`no ${MESSAGE_ATTRIBUTE.requestId} message attribute: request_id read from the body`);
  }
  checkRequestId(requestId);

  let token = attribute(message, MESSAGE_ATTRIBUTE.dispatchToken);
  if (!token) {
    if (!messageId) throw new NoDispatchIdentityError(`request ${requestId}: no ${MESSAGE_ATTRIBUTE.dispatchToken} message attribute and no message id`);
    token = messageId;
    fallbacks.push(`no ${MESSAGE_ATTRIBUTE.dispatchToken} message attribute: the SQS message id is the token`);
  }
  return { requestId, token, fallbacks };
}
