/**
 * The embedded stack: everything the dispatch needs, in this process, on 127.0.0.1: DynamoDB, one SQS
 * server per region, the Step Functions endpoint running workflows/dispatch.ts, the event source
 * mapping driving the intake, and simulated GPU workers draining each regional queue. The functions are
 * built for this stack alone (their config from its resources and endpoints, their own clients, its
 * metrics sink), so several stacks can run in one process.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DispatchConfig } from '../../core/config.js';
import { DEFAULT_REGIONS, HOME_REGION, resourceNames, type RegionSpec } from '../../core/topology.js';
import { createDispatchRunner, createLocalIntake, type FunctionSettings, type HandlerWrapper } from './dispatch.js';
import { startEventSource, type BatchStats, type EventSource } from './event-source.js';
import { startFaultProxy, type FaultProxy } from './faults/proxy.js';
import { createEmfSink, startMetricsEndpoint, type EmfSink } from './metrics.js';
import type { DropReason } from '../../worker/errors.js';
import { createResources, LOCAL_CREDENTIALS, sqsAt, type LocalResources } from './resources.js';
import { startDynamo, startSqs, type DynamoServer, type SqsServer } from './emulators/servers.js';
import { startStepFunctionsEndpoint, type StepFunctionsEndpoint } from './emulators/sfn-endpoint.js';
import { startWorkers, type WorkerCopy, type WorkerEvent, type Workers } from './fleet/workers.js';

export interface WorkerSpec {
  /** Workers per region (the region's capacity is taken from this unless given). */
  readonly workers: number;
  readonly secondsPerRequest: number;
}

export interface StackOptions {
  readonly regions?: readonly RegionSpec[];
  /** High-priority lanes, as deployed (default true); false runs the stack as it was before lanes. */
  readonly lanes?: boolean;
  /** First port; the servers take consecutive ones (DynamoDB, Step Functions, then SQS per region). 0 = any free port. */
  readonly basePort?: number;
  /** Master queue visibility timeout: short locally, so that retried messages come back within a demo. */
  readonly masterVisibilitySeconds?: number;
  readonly pollers?: number;
  readonly batchWindowSeconds?: number;
  /** Simulated GPU workers per region; none when absent. */
  readonly workers?: Readonly<Record<string, WorkerSpec>>;
  /** The functions' settings (what the deployment passes them as environment variables). */
  readonly env?: FunctionSettings;
  readonly onBatch?: (stats: BatchStats) => void;
  readonly onProcessed?: (region: string, body: string) => void;
  /**
   * The simulated workers accept each request through the dispatch fence (worker/) and drop a copy
   * whose acceptance fails, as real workers should. On unless false.
   */
  readonly fence?: boolean;
  readonly onDropped?: (region: string, body: string, reason: DropReason) => void;
  readonly stage?: string;
  /**
   * Fault proxies (tools/local/faults/proxy.ts) in front of DynamoDB, each SQS server and the Step Functions
   * endpoint: the whole running system (intake, workflow, event source, workers) goes through them;
   * the description's endpoints (what CLI tools and checkers use) still name the servers.
   */
  readonly faults?: boolean;
  /** With `faults`: the proxies' seed, and whether they keep each faulted request's body in their log. */
  readonly faultOptions?: { readonly seed?: number; readonly logBodies?: boolean };
  /**
   * Hooks around the functions' handlers (the intake, and the workflow's snapshot, select and forward):
   * a chaos run makes them crash after their side effect, or watches them. None when absent.
   */
  readonly wrap?: HandlerWrapper;
  /** Regional queues' visibility timeout (default: the deployment's, TIMEOUTS.regionalVisibilitySeconds). */
  readonly regionalVisibilitySeconds?: number;
  /** Replaces every Retry interval of the workflow by this many ms (default: AWS timing). */
  readonly retryIntervalMs?: number;
  /** Scales every Retry interval, cap and Wait of the workflow instead, keeping the backoff (chaos runs). */
  readonly retryScale?: number;
  /**
   * Time scale for short runs: the claim lease the workflow sees (local/dispatch.ts withClaimLease), so
   * that "claim lease < master visibility timeout" holds locally as it does deployed. Default: the intake's.
   */
  readonly claimLeaseSeconds?: number;
  /** The simulated workers' fence acceptance lease (default: the regional visibility timeout of the deployment). */
  readonly fenceLeaseSeconds?: number;
  /**
   * Skews of the simulated workers' clocks, whole seconds, in every region: worker n's fence (each worker
   * has its own) reads the system time plus entry n modulo the list's length (tools/local/fleet/workers.ts
   * `clockSkewSeconds`). Default: none, every worker's fence on the system clock.
   */
  readonly workerClockSkewSeconds?: readonly number[];
  /** Makes a simulated worker die while processing a copy (tools/local/fleet/workers.ts `crash`). */
  readonly workerCrash?: (copy: WorkerCopy) => boolean;
  /** Every copy a simulated worker received and what became of it. */
  readonly onWorkerEvent?: (event: WorkerEvent) => void;
  /**
   * stop() and stopConsumers() cut the event source's and the workers' long polls instead of waiting up
   * to a second for them: for a caller that stops only once the queues are idle (a receive cut after SQS
   * took messages would hide them until their visibility timeout ends). Default false.
   */
  readonly quickStop?: boolean;
}

