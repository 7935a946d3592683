/**
 * Test harness: dynalite and one fauxqs server per region, the deployment's resources on them, the
 * functions' settings and config for them, and helpers to read queues and the idempotency table.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient, GetItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { MESSAGE_ATTRIBUTE } from '../../core/record.js';
import { DEFAULT_REGIONS, HOME_REGION, type RegionSpec } from '../../core/topology.js';
import { afterAll, beforeAll } from 'vitest';
import type { DispatchConfig } from '../../core/config.js';
import {
  createDispatchRunner,
  createTaskFunctions,
  localConfig,
  type FunctionSettings,
  type RunnerSetup,
  type TaskFunctions,
} from '../../tools/local/dispatch.js';
import type { DefinitionRunner } from '../../tools/local/emulators/asl-runner.js';
import { createResources, LOCAL_CREDENTIALS, sqsAt, type LocalResources } from '../../tools/local/resources.js';
import { startDynamo, startSqs, type DynamoServer, type SqsServer } from '../../tools/local/emulators/servers.js';
import { startFaultProxy, type FaultProxy } from '../../tools/local/faults/proxy.js';
import type { Envelope, ExecutionInput } from '../../core/placement.js';

export interface LocalAws {
  readonly resources: LocalResources;
  /** The servers themselves: what the test's own inspection clients (`dynamo`, `sqs(region)`) talk to. */
  readonly endpoints: { dynamodb: string; sqs: Record<string, string> };
  /** What the code under test talks to: the fault proxies with `faults: true`, else the servers. */
  readonly codeEndpoints: { dynamodb: string; sqs: Record<string, string> };
  /** The functions' settings, and their config on `codeEndpoints` (what a runner built here gives them). */
  readonly settings: FunctionSettings;
  readonly config: DispatchConfig;
  readonly sqsServers: Record<string, SqsServer>;
  readonly dynamoServer: DynamoServer;
  sqs(region: string): SQSClient;
  readonly dynamo: DynamoDBClient;
  /** With `faults: true`: one fault proxy in front of dynalite and one in front of each region's SQS. */
  readonly faults?: LocalFaults;
  stop(): Promise<void>;
}

export interface LocalFaults {
  readonly dynamodb: FaultProxy;
  readonly sqs: Record<string, FaultProxy>;
}

export interface LocalAwsOptions {
  regions?: readonly RegionSpec[];
  settings?: FunctionSettings;
  masterVisibilitySeconds?: number;
  /**
   * Puts fault proxies (tools/local/faults/proxy.ts) between the code under test (the functions' config, the
   * workflow's DynamoDB/SQS integrations) and the servers; the test's own clients bypass them, so
   * a fault never blinds the test.
   */
  faults?: boolean;
}

