/**
 * The dispatch workflow wired to local resources: the functions' environment (as the deployment sets it,
 * plus endpoint overrides), the definition from workflows/ for local ARNs, and a runner whose Lambda
 * tasks call the project's handlers in this process.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { resetClients } from '../../aws/clients.js';
import { resetConfig } from '../../core/config.js';
import { METRICS_NAMESPACE_ENV, METRICS_OUTPUT_ENV, metricNamespace, type MetricsOutput } from '../../core/metrics.js';
import { resourceNames } from '../../core/topology.js';
import { handler as forward } from '../../functions/forward.js';
import { applyLogLevel } from '../../functions/logger.js';
import { handler as select } from '../../functions/select.js';
import { clearSnapshotCache, handler as snapshot } from '../../functions/snapshot.js';
import { dispatchDefinition, type Definition, type RetryPolicy } from '../../workflows/dispatch.js';
import { createRunner, type DefinitionRunner, type LambdaHandler, type RunnerOptions } from './emulators/asl-runner.js';
import { SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_CREDENTIALS, type LocalResources, type ResourceEndpoints } from './resources.js';

export const LOCAL_ACCOUNT = '000000000000';

export const functionArn = (region: string, name: string) => `arn:aws:lambda:${region}:${LOCAL_ACCOUNT}:function:${name}`;

export function localFunctionArns(resources: LocalResources) {
  const arn = (role: string) => functionArn(resources.homeRegion, resourceNames(resources.stage).function(role));
  return { snapshot: arn('snapshot'), select: arn('select'), forward: arn('forward') };
}

export function stateMachineArn(resources: LocalResources): string {
  return `arn:aws:states:${resources.homeRegion}:${LOCAL_ACCOUNT}:stateMachine:${resourceNames(resources.stage).stateMachine}`;
}

export interface EnvironmentOptions {
  readonly sfnEndpoint?: string;
  readonly cacheTtlSeconds?: number;
  readonly policy?: 'least-wait' | 'seed-inverse';
  readonly logLevel?: string;
  readonly claimLeaseSeconds?: number;
  readonly maxQueueDepthThreshold?: number;
  readonly sqsRequestTimeoutMs?: number;
  /** How long a region whose send failed gets no placements; 0 turns region health off. */
  readonly regionHealthSeconds?: number;
  /**
   * Where the functions' EMF metric lines go (core/metrics.ts): `capture` by default (kept by the local
   * stack's metrics sink, local/metrics.ts, not printed), `stdout` as on Lambda, or `off`.
   */
  readonly metricsOutput?: MetricsOutput;
}

/** The environment every function gets: the deployment's variables plus endpoint overrides. */
export function dispatchEnvironment(
  resources: LocalResources,
  endpoints: ResourceEndpoints,
  options: EnvironmentOptions = {},
): Record<string, string> {
  const regionQueues = Object.fromEntries(
    resources.regions.map((r) => [r.region, { url: r.queueUrl, capacity: r.capacity, ...(r.highQueueUrl ? { highUrl: r.highQueueUrl } : {}) }]),
  );
  return {
    HOME_REGION: resources.homeRegion,
    REGION_QUEUES: JSON.stringify(regionQueues),
    IDEMPOTENCY_TABLE_NAME: resources.tableName,
    DISPATCH_DLQ_URL: resources.dispatchDeadLetterQueueUrl,
    STATE_MACHINE_ARN: stateMachineArn(resources),
    CACHE_TTL: String(options.cacheTtlSeconds ?? 1),
    SELECTION_POLICY: options.policy ?? 'least-wait',
    LOG_LEVEL: options.logLevel ?? 'SILENT',
    // Always set, empty meaning "the default" (core/config.ts), so that a value one run set does not
    // linger in this process's environment for the next.
    CLAIM_LEASE_SECONDS: String(options.claimLeaseSeconds ?? ''),
    MAX_QUEUE_DEPTH_THRESHOLD: String(options.maxQueueDepthThreshold ?? ''),
    SQS_REQUEST_TIMEOUT_MS: String(options.sqsRequestTimeoutMs ?? ''),
    REGION_HEALTH_SECONDS: String(options.regionHealthSeconds ?? ''),
    SQS_ENDPOINTS: JSON.stringify(endpoints.sqs),
    DYNAMODB_ENDPOINT: endpoints.dynamodb,
    ...(options.sfnEndpoint ? { SFN_ENDPOINT: options.sfnEndpoint } : {}),
    // Metrics in the stage's namespace, as deployed; captured in this process rather than printed.
    [METRICS_NAMESPACE_ENV]: metricNamespace(resources.stage),
    [METRICS_OUTPUT_ENV]: options.metricsOutput ?? 'capture',
    // No X-Ray daemon here (functions/tracing.ts does not even load the tracer off Lambda).
    POWERTOOLS_TRACE_ENABLED: 'false',
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
  };
}

