/**
 * AWS SDK v3 clients, created once per container and per region, with the endpoint overrides of the
 * config, so the same code talks to AWS or to the local servers. Where a tracer is configured
 * (functions/tracing.ts, on Lambda only), the SQS and DynamoDB clients are captured by it: each call is
 * a subsegment of the trace with its region, operation and latency (each region's SendMessageBatch).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DispatchConfig } from '../core/config.js';

/** Local servers accept any signature; the credential chain is not consulted for them. */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

const cache = new Map<string, unknown>();

/** Wraps a client for tracing (Powertools' `tracer.captureAWSv3Client`); none unless a tracer is configured. */
export type ClientCapture = <T>(client: T) => T;
let capture: ClientCapture | undefined;

/**
 * Captures the SQS and DynamoDB clients created from now on (and drops those already made). The Step
 * Functions client is left as the SDK makes it: the SDK passes the function's own trace header on to
 * StartSyncExecution, so the execution follows the intake's sampling decision, or takes its own (the
 * X-Ray sampling rule, stacks/tracing.ts) when the intake has none.
 */
export function captureClients(wrap: ClientCapture | undefined): void {
  capture = wrap;
  resetClients();
}

const captured = <T>(client: T): T => (capture ? capture(client) : client);

function memo<T>(key: string, create: () => T): T {
  if (!cache.has(key)) cache.set(key, create());
  return cache.get(key) as T;
}

const local = (endpoint: string | undefined) => (endpoint ? { endpoint, credentials: LOCAL_CREDENTIALS } : {});

/**
 * SQS client for one region. Few SDK attempts: the workflow's Retry, and the caller's entry-level
 * retries, decide how long a failing region is tried.
 */
export function sqsClient(config: DispatchConfig, region: string, maxAttempts = 2, timeoutMs?: number): SQSClient {
  const endpoint = config.endpoints.sqs[region];
  const timeout = timeoutMs ?? config.sqsRequestTimeoutMs;
  return memo(
    `sqs:${region}:${endpoint}:${maxAttempts}:${timeout}`,
    () =>
      captured(
        new SQSClient({
          region,
          maxAttempts,
          // A region that accepts the connection and then hangs must fail in bounded time, not hold the
          // forward until its Lambda timeout. (Without throwOnRequestTimeout the SDK only logs a warning.)
          requestHandler: { connectionTimeout: Math.min(3000, timeout), requestTimeout: timeout, throwOnRequestTimeout: true } as never,
          ...local(endpoint),
        }),
      ),
  );
}

/** DynamoDB client; `requestTimeoutMs` bounds each attempt for calls that sit on a time budget. */
export function dynamoClient(config: DispatchConfig, options: { requestTimeoutMs?: number; maxAttempts?: number } = {}): DynamoDBClient {
  const endpoint = config.endpoints.dynamodb;
  const { requestTimeoutMs, maxAttempts } = options;
  return memo(
    `ddb:${config.homeRegion}:${endpoint}:${requestTimeoutMs}:${maxAttempts}`,
    () =>
      captured(
        new DynamoDBClient({
          region: config.homeRegion,
          ...(maxAttempts ? { maxAttempts } : {}),
          ...(requestTimeoutMs
            ? { requestHandler: { connectionTimeout: requestTimeoutMs, requestTimeout: requestTimeoutMs, throwOnRequestTimeout: true } as never }
            : {}),
          ...local(endpoint),
        }),
      ),
  );
}

export function sfnClient(config: DispatchConfig): SFNClient {
  const endpoint = config.endpoints.stepFunctions;
  return memo(
    `sfn:${config.homeRegion}:${endpoint}`,
    // StartSyncExecution has a "sync-" host prefix that a local endpoint cannot serve.
    () => new SFNClient({ region: config.homeRegion, ...local(endpoint), ...(endpoint ? { disableHostPrefix: true } : {}) }),
  );
}

/** For tests that restart servers on new ports within one process. */
export function resetClients(): void {
  for (const client of cache.values()) (client as { destroy?: () => void }).destroy?.();
  cache.clear();
}