export async function startLocalAws(options: LocalAwsOptions & { faults: true }): Promise<LocalAws & { readonly faults: LocalFaults }>;
export async function startLocalAws(options?: LocalAwsOptions): Promise<LocalAws>;
export async function startLocalAws(options: LocalAwsOptions = {}): Promise<LocalAws> {
  const regions = options.regions ?? DEFAULT_REGIONS;
  const dynamoServer = await startDynamo();
  const regionNames = [...new Set([HOME_REGION, ...regions.map((r) => r.region)])];
  const servers = await Promise.all(regionNames.map((region) => startSqs(region)));
  const sqsServers = Object.fromEntries(servers.map((s) => [s.region, s]));
  const endpoints = { dynamodb: dynamoServer.endpoint, sqs: Object.fromEntries(servers.map((s) => [s.region, s.endpoint])) };
  const faults = options.faults ? await startFaults(dynamoServer, servers) : undefined;
  const codeEndpoints = faults
    ? { dynamodb: faults.dynamodb.endpoint, sqs: Object.fromEntries(Object.entries(faults.sqs).map(([region, p]) => [region, p.endpoint])) }
    : endpoints;
  const resources = await createResources(endpoints, {
    homeRegion: HOME_REGION,
    regions,
    stage: `t${randomUUID().slice(0, 6)}`,
    ...(options.masterVisibilitySeconds ? { masterVisibilitySeconds: options.masterVisibilitySeconds } : {}),
  });
  const settings = options.settings ?? {};
  const clients = new Map<string, SQSClient>();
  const dynamo = new DynamoDBClient({ region: HOME_REGION, endpoint: endpoints.dynamodb, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  return {
    resources,
    endpoints,
    codeEndpoints,
    settings,
    config: localConfig(resources, codeEndpoints, settings),
    sqsServers,
    dynamoServer,
    dynamo,
    ...(faults ? { faults } : {}),
    sqs(region) {
      if (!clients.has(region)) clients.set(region, sqsAt(region, endpoints.sqs[region] as string));
      return clients.get(region) as SQSClient;
    },
    async stop() {
      for (const client of clients.values()) client.destroy();
      dynamo.destroy();
      if (faults) await Promise.all([faults.dynamodb.stop(), ...Object.values(faults.sqs).map((p) => p.stop())]);
      await Promise.all([...servers.map((s) => s.stop()), dynamoServer.stop()]);
    },
  };
}

async function startFaults(dynamoServer: DynamoServer, servers: readonly SqsServer[]): Promise<LocalFaults> {
  const dynamodb = await startFaultProxy({ target: dynamoServer.endpoint, service: 'dynamodb', name: 'dynamodb' });
  const proxies = await Promise.all(servers.map((s) => startFaultProxy({ target: s.endpoint, service: 'sqs', name: `sqs ${s.region}` })));
  return { dynamodb, sqs: Object.fromEntries(servers.map((s, i) => [s.region, proxies[i] as FaultProxy])) };
}

/** Every message in a queue, removed from it (several receives: SQS returns at most 10 at a time). */
export async function drain(client: SQSClient, queueUrl: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], AttributeNames: ['All'] }),
    );
    if (!Messages.length) return all;
    for (const message of Messages) {
      all.push(message);
      await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
  }
}

/** Regional queues' contents by region. */
export async function drainRegions(aws: LocalAws): Promise<Record<string, Message[]>> {
  // Both lanes of a region (core/lanes.ts): a copy in either is in the region.
  const entries = await Promise.all(
    aws.resources.regions.map(async (r) => {
      const [normal, high] = await Promise.all([drain(aws.sqs(r.region), r.queueUrl), r.highQueueUrl ? drain(aws.sqs(r.region), r.highQueueUrl) : []]);
      return [r.region, [...normal, ...high]] as [string, Message[]];
    }),
  );
  return Object.fromEntries(entries);
}

export async function claimRecord(aws: LocalAws, requestId: string): Promise<Record<string, AttributeValue> | undefined> {
  const { Item } = await aws.dynamo.send(
    new GetItemCommand({ TableName: aws.resources.tableName, Key: { request_id: { S: requestId } }, ConsistentRead: true }),
  );
  return Item;
}

export function request(requestId: string, extra: Record<string, unknown> = {}) {
  return {
    request_id: requestId,
    model_name: 'gpt-l-7b',
    input_data_url: `s3://bucket/inputs/${requestId}.json`,
    callback_sns_topic: 'arn:aws:sns:us-east-1:000000000000:results',
    priority: 'normal',
    timestamp: '2025-12-02T10:23:00Z',
    metadata: { user_id: 'user123', session_id: 'session456' },
    ...extra,
  };
}

export function envelope(requestId: string, messageId = randomUUID(), priority: Envelope['priority'] = 'normal'): Envelope {
  return { messageId, requestId, body: JSON.stringify({ ...request(requestId), priority }), priority };
}