/** The functions run in this process: give them the environment and drop what they cached. */
export function applyEnvironment(env: Record<string, string>): void {
  Object.assign(process.env, env);
  resetConfig();
  resetClients();
  clearSnapshotCache();
  applyLogLevel();
}

export function localDefinition(resources: LocalResources, regionRetry?: RetryPolicy): Definition {
  return dispatchDefinition({
    regions: resources.regions.map((r) => r.region),
    functions: localFunctionArns(resources),
    tableName: resources.tableName,
    deadLetterQueueUrl: resources.dispatchDeadLetterQueueUrl,
    ...(regionRetry ? { regionRetry } : {}),
  });
}

/** The functions of the dispatch, as the local runtime names them for hooks. */
export type LocalFunctionName = 'intake' | 'snapshot' | 'select' | 'forward';

/**
 * A hook around a function's handler (fault injection, observation): gets the function's name and its
 * handler, returns the handler to run instead. Absent: the handlers run as they are.
 */
export type HandlerWrapper = <H extends LambdaHandler>(name: LocalFunctionName, handler: H) => H;

export interface DispatchRunnerOptions {
  readonly retryIntervalMs?: number;
  /** Scales every Retry interval, cap and Wait instead (local/asl-runner.ts RunnerOptions.retryScale). */
  readonly retryScale?: number;
  readonly regionRetry?: RetryPolicy;
  /** Wraps the snapshot, select and forward handlers (e.g. a forward that crashes after sending). */
  readonly wrap?: HandlerWrapper;
  /** Wraps each bound Task by state name, service integrations included (RunnerOptions.wrapTask). */
  readonly wrapTask?: RunnerOptions['wrapTask'];
  /**
   * Time scale for short local runs: the workflow sees `leaseUntil = now + claimLeaseSeconds` instead
   * of the lease the intake computed. CLAIM_LEASE_SECONDS may not go below 190 s (core/config.ts), so
   * a run whose master visibility timeout is a few seconds would otherwise turn the deployed order
   * "claim lease < master visibility" upside down: a claim left behind would still be held when its
   * message came back. Absent: the intake's lease stands.
   */
  readonly claimLeaseSeconds?: number;
}

/** An execution input with its lease replaced (anything that is not an execution input goes unchanged). */
export function withClaimLease(input: unknown, claimLeaseSeconds: number): unknown {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return input;
  const now = (input as { now?: unknown }).now;
  return typeof now === 'number' ? { ...input, leaseUntil: now + claimLeaseSeconds } : input;
}

export interface RunnerSetup {
  readonly runner: DefinitionRunner;
  readonly definition: Definition;
  close(): void;
}

/** The definition bound to the handlers and to SDK clients aimed at the local servers. */
export function createDispatchRunner(
  resources: LocalResources,
  endpoints: ResourceEndpoints,
  options: DispatchRunnerOptions = {},
): RunnerSetup {
  const definition = localDefinition(resources, options.regionRetry);
  const arns = localFunctionArns(resources);
  const dynamodb = new DynamoDBClient({
    region: resources.homeRegion,
    endpoint: endpoints.dynamodb,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 1,
  });
  // One call per Task attempt, as Step Functions makes it: an SDK retry inside would hand the Catch
  // only the last answer (a refusal after an unanswered send that had landed).
  const sqs = new SQSClient({
    region: resources.homeRegion,
    endpoint: endpoints.sqs[resources.homeRegion] as string,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 1,
  });
  const wrap: HandlerWrapper = options.wrap ?? ((_name, handler) => handler);
  const inner = createRunner(
    definition,
    {
      lambdas: { [arns.snapshot]: wrap('snapshot', snapshot), [arns.select]: wrap('select', select), [arns.forward]: wrap('forward', forward) },
      dynamodb,
      sqs,
    },
    {
      ...(options.retryIntervalMs === undefined ? {} : { retryIntervalMs: options.retryIntervalMs }),
      ...(options.retryScale === undefined ? {} : { retryScale: options.retryScale }),
      ...(options.wrapTask ? { wrapTask: options.wrapTask } : {}),
    },
  );
  const lease = options.claimLeaseSeconds;
  const runner: DefinitionRunner = lease === undefined ? inner : { run: (input, runOptions) => inner.run(withClaimLease(input, lease), runOptions) };
  return {
    runner,
    definition,
    close() {
      dynamodb.destroy();
      sqs.destroy();
    },
  };
}
