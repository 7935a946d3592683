/**
 * Simulated GPU inference workers for one region, so that regional queue depths move as they would
 * with real consumers: each worker takes one message at a time, "processes" it for a fixed time,
 * then deletes it. Stopping interrupts work in progress the way a Spot interruption does, except
 * that the message is handed back at once (visibility 0) instead of after the visibility timeout.
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';

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
}

export interface Workers {
  /** Stops receiving, hands back messages being processed, waits for every worker to finish. */
  stop(): Promise<void>;
  /** Messages processed and deleted so far. */
  processed(): number;
}

const ERROR_PAUSE_MS = 500;

export function startWorkers(options: WorkersOptions): Workers {
  if (!Number.isInteger(options.workers) || options.workers < 0) throw new Error(`workers must be a whole number >= 0, got ${options.workers}`);
  if (!(options.secondsPerRequest >= 0)) throw new Error(`secondsPerRequest must be >= 0, got ${options.secondsPerRequest}`);
  const waitTimeSeconds = options.waitTimeSeconds ?? 1;
  let stopping = false;
  let processed = 0;
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

  const work = async () => {
    while (!stopping) {
      let message: Message | undefined;
      try {
        const result = await options.client.send(
          new ReceiveMessageCommand({ QueueUrl: options.queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: waitTimeSeconds }),
        );
        message = result.Messages?.[0];
      } catch (error) {
        report(error);
        await sleep(ERROR_PAUSE_MS);
        continue;
      }
      if (!message?.ReceiptHandle) continue;
      const receiptHandle = message.ReceiptHandle;
      if (!(await sleep(options.secondsPerRequest * 1000))) {
        // Interrupted: give the message back now rather than after the visibility timeout.
        await options.client
          .send(new ChangeMessageVisibilityCommand({ QueueUrl: options.queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: 0 }))
          .catch(report);
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
      try {
        options.onProcessed?.(message.Body ?? '', options.region);
      } catch (error) {
        report(error);
      }
    }
  };

  const running = Array.from({ length: options.workers }, () => work());

  return {
    async stop() {
      stopping = true;
      for (const interrupt of [...sleepers]) interrupt();
      await Promise.all(running);
    },
    processed: () => processed,
  };
}
