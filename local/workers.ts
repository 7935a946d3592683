/**
 * Simulated GPU inference workers for one region, so that regional queue depths move as they would
 * with real consumers: each worker takes one message at a time, "processes" it for a fixed time,
 * then deletes it. Stopping interrupts work in progress the way a Spot interruption does, except
 * that the message is handed back at once (visibility 0) instead of after the visibility timeout.
 *
 * With a `fence` (worker/), each worker accepts the request before processing it, completes it after,
 * releases it when interrupted, and deletes a copy whose acceptance is refused (another copy holds or
 * finished the request, or it is dead-lettered) without processing it: `dropped()` counts those.
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { TIMEOUTS } from '../core/topology.js';
import { AlreadyAcceptedError, type DropReason } from '../worker/errors.js';
import { Fence } from '../worker/fence.js';
import { fenced } from '../worker/wrapper.js';

/** The dispatch fence on the idempotency table. */
export interface WorkersFence {
  readonly tableName: string;
  readonly client: DynamoDBClient;
  /** The acceptance lease: the queue's visibility timeout. Default: the regional queues' (TIMEOUTS). */
  readonly leaseSeconds?: number;
  /** Prefix of each worker's id (`<prefix>-<n>`). Default: `<region>-<random>`. */
  readonly workerIdPrefix?: string;
}

export interface WorkersOptions {
  readonly region: string;
  readonly client: SQSClient;
  readonly queueUrl: string;
  /** Concurrent workers, each processing one message at a time. */
  readonly workers: number;
  /** Processing time per message; fractions allowed. */
  readonly secondsPerRequest: number;
  readonly onProcessed?: (body: string, region: string) => void;
  /** Receive/delete errors (a regional outage, say); the worker pauses and goes on. */
  readonly onError?: (error: unknown) => void;
  /** Long-poll wait, whole seconds 1..20. Short, so that stop() returns quickly. Default 1. */
  readonly waitTimeSeconds?: number;
  /** Accept each request through the dispatch fence before processing it; none when absent. */
  readonly fence?: WorkersFence;
  /** A copy the fence refused, deleted without processing (fence only). */
  readonly onDropped?: (body: string, region: string, reason: DropReason) => void;
}

export interface Workers {
  /** Stops receiving, hands back messages being processed, waits for every worker to finish. */
  stop(): Promise<void>;
  /** Messages processed and deleted so far. */
  processed(): number;
  /** Copies the fence refused, deleted without processing (always 0 without a fence). */
  dropped(): number;
}

class Interrupted extends Error {
  override name = 'Interrupted';
}

const ERROR_PAUSE_MS = 500;

