/**
 * Lambda's SQS event source mapping, emulated against a real SQS endpoint so the intake handler is
 * driven locally as AWS drives it: long polling, batch size and batching window, a batch per
 * invocation, and deletion of exactly the records that succeeded. What is not deleted comes back
 * after the queue's visibility timeout; the queue's own RedrivePolicy moves it to the DLQ after
 * maxReceiveCount receives (this module never sends to a DLQ itself).
 */
import { randomUUID } from 'node:crypto';
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSMessageAttribute, SQSRecord } from 'aws-lambda';
import { z } from 'zod';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface EventSourceOptions {
  readonly client: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly region: string;
  readonly handler: SqsHandler;
  /** Records per invocation, 1..10000 (AWS's range for standard queues). Default 10. */
  readonly batchSize?: number;
  /** How long to keep gathering once the first record arrived, 0..300. Default 1. */
  readonly maximumBatchingWindowSeconds?: number;
  /** Concurrent pollers, each with at most one invocation in flight. Default 2. */
  readonly pollers?: number;
  /** FunctionResponseTypes: ['ReportBatchItemFailures']. Default true. */
  readonly reportBatchItemFailures?: boolean;
  /** For the Lambda context. */
  readonly functionName?: string;
  /** For the context's getRemainingTimeInMillis (not enforced). Default 300. */
  readonly timeoutSeconds?: number;
  readonly onBatch?: (stats: BatchStats) => void;
  /** Receive or delete errors (an SQS outage, say); polling goes on after a pause. */
  readonly onError?: (error: unknown) => void;
  /**
   * stop() aborts the long polls in flight instead of waiting for them (up to a second). Only for a
   * caller that knows the queue is idle: a receive cut after SQS took messages hides them until their
   * visibility timeout ends. Default false.
   */
  readonly abortReceivesOnStop?: boolean;
}

/** What happened to one invocation's batch. */
export interface BatchStats {
  readonly size: number;
  readonly succeeded: number;
  readonly failed: number;
  /** The whole batch was kept: the handler threw or its response was invalid. */
  readonly wholeBatchFailed: boolean;
  readonly reason?: string;
  /** Succeeded records whose delete failed (they will be delivered again). */
  readonly deleteFailures: number;
}

export interface EventSourceStats {
  batches: number;
  received: number;
  succeeded: number;
  failed: number;
}

export interface EventSource {
  /** Stops polling, lets the receives and batches in flight finish, then resolves. */
  stop(): Promise<void>;
  stats(): EventSourceStats;
}

const MAX_RECEIVE = 10;
const ERROR_PAUSE_MS = 1000;
const EMPTY_SHORT_POLL_PAUSE_MS = 50;

// The partial batch response Lambda accepts; anything else fails the whole batch, as on AWS.
const batchResponseSchema = z
  .object({ batchItemFailures: z.array(z.object({ itemIdentifier: z.string().min(1) })).nullish() })
  .nullish();

/** The messageIds to keep, or a reason to keep the whole batch. */
export function failedItems(response: unknown, messageIds: readonly string[]): { failed: Set<string> } | { reason: string } {
  // Lambda sees the handler's result as JSON: undefined becomes null (success).
  const parsed = batchResponseSchema.safeParse(response === undefined ? null : JSON.parse(JSON.stringify(response)));
  if (!parsed.success) return { reason: `invalid batch response: ${parsed.error.issues[0]?.message ?? 'malformed'}` };
  const failed = new Set((parsed.data?.batchItemFailures ?? []).map((item) => item.itemIdentifier));
  const known = new Set(messageIds);
  const unknown = [...failed].find((id) => !known.has(id));
  if (unknown !== undefined) return { reason: `batchItemFailures names ${unknown}, which is not in the batch` };
  return { failed };
}

