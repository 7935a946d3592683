/**
 * The message's side of a heartbeat: the copy stays invisible as long as its lease holds, so that SQS
 * does not hand it to another worker meanwhile. `sqsVisibility(client, queueUrl?)` makes the `onBeat`
 * of `fenced` / `fenceMiddleware` from an SQS client: an SDK Message needs the queue URL it was received
 * from; a Lambda SQSRecord names its queue (eventSourceARN).
 */
import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { FenceableMessage } from './identity.js';

/** Extends one message's visibility by `seconds` from now. */
export type ExtendVisibility<M extends FenceableMessage = FenceableMessage> = (message: M, seconds: number) => Promise<void>;

/** arn:aws:sqs:REGION:ACCOUNT:NAME -> https://sqs.REGION.amazonaws.com/ACCOUNT/NAME */
export function queueUrlOfArn(arn: string): string {
  const [, partition, service, region, account, name] = arn.split(':');
  if (partition === undefined || service !== 'sqs' || !region || !account || !name) throw new TypeError(`not an SQS queue ARN: ${arn}`);
  const domain = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://sqs.${region}.${domain}/${account}/${name}`;
}

export function sqsVisibility(client: SQSClient, queueUrl?: string): ExtendVisibility {
  return async (message, seconds) => {
    const lambda = 'receiptHandle' in message || 'eventSourceARN' in message;
    const receiptHandle = lambda ? message.receiptHandle : message.ReceiptHandle;
    const url = queueUrl ?? (lambda ? queueUrlOfArn(message.eventSourceARN) : undefined);
    if (!receiptHandle || !url) throw new TypeError('extending visibility needs the message receipt handle and its queue URL');
    // SQS caps a visibility timeout at 12 hours.
    await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: receiptHandle, VisibilityTimeout: Math.min(seconds, 43_200) }));
  };
}