export interface StackFaults {
  readonly dynamodb: FaultProxy;
  readonly stepFunctions: FaultProxy;
  readonly sqs: Readonly<Record<string, FaultProxy>>;
}

/** What other CLI commands need to find a running stack (written to .local/stack.json by `up`). */
export interface StackDescription {
  readonly pid: number;
  readonly stage: string;
  readonly homeRegion: string;
  readonly endpoints: { dynamodb: string; stepFunctions: string; sqs: Record<string, string> };
  readonly stateMachineArn: string;
  readonly tableName: string;
  readonly masterQueueUrl: string;
  readonly masterDeadLetterQueueUrl: string;
  readonly dispatchDeadLetterQueueUrl: string;
  /** The master queue's high lane, where producers send high-priority requests (core/lanes.ts), and its DLQ. */
  readonly masterHighQueueUrl?: string;
  readonly masterHighDeadLetterQueueUrl?: string;
  readonly regions: ReadonlyArray<{
    region: string;
    capacity: number;
    queueUrl: string;
    deadLetterQueueUrl: string;
    highQueueUrl?: string;
    highDeadLetterQueueUrl?: string;
  }>;
  /** Where the functions' metrics are served as JSON (tools/local/metrics.ts; `dispatch metrics` reads it). */
  readonly metricsEndpoint?: string;
}

export interface LocalStack {
  readonly description: StackDescription;
  readonly resources: LocalResources;
  /** The intake's config: what every function of this stack talks to (the fault proxies with `faults`). */
  readonly config: DispatchConfig;
  readonly sqsServers: Readonly<Record<string, SqsServer>>;
  readonly stepFunctions: StepFunctionsEndpoint;
  readonly eventSource: EventSource;
  readonly workers: Readonly<Record<string, Workers>>;
  /** Present with `faults: true`. */
  readonly faults?: StackFaults;
  /** The functions' metrics, kept from their EMF lines (tools/local/metrics.ts). */
  readonly metrics: EmfSink;
  /**
   * Stops what consumes queues (the event source and the workers) and leaves the servers up, so that what
   * is left in the queues and the table can be read as it stands. stop() still stops everything.
   */
  stopConsumers(): Promise<void>;
  stop(): Promise<void>;
}

const portAt = (base: number | undefined, offset: number) => (base ? base + offset : 0);

