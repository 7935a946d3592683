/**
 * The dispatch workflow wired to local resources: the functions' configuration (the variables the
 * deployment sets, plus endpoint overrides, validated as the deployed functions validate theirs), the
 * handlers the functions' factories build from it, the definition from workflows/ for local ARNs, and a
 * runner whose Lambda tasks call those handlers in this process. Each runner and intake has its own
 * configuration, clients and caches: nothing here goes through the process's environment, so several
 * stacks run side by side in one process.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createClients } from '../../aws/clients.js';
import { parseConfig, type DispatchConfig } from '../../core/config.js';
import { metricNamespace, type MetricsOutput } from '../../core/metrics.js';
import { resourceNames } from '../../core/topology.js';
import type { HandlerDependencies } from '../../functions/dependencies.js';
import { createForwardHandler, type ForwardHandler } from '../../functions/forward.js';
import { createIntakeHandler, type IntakeHandler } from '../../functions/intake.js';
import { metricListeners, type MetricLineListener, type MetricsDestination } from '../../functions/metrics.js';
import { createSelectHandler, type SelectHandler } from '../../functions/select.js';
import { createSnapshotHandler, type SnapshotHandler } from '../../functions/snapshot.js';
import { dispatchDefinition, type Definition, type RetryPolicy } from '../../workflows/dispatch.js';
import { createRunner, type DefinitionRunner, type LambdaHandler, type RunnerOptions } from './emulators/asl-runner.js';
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

/** The functions' settings that a local run chooses (the rest follows from the resources). */
export interface FunctionSettings {
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
   * Where the functions' EMF metric lines go (core/metrics.ts): `capture` by default (handed to the
   * run's listener: the local stack's metrics sink, tools/local/metrics.ts; not printed), `stdout` as on
   * Lambda, or `off`.
   */
  readonly metricsOutput?: MetricsOutput;
}

const optional = (name: string, value: number | string | undefined) => (value === undefined ? {} : { [name]: String(value) });

/** The variables the deployment gives every function, plus endpoint overrides (no credentials, no process state). */
export function dispatchEnvironment(resources: LocalResources, endpoints: ResourceEndpoints, settings: FunctionSettings = {}): Record<string, string> {
  const regionQueues = Object.fromEntries(
    resources.regions.map((r) => [r.region, { url: r.queueUrl, capacity: r.capacity, ...(r.highQueueUrl ? { highUrl: r.highQueueUrl } : {}) }]),
  );
  return {
    HOME_REGION: resources.homeRegion,
    REGION_QUEUES: JSON.stringify(regionQueues),
    IDEMPOTENCY_TABLE_NAME: resources.tableName,
    DISPATCH_DLQ_URL: resources.dispatchDeadLetterQueueUrl,
    STATE_MACHINE_ARN: stateMachineArn(resources),
    CACHE_TTL: String(settings.cacheTtlSeconds ?? 1),
    SELECTION_POLICY: settings.policy ?? 'least-wait',
    LOG_LEVEL: settings.logLevel ?? 'SILENT',
    ...optional('CLAIM_LEASE_SECONDS', settings.claimLeaseSeconds),
    ...optional('MAX_QUEUE_DEPTH_THRESHOLD', settings.maxQueueDepthThreshold),
    ...optional('SQS_REQUEST_TIMEOUT_MS', settings.sqsRequestTimeoutMs),
    ...optional('REGION_HEALTH_SECONDS', settings.regionHealthSeconds),
    SQS_ENDPOINTS: JSON.stringify(endpoints.sqs),
    DYNAMODB_ENDPOINT: endpoints.dynamodb,
    ...optional('SFN_ENDPOINT', settings.sfnEndpoint),
  };
}

/** The functions' config on local resources: read from those variables by core/config.ts, as deployed. */
export function localConfig(resources: LocalResources, endpoints: ResourceEndpoints, settings: FunctionSettings = {}): DispatchConfig {
  return parseConfig(dispatchEnvironment(resources, endpoints, settings));
}