let counter = 0;
export function executionInput(messages: Envelope[], options: { now?: number; lease?: number } = {}): ExecutionInput {
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const name = `test-${process.pid}-${++counter}-${randomUUID().slice(0, 8)}`;
  return { batchId: name, executionName: name, now, leaseUntil: now + (options.lease ?? 300), expiresAt: now + 7 * 86400, messages };
}

export interface LocalDispatch<A extends LocalAws = LocalAws> {
  readonly aws: A;
  readonly runner: DefinitionRunner;
  /**
   * A runner whose functions have other settings (a new container of each, with nothing cached), on
   * the same resources; freed with the rest after the file's tests.
   */
  runnerWith(settings: FunctionSettings): DefinitionRunner;
}

/** A runner on `aws`, bound like the local stack's: service integrations through the proxies when there are any, retries 5 ms. */
const runnerOn = (aws: LocalAws, settings: FunctionSettings, functions?: TaskFunctions): RunnerSetup =>
  createDispatchRunner(aws.resources, aws.codeEndpoints, { retryIntervalMs: 5, settings, ...(functions ? { functions } : {}) });

/**
 * For a test file: local AWS and the dispatch definition bound to it, started before the file's tests
 * and stopped after them. Retry waits are cut to 5 ms so failure cases run fast.
 */
export function useLocalDispatch(options: { faults: true }): LocalDispatch<LocalAws & { readonly faults: LocalFaults }>;
export function useLocalDispatch(options?: { faults?: boolean }): LocalDispatch;
export function useLocalDispatch(options: { faults?: boolean } = {}): LocalDispatch {
  let aws: LocalAws | undefined;
  let setup: RunnerSetup | undefined;
  const others: RunnerSetup[] = [];
  beforeAll(async () => {
    aws = await startLocalAws(options.faults ? { faults: true } : {});
    setup = runnerOn(aws, aws.settings);
  });
  afterAll(async () => {
    for (const other of others) other.close();
    setup?.close();
    await aws?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useLocalDispatch: used outside a test');
    return value;
  };
  return {
    get aws() {
      return started(aws);
    },
    get runner() {
      return started(setup).runner;
    },
    runnerWith(settings) {
      const other = runnerOn(started(aws), settings);
      others.push(other);
      return other.runner;
    },
  };
}

/**
 * The definition with some task functions replaced (a fault inside a function): `wrap` gets the real
 * ones, built for `aws` as a runner builds them; `use` gets the runner, freed after.
 */
export async function withTaskFunctions(
  aws: LocalAws,
  wrap: (real: TaskFunctions) => Partial<TaskFunctions>,
  use: (runner: DefinitionRunner) => Promise<void>,
): Promise<void> {
  const real = createTaskFunctions(aws.resources, aws.codeEndpoints, { settings: aws.settings });
  const setup = runnerOn(aws, aws.settings, { ...real, ...wrap(real) });
  try {
    await use(setup.runner);
  } finally {
    setup.close();
    real.close();
  }
}

/** True when a queue holds nothing, visible or in flight: every message in it has been dealt with. */
export async function queueEmpty(client: SQSClient, queueUrl: string): Promise<boolean> {
  const { Attributes: a = {} } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(a.ApproximateNumberOfMessages) + Number(a.ApproximateNumberOfMessagesNotVisible) === 0;
}

/** Polls until `condition` holds or `limitMs` passes; returns whether it held. */
export async function until(condition: () => boolean | Promise<boolean>, limitMs: number, everyMs = 100): Promise<boolean> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return condition();
}

/** Sends one copy of a request to a queue, as the forward does: the request's body, its request_id and a dispatch token. */
export async function sendCopy(client: SQSClient, queueUrl: string, requestId: string, token: string): Promise<void> {
  await client.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: JSON.stringify(request(requestId)),
      MessageAttributes: {
        [MESSAGE_ATTRIBUTE.requestId]: { DataType: 'String', StringValue: requestId },
        [MESSAGE_ATTRIBUTE.dispatchToken]: { DataType: 'String', StringValue: token },
      },
    }),
  );
}
