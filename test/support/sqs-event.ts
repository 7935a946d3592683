/** SQS records shaped as Lambda's event source delivers them, for tests that call the intake directly. */
import { randomUUID } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import { MESSAGE_ATTRIBUTE } from '../../core/record.js';

export interface RecordOptions {
  readonly queueArn: string;
  readonly messageId?: string;
  readonly receiveCount?: number;
}

export function sqsRecord(body: string, options: RecordOptions): SQSRecord {
  return {
    messageId: options.messageId ?? randomUUID(),
    receiptHandle: `rh-${randomUUID()}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: String(Date.now()),
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: 'not-checked',
    eventSource: 'aws:sqs',
    eventSourceARN: options.queueArn,
    awsRegion: 'us-east-1',
  };
}

/** The same record delivered again: a new receipt handle, one more receive. */
export function redelivered(record: SQSRecord): SQSRecord {
  const count = Number(record.attributes.ApproximateReceiveCount ?? '1') + 1;
  return { ...record, receiptHandle: `rh-${randomUUID()}`, attributes: { ...record.attributes, ApproximateReceiveCount: String(count) } };
}

/** A dispatched copy as a worker Lambda receives it: the request_id and dispatch_token attributes the forward sets. */
export function copyRecord(requestId: string, token: string, options: { region?: string; messageId?: string } = {}): SQSRecord {
  const region = options.region ?? 'us-west-2';
  const text = (value: string) => ({ stringValue: value, dataType: 'String', stringListValues: [], binaryListValues: [] });
  return {
    ...sqsRecord(JSON.stringify({ request_id: requestId }), { queueArn: `arn:aws:sqs:${region}:000000000000:q`, ...(options.messageId ? { messageId: options.messageId } : {}) }),
    awsRegion: region,
    messageAttributes: { [MESSAGE_ATTRIBUTE.requestId]: text(requestId), [MESSAGE_ATTRIBUTE.dispatchToken]: text(token) },
  };
}