/** Where the functions' metric lines go: in the stage's namespace, as deployed. */
export function localMetrics(resources: LocalResources, settings: FunctionSettings = {}, onMetricLine?: MetricLineListener): MetricsDestination {
  const output = settings.metricsOutput ?? 'capture';
  return { namespace: metricNamespace(resources.stage), write: output === 'capture' ? (onMetricLine ?? metricListeners) : output };
}

export interface LocalFunctionOptions {
  readonly settings?: FunctionSettings;
  /** Where the EMF lines go with metricsOutput `capture`: a stack's own sink. Absent: this process's listeners (functions/metrics.ts onMetricLines). */
  readonly onMetricLine?: MetricLineListener;
}

/** The functions' dependencies on local resources, with a client set of their own. */
function localDependencies(resources: LocalResources, endpoints: ResourceEndpoints, options: LocalFunctionOptions): HandlerDependencies {
  const config = localConfig(resources, endpoints, options.settings);
  return { config, clients: createClients(config), metrics: localMetrics(resources, options.settings, options.onMetricLine) };
}

/** The workflow's task functions, as the runner binds them. */
export interface TaskFunctions {
  readonly snapshot: LambdaHandler;
  readonly select: LambdaHandler;
  readonly forward: LambdaHandler;
}

export interface LocalTaskFunctions extends TaskFunctions {
  readonly snapshot: SnapshotHandler;
  readonly select: SelectHandler;
  readonly forward: ForwardHandler;
  readonly config: DispatchConfig;
  /** Frees their clients. */
  close(): void;
}

/** The snapshot, select and forward handlers on local resources, sharing one config and one client set. */
export function createTaskFunctions(resources: LocalResources, endpoints: ResourceEndpoints, options: LocalFunctionOptions = {}): LocalTaskFunctions {
  const deps = localDependencies(resources, endpoints, options);
  return {
    config: deps.config,
    snapshot: createSnapshotHandler(deps),
    select: createSelectHandler(deps),
    forward: createForwardHandler(deps),
    close: () => deps.clients.destroy(),
  };
}

export interface LocalIntake {
  readonly handler: IntakeHandler;
  readonly config: DispatchConfig;
  /** Frees its clients. */
  close(): void;
}

/** The intake on local resources, starting its executions at `sfnEndpoint`. */
export function createLocalIntake(
  resources: LocalResources,
  endpoints: ResourceEndpoints,
  sfnEndpoint: string,
  options: LocalFunctionOptions = {},
): LocalIntake {
  const deps = localDependencies(resources, endpoints, { ...options, settings: { ...options.settings, sfnEndpoint } });
  return { handler: createIntakeHandler(deps), config: deps.config, close: () => deps.clients.destroy() };
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

export interface DispatchRunnerOptions extends LocalFunctionOptions {
  /**
   * The task functions to bind (e.g. the real ones wrapped: createTaskFunctions), which the runner then
   * leaves open; absent: built from `settings` and closed with the runner.
   */
  readonly functions?: TaskFunctions;
  readonly retryIntervalMs?: number;
  /** Scales every Retry interval, cap and Wait instead (tools/local/emulators/asl-runner.ts RunnerOptions.retryScale). */
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
  /** The task functions bound, before any `wrap`. */
  readonly functions: TaskFunctions;
  close(): void;
}

/** The definition bound to the task functions and to SDK clients aimed at the local servers. */
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
  const built = options.functions ? undefined : createTaskFunctions(resources, endpoints, options);
  const functions = options.functions ?? (built as LocalTaskFunctions);
  const wrap: HandlerWrapper = options.wrap ?? ((_name, handler) => handler);
  const inner = createRunner(
    definition,
    {
      lambdas: {
        [arns.snapshot]: wrap('snapshot', functions.snapshot),
        [arns.select]: wrap('select', functions.select),
        [arns.forward]: wrap('forward', functions.forward),
      },
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
    functions,
    close() {
      dynamodb.destroy();
      sqs.destroy();
      built?.close();
    },
  };
}