function toLambdaAttribute(value: MessageAttributeValue): SQSMessageAttribute {
  return {
    ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
    ...(value.BinaryValue !== undefined ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') } : {}),
    stringListValues: value.StringListValues ?? [],
    binaryListValues: (value.BinaryListValues ?? []).map((b) => Buffer.from(b).toString('base64')),
    dataType: value.DataType ?? 'String',
  };
}

/** A received message as Lambda puts it in an SQSEvent. */
export function toSqsRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const attributes = (message.Attributes ?? {}) as Record<string, string>;
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ...attributes,
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? '000000000000',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: Object.fromEntries(Object.entries(message.MessageAttributes ?? {}).map(([k, v]) => [k, toLambdaAttribute(v)])),
    md5OfBody: message.MD5OfBody ?? '',
    ...(message.MD5OfMessageAttributes ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

function lambdaContext(functionName: string, region: string, account: string, timeoutSeconds: number): Context {
  const deadline = Date.now() + timeoutSeconds * 1000;
  const unsupported = () => {
    throw new Error('callback-style completion is not supported; return a promise');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:${account}:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/${randomUUID()}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

export function startEventSource(options: EventSourceOptions): EventSource {
  const batchSize = options.batchSize ?? 10;
  const windowSeconds = options.maximumBatchingWindowSeconds ?? 1;
  const pollers = options.pollers ?? 2;
  const reportFailures = options.reportBatchItemFailures ?? true;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw new Error(`batchSize must be 1..10000, got ${batchSize}`);
  if (!(windowSeconds >= 0 && windowSeconds <= 300)) throw new Error(`maximumBatchingWindowSeconds must be 0..300, got ${windowSeconds}`);
  if (!Number.isInteger(pollers) || pollers < 1) throw new Error(`pollers must be a positive integer, got ${pollers}`);
  // Long polls wait at most the window (at least 1 s, at most SQS's 20 s): stop() waits for them
  // rather than abandoning a receive that could still take messages and hide them.
  const idleWaitSeconds = Math.min(20, Math.max(1, Math.ceil(windowSeconds)));
  const functionName = options.functionName ?? 'local-sqs-consumer';
  const account = options.queueArn.split(':')[4] ?? '000000000000';
  const totals: EventSourceStats = { batches: 0, received: 0, succeeded: 0, failed: 0 };

  let stopping = false;
  const aborter = new AbortController();
  const sleepers = new Set<() => void>();
  /** A pause that stop() cuts short, so no timer outlives the event source. */
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      if (stopping) return resolve();
      const done = () => {
        clearTimeout(timer);
        sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      sleepers.add(done);
    });

  const receive = async (max: number, waitSeconds: number) => {
    const result = await options.client.send(
      new ReceiveMessageCommand({
        QueueUrl: options.queueUrl,
        MaxNumberOfMessages: max,
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      ...(options.abortReceivesOnStop ? [{ abortSignal: aborter.signal }] : []),
    );
    return result.Messages ?? [];
  };

  /** Up to batchSize messages: a long poll for the first, then more until the window closes. */
  const gather = async (): Promise<Message[]> => {
    const batch: Message[] = [];
    let deadline: number | undefined;
    while (batch.length < batchSize && !stopping) {
      const remainingMs = deadline === undefined ? undefined : deadline - Date.now();
      if (remainingMs !== undefined && remainingMs <= 0) break;
      const wait = remainingMs === undefined ? idleWaitSeconds : Math.min(idleWaitSeconds, Math.floor(remainingMs / 1000));
      let got: Message[];
      try {
        got = await receive(Math.min(MAX_RECEIVE, batchSize - batch.length), wait);
      } catch (error) {
        // Keep what was gathered: those messages are in flight and belong in this batch.
        if (batch.length) break;
        throw error;
      }
      if (got.length && deadline === undefined) deadline = Date.now() + windowSeconds * 1000;
      batch.push(...got);
      if (batch.length && windowSeconds === 0) break;
      if (!got.length && wait === 0 && remainingMs !== undefined) await pause(Math.min(EMPTY_SHORT_POLL_PAUSE_MS, remainingMs));
    }
    return batch;
  };

  const deleteSucceeded = async (records: readonly SQSRecord[]): Promise<number> => {
    let failures = 0;
    for (let i = 0; i < records.length; i += MAX_RECEIVE) {
      const chunk = records.slice(i, i + MAX_RECEIVE);
      try {
        const result = await options.client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: options.queueUrl,
            Entries: chunk.map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle })),
          }),
        );
        failures += result.Failed?.length ?? 0;
      } catch (error) {
        failures += chunk.length;
        options.onError?.(error);
      }
    }
    return failures;
  };

  const invoke = async (messages: readonly Message[]) => {
    const records = messages.map((message) => toSqsRecord(message, options.queueArn, options.region));
    let outcome: { failed: Set<string> } | { reason: string };
    try {
      const response = await options.handler({ Records: records }, lambdaContext(functionName, options.region, account, options.timeoutSeconds ?? 300));
      outcome = reportFailures ? failedItems(response, records.map((r) => r.messageId)) : { failed: new Set() };
    } catch (error) {
      const err = error as Error;
      outcome = { reason: `handler threw ${err?.name ?? 'Error'}: ${err?.message ?? String(error)}` };
    }
    const succeeded = 'failed' in outcome ? records.filter((r) => !outcome.failed.has(r.messageId)) : [];
    const deleteFailures = await deleteSucceeded(succeeded);
    totals.batches += 1;
    totals.received += records.length;
    totals.succeeded += succeeded.length;
    totals.failed += records.length - succeeded.length;
    report(options.onBatch, {
      size: records.length,
      succeeded: succeeded.length,
      failed: records.length - succeeded.length,
      wholeBatchFailed: 'reason' in outcome,
      ...('reason' in outcome ? { reason: outcome.reason } : {}),
      deleteFailures,
    });
  };

  /** A throwing callback must not kill a poller. */
  const report = <T>(callback: ((value: T) => void) | undefined, value: T) => {
    try {
      callback?.(value);
    } catch (error) {
      options.onError?.(error);
    }
  };

  const poll = async () => {
    while (!stopping) {
      let messages: Message[];
      try {
        messages = await gather();
      } catch (error) {
        options.onError?.(error);
        await pause(ERROR_PAUSE_MS);
        continue;
      }
      if (messages.length) await invoke(messages);
    }
  };

  const running = Array.from({ length: pollers }, () => poll());

  return {
    async stop() {
      stopping = true;
      if (options.abortReceivesOnStop) aborter.abort();
      for (const wake of [...sleepers]) wake();
      await Promise.all(running);
    },
    stats: () => ({ ...totals }),
  };
}
