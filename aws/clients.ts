/**
 * AWS SDK v3 clients with the endpoint overrides of a config, so the same code talks to AWS or to the
 * local servers. A client set belongs to one config: a deployed container makes one, once; the local
 * stack makes one per stack and frees it when the stack stops. Where a tracer is configured
 * (functions/tracing.ts, on Lambda only), the SQS and DynamoDB clients are captured by it: each call is
 * a subsegment of the trace with its region, operation and latency (each region's SendMessageBatch).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DispatchConfig } from '../core/config.js';

/** Local servers accept any signature; the credential chain is not consulted for them. */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export interface DynamoOptions {
  /** Bounds each attempt, for calls that sit on a time budget. */
  readonly requestTimeoutMs?: number;
  readonly maxAttempts?: number;
}

/** The clients one config's code uses, each made on first use and kept. */
export interface AwsClients {
  /**
   * SQS client for one region. Few SDK attempts: the workflow's Retry, and the caller's entry-level
   * retries, decide how long a failing region is tried.
   */
  sqs(region: string, maxAttempts?: number, timeoutMs?: number): SQSClient;
  dynamo(options?: DynamoOptions): DynamoDBClient;
  sfn(): SFNClient;
  /** Frees every client made so far. */
  destroy(): void;
}

/** Wraps a client for tracing (Powertools' `tracer.captureAWSv3Client`); none unless a tracer is configured. */
export type ClientCapture = <T>(client: T) => T;
let capture: ClientCapture | undefined;

/**
 * Captures the SQS and DynamoDB clients created from now on (and drops those already made through
 * clientsFor). The Step Functions client is left as the SDK makes it: the SDK passes the function's own
 * trace header on to StartSyncExecution, so the execution follows the intake's sampling decision, or
 * takes its own (the X-Ray sampling rule, stacks/tracing.ts) when the intake has none.
 */
export function captureClients(wrap: ClientCapture | undefined): void {
  capture = wrap;
  resetClients();
}

const captured = <T>(client: T): T => (capture ? capture(client) : client);

const local = (endpoint: string | undefined) => (endpoint ? { endpoint, credentials: LOCAL_CREDENTIALS } : {});

/** The set each config's clients are found through by the aws/ helpers that take only the config. */
const bound = new WeakMap<DispatchConfig, AwsClients>();

/** A new client set for `config`; the aws/ helpers given this config use it too. */
export function createClients(config: DispatchConfig): AwsClients {
  const made = new Map<string, { destroy(): void }>();
  const memo = <T extends { destroy(): void }>(key: string, create: () => T): T => {
    if (!made.has(key)) made.set(key, create());
    return made.get(key) as T;
  };
  const clients: AwsClients = {
    sqs(region, maxAttempts = 2, timeoutMs) {
      const endpoint = config.endpoints.sqs[region];
      const timeout = timeoutMs ?? config.sqsRequestTimeoutMs;
      return memo(`sqs:${region}:${maxAttempts}:${timeout}`, () =>
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
    },
    dynamo({ requestTimeoutMs, maxAttempts } = {}) {
      return memo(`ddb:${requestTimeoutMs}:${maxAttempts}`, () =>
        captured(
          new DynamoDBClient({
            region: config.homeRegion,
            ...(maxAttempts ? { maxAttempts } : {}),
            ...(requestTimeoutMs
              ? { requestHandler: { connectionTimeout: requestTimeoutMs, requestTimeout: requestTimeoutMs, throwOnRequestTimeout: true } as never }
              : {}),
            ...local(config.endpoints.dynamodb),
          }),
        ),
      );
    },
    sfn() {
      const endpoint = config.endpoints.stepFunctions;
      // StartSyncExecution has a "sync-" host prefix that a local endpoint cannot serve.
      return memo('sfn', () => new SFNClient({ region: config.homeRegion, ...local(endpoint), ...(endpoint ? { disableHostPrefix: true } : {}) }));
    },
    destroy() {
      for (const client of made.values()) client.destroy();
      made.clear();
    },
  };
  bind(config, clients);
  return clients;
}

/** Makes `clients` the set the aws/ helpers use for `config` (a handler given both keeps them together). */
export function bind(config: DispatchConfig, clients: AwsClients): void {
  bound.set(config, clients);
}

/** Sets made on demand by clientsFor, which nothing else frees. */
const implicit = new Set<AwsClients>();

/** The set bound to `config`, or a new one for it. */
export function clientsFor(config: DispatchConfig): AwsClients {
  const found = bound.get(config);
  if (found) return found;
  const made = createClients(config);
  implicit.add(made);
  return made;
}

export const sqsClient = (config: DispatchConfig, region: string, maxAttempts?: number, timeoutMs?: number): SQSClient =>
  clientsFor(config).sqs(region, maxAttempts, timeoutMs);

export const dynamoClient = (config: DispatchConfig, options: DynamoOptions = {}): DynamoDBClient => clientsFor(config).dynamo(options);

export const sfnClient = (config: DispatchConfig): SFNClient => clientsFor(config).sfn();

/** Frees the sets clientsFor made (tests that restart servers on new ports within one process). */
export function resetClients(): void {
  for (const clients of implicit) clients.destroy();
  implicit.clear();
}
