/** SQS records shaped as Lambda's event source delivers them, for tests that call the intake directly. */
import { randomUUID } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';

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