export function startWorkers(options: WorkersOptions): Workers {
  if (!Number.isInteger(options.workers) || options.workers < 0) throw new Error(`workers must be a whole number >= 0, got ${options.workers}`);
  if (!(options.secondsPerRequest >= 0)) throw new Error(`secondsPerRequest must be >= 0, got ${options.secondsPerRequest}`);
  const waitTimeSeconds = options.waitTimeSeconds ?? 1;
  let stopping = false;
  let processed = 0;
  let dropped = 0;
  const fence = options.fence ? Fence.dynamo(options.fence.client, options.fence.tableName) : undefined;
  const leaseSeconds = options.fence?.leaseSeconds ?? TIMEOUTS.regionalVisibilitySeconds;
  const workerIdPrefix = options.fence?.workerIdPrefix ?? `${options.region}-${randomUUID().slice(0, 8)}`;
  const sleepers = new Set<() => void>();

  /** Resolves true after ms, or false as soon as stop() is called. */
  const sleep = (ms: number) =>
    new Promise<boolean>((resolve) => {
      if (stopping) return resolve(false);
      const finish = (completed: boolean) => {
        clearTimeout(timer);
        sleepers.delete(interrupt);
        resolve(completed);
      };
      const interrupt = () => finish(false);
      const timer = setTimeout(() => finish(true), ms);
      sleepers.add(interrupt);
    });

  const report = (error: unknown) => {
    try {
      options.onError?.(error);
    } catch {
      // A failing error callback must not kill the worker.
    }
  };

  const handBack = (receiptHandle: string, seconds = 0) =>
    options.client
      .send(new ChangeMessageVisibilityCommand({ QueueUrl: options.queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds }))
      .then(() => undefined, report);

  const notify = (callback: () => void) => {
    try {
      callback();
    } catch (error) {
      report(error);
    }
  };

  /** "Processing": false when interrupted by stop(). */
  const processOne = () => sleep(options.secondsPerRequest * 1000);

  const work = async (index: number) => {
    const accepting = fence
      ? fenced(
          async () => {
            if (!(await processOne())) throw new Interrupted();
          },
          {
            fence,
            workerId: `${workerIdPrefix}-${index}`,
            leaseSeconds,
            // A copy without the dispatch attributes is fenced by its body's request_id and message id: not an error.
            onWarning: (message, detail) => detail.kind !== 'fallback' && report(new Error(`dispatch fence: ${message} (${JSON.stringify(detail)})`)),
          },
        )
      : undefined;
    while (!stopping) {
      let message: Message | undefined;
      try {
        const result = await options.client.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: 1,
            WaitTimeSeconds: waitTimeSeconds,
            ...(fence ? { MessageAttributeNames: ['All'] } : {}),
          }),
        );
        message = result.Messages?.[0];
      } catch (error) {
        report(error);
        await sleep(ERROR_PAUSE_MS);
        continue;
      }
      if (!message?.ReceiptHandle) continue;
      const receiptHandle = message.ReceiptHandle;
      const body = message.Body ?? '';
      if (accepting) {
        let outcome;
        try {
          outcome = await accepting(message);
        } catch (error) {
          if (error instanceof Interrupted) {
            // Released by the wrapper: give the message back now rather than after the visibility timeout.
            await handBack(receiptHandle);
            return;
          }
          if (error instanceof AlreadyAcceptedError && error.retryAfterSeconds !== undefined) {
            // This very copy is held by a worker whose lease runs: look again when it ends.
            await handBack(receiptHandle, Math.min(error.retryAfterSeconds, 43_200));
            continue;
          }
          // Not accepted (DynamoDB unreachable, no request_id): left to the visibility timeout, as on AWS.
          report(error);
          await sleep(ERROR_PAUSE_MS);
          continue;
        }
        try {
          await options.client.send(new DeleteMessageCommand({ QueueUrl: options.queueUrl, ReceiptHandle: receiptHandle }));
        } catch (error) {
          // Not deleted: it comes back; the fence then drops it (the request is completed).
          report(error);
          continue;
        }
        if (outcome.skipped) {
          dropped += 1;
          const reason = outcome.reason;
          notify(() => options.onDropped?.(body, options.region, reason));
        } else {
          processed += 1;
          notify(() => options.onProcessed?.(body, options.region));
        }
        continue;
      }
      if (!(await processOne())) {
        // Interrupted: give the message back now rather than after the visibility timeout.
        await handBack(receiptHandle);
        return;
      }
      try {
        await options.client.send(new DeleteMessageCommand({ QueueUrl: options.queueUrl, ReceiptHandle: receiptHandle }));
      } catch (error) {
        // Not deleted: it comes back after the visibility timeout and is processed again, as on AWS.
        report(error);
        continue;
      }
      processed += 1;
      notify(() => options.onProcessed?.(body, options.region));
    }
  };

  const running = Array.from({ length: options.workers }, (_, index) => work(index));

  return {
    async stop() {
      stopping = true;
      for (const interrupt of [...sleepers]) interrupt();
      await Promise.all(running);
    },
    processed: () => processed,
    dropped: () => dropped,
  };
}