export async function startLocalStack(options: StackOptions & { faults: true }): Promise<LocalStack & { readonly faults: StackFaults }>;
export async function startLocalStack(options?: StackOptions): Promise<LocalStack>;
export async function startLocalStack(options: StackOptions = {}): Promise<LocalStack> {
  const regions = options.regions ?? DEFAULT_REGIONS;
  const stage = options.stage ?? 'local';
  const started: Array<{ stop(): Promise<void> }> = [];
  const stopAll = async () => {
    for (const part of started.reverse()) await part.stop().catch(() => undefined);
  };
  try {
    const dynamo: DynamoServer = await startDynamo(portAt(options.basePort, 0));
    started.push(dynamo);
    // The functions' EMF lines, kept as counts and served as JSON on a free port.
    const metrics = createEmfSink();
    started.push({ stop: async () => metrics.stop() });
    const metricsEndpoint = await startMetricsEndpoint(metrics);
    started.push(metricsEndpoint);
    const regionNames = [...new Set([HOME_REGION, ...regions.map((r) => r.region)])];
    const sqsServers: Record<string, SqsServer> = {};
    for (const [i, region] of regionNames.entries()) {
      const server = await startSqs(region, portAt(options.basePort, 2 + i));
      started.push(server);
      sqsServers[region] = server;
    }
    const endpoints = {
      dynamodb: dynamo.endpoint,
      sqs: Object.fromEntries(Object.values(sqsServers).map((s) => [s.region, s.endpoint])),
    };
    // What the running system talks to: the proxies with `faults`, else the servers.
    let systemEndpoints = endpoints;
    let dynamoProxy: FaultProxy | undefined;
    const sqsProxies: Record<string, FaultProxy> = {};
    const proxyOptions = {
      ...(options.faultOptions?.seed === undefined ? {} : { seed: options.faultOptions.seed }),
      ...(options.faultOptions?.logBodies ? { logBodies: true } : {}),
    };
    if (options.faults) {
      dynamoProxy = await startFaultProxy({ target: dynamo.endpoint, service: 'dynamodb', ...proxyOptions });
      started.push(dynamoProxy);
      for (const server of Object.values(sqsServers)) {
        const p = await startFaultProxy({ target: server.endpoint, service: 'sqs', name: `sqs ${server.region}`, ...proxyOptions });
        started.push(p);
        sqsProxies[server.region] = p;
      }
      systemEndpoints = {
        dynamodb: dynamoProxy.endpoint,
        sqs: Object.fromEntries(Object.entries(sqsProxies).map(([region, p]) => [region, p.endpoint])),
      };
    }
    const resources = await createResources(endpoints, {
      homeRegion: HOME_REGION,
      regions,
      stage,
      masterVisibilitySeconds: options.masterVisibilitySeconds ?? 10,
      ...(options.regionalVisibilitySeconds === undefined ? {} : { regionalVisibilitySeconds: options.regionalVisibilitySeconds }),
      ...(options.lanes === undefined ? {} : { lanes: options.lanes }),
    });

    // The functions' metric lines go to this stack's sink.
    const functionOptions = { ...(options.env ? { settings: options.env } : {}), onMetricLine: metrics.take };
    const setup = createDispatchRunner(resources, systemEndpoints, {
      ...functionOptions,
      ...(options.wrap ? { wrap: options.wrap } : {}),
      ...(options.retryIntervalMs === undefined ? {} : { retryIntervalMs: options.retryIntervalMs }),
      ...(options.retryScale === undefined ? {} : { retryScale: options.retryScale }),
      ...(options.claimLeaseSeconds === undefined ? {} : { claimLeaseSeconds: options.claimLeaseSeconds }),
    });
    const stepFunctions = await startStepFunctionsEndpoint({
      port: portAt(options.basePort, 1),
      region: HOME_REGION,
      stateMachines: [
        { name: resourceNames(stage).stateMachine, runner: setup.runner, definition: setup.definition, type: 'EXPRESS' },
      ],
    });
    started.push({ stop: async () => (await stepFunctions.stop(), setup.close()) });
    const sfnProxy = options.faults ? await startFaultProxy({ target: stepFunctions.endpoint, service: 'stepfunctions', ...proxyOptions }) : undefined;
    if (sfnProxy) started.push(sfnProxy);
    // The intake starts its executions on this stack's endpoint, which is known only now.
    const intakeFunction = createLocalIntake(resources, systemEndpoints, sfnProxy?.endpoint ?? stepFunctions.endpoint, functionOptions);
    started.push({ stop: async () => intakeFunction.close() });
    const intake = intakeFunction.handler;

    const home = sqsAt(HOME_REGION, systemEndpoints.sqs[HOME_REGION] as string);
    /** The intake's subscription to one master lane, as the deployment's event source mappings. */
    const subscribe = (queueUrl: string, queueArn: string, maximumBatchingWindowSeconds: number, pollers: number) =>
      startEventSource({
        client: home,
        queueUrl,
        queueArn,
        region: HOME_REGION,
        handler: (options.wrap ? options.wrap('intake', intake) : intake) as never,
        batchSize: 10,
        maximumBatchingWindowSeconds,
        pollers,
        functionName: resourceNames(stage).function('intake'),
        ...(options.onBatch ? { onBatch: options.onBatch } : {}),
        ...(options.quickStop ? { abortReceivesOnStop: true } : {}),
      });
    const eventSource = subscribe(resources.masterQueueUrl, resources.masterQueueArn, options.batchWindowSeconds ?? 0.5, options.pollers ?? 2);
    // The master queue's high lane: pollers of its own and a short window, as deployed
    // (stacks/settings.ts INTAKE_HIGH_SUBSCRIPTION), so high requests never wait behind normal batches.
    const highEventSource = resources.masterHigh
      ? subscribe(resources.masterHigh.url, resources.masterHigh.arn, Math.min(options.batchWindowSeconds ?? 0.5, 0.1), 1)
      : undefined;
    started.push({ stop: async () => (await Promise.all([eventSource.stop(), highEventSource?.stop()]), home.destroy()) });
    const consumers: Array<() => Promise<void>> = [() => eventSource.stop(), async () => highEventSource?.stop()];

    const workers: Record<string, Workers> = {};
    const fenceClient =
      options.fence === false || !options.workers
        ? undefined
        : new DynamoDBClient({ region: HOME_REGION, endpoint: systemEndpoints.dynamodb, credentials: LOCAL_CREDENTIALS, maxAttempts: 2 });
    if (fenceClient) started.push({ stop: async () => fenceClient.destroy() });
    for (const region of resources.regions) {
      const spec = options.workers?.[region.region];
      if (!spec || spec.workers <= 0) continue;
      const client = sqsAt(region.region, systemEndpoints.sqs[region.region] as string);
      workers[region.region] = startWorkers({
        region: region.region,
        client,
        queueUrl: region.queueUrl,
        ...(region.highQueueUrl ? { highQueueUrl: region.highQueueUrl } : {}),
        workers: spec.workers,
        secondsPerRequest: spec.secondsPerRequest,
        ...(options.onProcessed ? { onProcessed: (body: string) => options.onProcessed?.(region.region, body) } : {}),
        ...(fenceClient
          ? {
              fence: {
                tableName: resources.tableName,
                client: fenceClient,
                ...(options.fenceLeaseSeconds === undefined ? {} : { leaseSeconds: options.fenceLeaseSeconds }),
                ...(options.workerClockSkewSeconds ? { clockSkewSeconds: options.workerClockSkewSeconds } : {}),
              },
            }
          : {}),
        ...(options.workerCrash ? { crash: options.workerCrash } : {}),
        ...(options.onWorkerEvent ? { onEvent: options.onWorkerEvent } : {}),
        ...(options.quickStop ? { abortReceivesOnStop: true } : {}),
        ...(options.onDropped
          ? { onDropped: (body: string, _region: string, reason: DropReason) => options.onDropped?.(region.region, body, reason) }
          : {}),
      });
      started.push({ stop: async () => (await workers[region.region]?.stop(), client.destroy()) });
      consumers.push(async () => workers[region.region]?.stop());
    }

    const description: StackDescription = {
      pid: process.pid,
      stage,
      homeRegion: HOME_REGION,
      endpoints: { ...endpoints, stepFunctions: stepFunctions.endpoint },
      stateMachineArn: stepFunctions.stateMachineArn(resourceNames(stage).stateMachine),
      tableName: resources.tableName,
      masterQueueUrl: resources.masterQueueUrl,
      masterDeadLetterQueueUrl: resources.masterDeadLetterQueueUrl,
      dispatchDeadLetterQueueUrl: resources.dispatchDeadLetterQueueUrl,
      ...(resources.masterHigh
        ? { masterHighQueueUrl: resources.masterHigh.url, masterHighDeadLetterQueueUrl: resources.masterHigh.deadLetterQueueUrl }
        : {}),
      regions: resources.regions.map(({ region, capacity, queueUrl, deadLetterQueueUrl, highQueueUrl, highDeadLetterQueueUrl }) => ({
        region,
        capacity,
        queueUrl,
        deadLetterQueueUrl,
        ...(highQueueUrl ? { highQueueUrl } : {}),
        ...(highDeadLetterQueueUrl ? { highDeadLetterQueueUrl } : {}),
      })),
      metricsEndpoint: metricsEndpoint.url,
    };
    const faults = dynamoProxy && sfnProxy ? { dynamodb: dynamoProxy, stepFunctions: sfnProxy, sqs: sqsProxies } : undefined;
    return {
      description,
      resources,
      config: intakeFunction.config,
      sqsServers,
      stepFunctions,
      eventSource,
      workers,
      metrics,
      ...(faults ? { faults } : {}),
      stopConsumers: async () => {
        await Promise.all(consumers.map((stop) => stop()));
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
