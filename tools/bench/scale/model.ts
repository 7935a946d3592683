/**
 * The load model behind `npm run bench:scale` (tools/bench/scale/main.ts) and docs/scale.md: which AWS quota or
 * limit caps one deployment first, and at how many requests per second. Pure: no I/O, no clock.
 *
 * One deployment at saturation: the master queue always holds a backlog, so every event-source batch is
 * full (`batchFill` messages) and each batch is one synchronous Express execution. A limit on concurrency
 * N of something held for t seconds per batch allows N / t batches per second; a limit on a rate allows
 * that rate; each is turned into requests (messages) per second.
 */

/** Which way a limit acts, and whether it enters "binds first". */
export type LimitKind =
  /** A sustained cap on the deployment's throughput. */
  | 'cap'
  /** A cap only until the service has scaled to the load (e.g. a new on-demand table). */
  | 'transient'
  /** Not a throughput cap: reported for its volume or its per-key effect only. */
  | 'none'
  /** A cap on one key (a duplicate storm on one request_id), not on distinct requests. */
  | 'per-key';

/** The deployment's own settings (stacks/settings.ts, core/topology.ts). */
export interface DeploymentSettings {
  /** Event source mapping batch size (messages per intake invocation). */
  readonly batchSize: number;
  readonly batchingWindowSeconds: number;
  /** The event source mapping's ScalingConfig.MaximumConcurrency. */
  readonly esmMaximumConcurrency: number;
  /** Regional queues: the Forward Parallel state has one branch (one forward function) per region. */
  readonly regions: number;
  /** Concurrency of the Claim and Commit Map states (workflows/dispatch.ts MaxConcurrency). */
  readonly mapConcurrency: number;
}

/** Per-batch and per-message figures, measured on the local stack unless said otherwise. */
export interface MeasuredFigures {
  /** Execution duration on the local stack (emulators: their calls answer in well under a millisecond of network). */
  readonly localExecutionMs: number;
  /** DynamoDB writes per message by the workflow (claim + mark DISPATCHED on the happy path). */
  readonly workflowWritesPerMessage: number;
  /** DynamoDB writes per message by the workers' fence (the acceptance and the completion). */
  readonly workerWritesPerMessage: number;
  /** Step Functions execution log per message (bytes ingested by CloudWatch Logs). */
  readonly logBytesPerMessage: number;
}

/**
 * Round trips on AWS that the local stack does not have (assumptions, not measurements: each is a flag).
 * The execution's critical path: Claim (a DynamoDB round per `mapConcurrency` messages), Snapshot,
 * Select and Forward (three Lambda invokes), the Forward's SendMessageBatch to another region, Commit
 * (a DynamoDB round per `mapConcurrency` messages); the intake adds its StartSyncExecution call.
 */
export interface AwsLatency {
  readonly serviceCallMs: number;
  readonly invokeMs: number;
  readonly crossRegionSendMs: number;
  readonly startSyncMs: number;
}

/** The quota values one scenario (default or raised) runs with. */
export interface QuotaValues {
  /** The setting MaximumConcurrency (2..1000); the ESM also processes at most `esmMaxBatches` at once. */
  readonly esmMaximumConcurrency: number;
  readonly esmMaxBatches: number;
  readonly lambdaConcurrency: number;
  readonly syncExpressConcurrency: number;
  /** Executions started per second (token bucket refill). */
  readonly startRatePerSecond: number;
  /** On-demand table write request units per second (the per-table account quota). */
  readonly tableWriteUnits: number;
  /** What a new on-demand table (or one at a new peak) takes at once. */
  readonly initialWriteUnits: number;
  readonly partitionWriteUnits: number;
  readonly partitionReadUnits: number;
  /** In-flight messages of one standard queue (received, not yet deleted). */
  readonly sqsInFlight: number;
}

export interface ModelInput {
  readonly settings: DeploymentSettings;
  readonly measured: MeasuredFigures;
  readonly latency: AwsLatency;
  /** Messages per batch at saturation (<= batchSize). */
  readonly batchFill: number;
}

export interface Timing {
  /** DynamoDB rounds of one Map state over a full batch. */
  readonly mapRounds: number;
  readonly criticalPathMs: number;
  readonly executionMs: number;
  /** What one intake invocation lasts: the execution plus StartSyncExecution. */
  readonly intakeMs: number;
}

export function timing(input: ModelInput): Timing {
  const { settings, latency, measured, batchFill } = input;
  const mapRounds = Math.ceil(batchFill / settings.mapConcurrency);
  const criticalPathMs = 2 * mapRounds * latency.serviceCallMs + 3 * latency.invokeMs + latency.crossRegionSendMs;
  const executionMs = measured.localExecutionMs + criticalPathMs;
  return { mapRounds, criticalPathMs, executionMs, intakeMs: executionMs + latency.startSyncMs };
}

/** Lambda concurrency one in-flight batch holds at its peak: the intake plus one forward per region, in parallel. */
export const lambdaPerBatch = (settings: DeploymentSettings) => 1 + settings.regions;

export const writesPerMessage = (measured: MeasuredFigures) => measured.workflowWritesPerMessage + measured.workerWritesPerMessage;

/**
 * Duplicates per second one request_id can take before its partition throttles: each duplicate costs a
 * failed conditional write (1 WRU) and the strongly consistent read that follows it (1 RRU), and a
 * partition serves 1,000 WRU or 3,000 RRU per second "or a linear combination of both".
 */
export const duplicatesPerSecondOfOneKey = (q: Pick<QuotaValues, 'partitionWriteUnits' | 'partitionReadUnits'>) =>
  1 / (1 / q.partitionWriteUnits + 1 / q.partitionReadUnits);

export type LimitId =
  | 'esm'
  | 'lambda'
  | 'syncExpress'
  | 'startRate'
  | 'dynamoTable'
  | 'dynamoInitial'
  | 'sqsInFlight'
  | 'sqsApi'
  | 'logs'
  | 'hotKey';

export interface LimitRate {
  readonly id: LimitId;
  readonly kind: LimitKind;
  /** The quota value used (Infinity: none). */
  readonly value: number;
  /** Requests per second it allows (duplicates per second of one key for 'per-key'; Infinity: no cap). */
  readonly requestsPerSecond: number;
  /** How the rate follows from the value, with the numbers. */
  readonly formula: string;
}

const n = (x: number, digits = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits }) : 'unlimited');

/** Every limit's rate for one scenario. */
export function limitRates(input: ModelInput, q: QuotaValues): LimitRate[] {
  const t = timing(input);
  const fill = input.batchFill;
  const intakeS = t.intakeMs / 1000;
  const executionS = t.executionMs / 1000;
  const esmBatches = Math.min(q.esmMaximumConcurrency, q.esmMaxBatches);
  const perBatch = lambdaPerBatch(input.settings);
  const writes = writesPerMessage(input.measured);
  return [
    {
      id: 'esm',
      kind: 'cap',
      value: esmBatches,
      requestsPerSecond: (esmBatches * fill) / intakeS,
      formula: `${n(esmBatches)} batches at once x ${fill} messages / ${n(t.intakeMs)} ms per intake`,
    },
    {
      id: 'lambda',
      kind: 'cap',
      value: q.lambdaConcurrency,
      requestsPerSecond: ((q.lambdaConcurrency / perBatch) * fill) / intakeS,
      formula: `${n(q.lambdaConcurrency)} / ${perBatch} per batch (intake + ${input.settings.regions} forwards) x ${fill} / ${n(t.intakeMs)} ms`,
    },
    {
      id: 'syncExpress',
      kind: 'cap',
      value: q.syncExpressConcurrency,
      requestsPerSecond: (q.syncExpressConcurrency * fill) / executionS,
      formula: `${n(q.syncExpressConcurrency)} executions at once x ${fill} / ${n(t.executionMs)} ms per execution`,
    },
    {
      id: 'startRate',
      kind: 'cap',
      value: q.startRatePerSecond,
      requestsPerSecond: q.startRatePerSecond * fill,
      formula: `${n(q.startRatePerSecond)} executions/s x ${fill} messages`,
    },
    {
      id: 'dynamoTable',
      kind: 'cap',
      value: q.tableWriteUnits,
      requestsPerSecond: q.tableWriteUnits / writes,
      formula: `${n(q.tableWriteUnits)} WRU/s / ${writes} writes per message`,
    },
    {
      id: 'dynamoInitial',
      kind: 'transient',
      value: q.initialWriteUnits,
      requestsPerSecond: q.initialWriteUnits / writes,
      formula: `${n(q.initialWriteUnits)} WRU/s / ${writes} writes per message, until the table has scaled to the new peak`,
    },
    {
      id: 'sqsInFlight',
      kind: 'cap',
      value: q.sqsInFlight,
      requestsPerSecond: q.sqsInFlight / intakeS,
      formula: `${n(q.sqsInFlight)} in flight / ${n(t.intakeMs)} ms each message is in flight (received until deleted)`,
    },
    {
      id: 'sqsApi',
      kind: 'none',
      value: Number.POSITIVE_INFINITY,
      requestsPerSecond: Number.POSITIVE_INFINITY,
      formula: 'standard queues: nearly unlimited API calls per second per action',
    },
    {
      id: 'logs',
      kind: 'none',
      value: Number.POSITIVE_INFINITY,
      requestsPerSecond: Number.POSITIVE_INFINITY,
      formula: `publishing does not slow executions; ${n(input.measured.logBytesPerMessage)} bytes of execution log per message`,
    },
    {
      id: 'hotKey',
      kind: 'per-key',
      value: q.partitionWriteUnits,
      requestsPerSecond: duplicatesPerSecondOfOneKey(q),
      formula: `1 / (1/${n(q.partitionWriteUnits)} + 1/${n(q.partitionReadUnits)}): a failed claim (1 WRU) + its consistent read (1 RRU) per duplicate`,
    },
  ];
}

/** The caps in the order they bind (lowest rate first); transient and non-caps left out. */
export function bindingOrder(rates: readonly LimitRate[]): LimitRate[] {
  return rates.filter((r) => r.kind === 'cap' && Number.isFinite(r.requestsPerSecond)).sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
}

export function bindsFirst(rates: readonly LimitRate[]): LimitRate {
  const first = bindingOrder(rates)[0];
  if (!first) throw new Error('no finite cap in the model');
  return first;
}

/** Execution log ingested per second at a rate (bytes/s). */
export const logBytesPerSecond = (measured: MeasuredFigures, requestsPerSecond: number) => measured.logBytesPerMessage * requestsPerSecond;

/** The intake's ESM scaling ramp: minutes from `from` to `to` concurrent batches at `perMinute` more per minute. */
export const rampMinutes = (from: number, to: number, perMinute: number) => Math.max(0, to - from) / perMinute;
