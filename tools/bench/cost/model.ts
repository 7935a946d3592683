/**
 * The monthly bill of the dispatch, from the deployment's settings and the figures measured on the local
 * stack (tools/bench/cost/measured.json). Pure: no I/O, no clock. Every formula is here and in docs/cost.md.
 *
 * Shape of the computation:
 *   messages M = perDay x 730/24; arrivals lambda = perDay / 86400 per second
 *   batches (executions) E = M / mean batch size; the batch size distribution comes from the event
 *     source's batching (batchSizeDistribution) or from a given mean fill
 *   every per-execution figure f(k) is measured for k = 1..10 messages (and for 1..5 regions); the model
 *     takes its expectation over the batch size distribution: E x sum_k p_k f(k)
 *   caches (CACHE_TTL for queue depths, 2 s for region health) turn per-snapshot reads into a share
 *     of executions (cacheMissShare)
 *   durations measured locally get AWS's network latency added (AWS_LATENCY_MS), then Lambda rounds
 *     each invocation up to 1 ms and Express each execution up to 100 ms
 *   then prices (tools/bench/cost/prices.ts), without the free tier; the free tier is a separate credit.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { TableCapacity } from '../../../stacks/settings.js';
import { FUNCTIONS, LOG_VARIANTS, type FunctionName, type LogVariant, type MeasuredCell, type MeasuredFigures } from './figures.js';
import type { LogLevel } from './log-records.js';
import {
  batchDistributionForFill,
  batchGatheringSeconds,
  batchingDelaySeconds,
  batchSizeDistribution,
  closedByWindowShare,
  meanBatch,
  poissonPmf,
  type BatchingInput,
} from '../batching.js';
import { DAYS_PER_MONTH, EXPRESS_GB_HOUR_TIERS, FREE_TIER, PRICES, SECONDS_PER_MONTH } from './prices.js';

// ---- the event source's batching: tools/bench/batching.ts, shared with the placement simulation ----

export {
  batchDistributionForFill,
  batchGatheringSeconds,
  batchingDelaySeconds,
  batchSizeDistribution,
  closedByWindowShare,
  meanBatch,
  poissonPmf,
  type BatchingInput,
} from '../batching.js';

// ---- billing rules ---------------------------------------------------------------------------------

/** Express bills duration rounded up to the next 100 ms (at least 100 ms). */
export function expressBilledMs(ms: number): number {
  return Math.max(100, Math.ceil(ms / 100) * 100);
}

/**
 * Express memory (pricing page, example 3): 50 MB + definition + execution data x Map/Parallel steps,
 * billed in 64 MB chunks.
 */
export function expressBilledMemoryMb(memory: MeasuredCell['memory']): number {
  const mb = 50 + (memory.definitionBytes + memory.maxPayloadBytes * memory.mapParallelSteps) / 1e6;
  return Math.ceil(mb / 64) * 64;
}

/** Express duration charge for a month's GB-seconds, over the GB-hour tiers. */
export function expressDurationUsd(gbSeconds: number): number {
  let left = gbSeconds / 3600;
  let from = 0;
  let usd = 0;
  for (const tier of EXPRESS_GB_HOUR_TIERS) {
    const inTier = Math.min(left, tier.upToGbHours - from);
    usd += inTier * tier.usdPerGbHour;
    left -= inTier;
    from = tier.upToGbHours;
    if (left <= 0) break;
  }
  return usd;
}

/** SQS bills every 64 KiB chunk of a request's payload as one request. */
export function sqsBilledRequests(payloadBytes: number): number {
  return Math.max(1, Math.ceil(payloadBytes / 65_536));
}

/** DynamoDB write request units of one write: 1 per KB of item (the larger of before and after). */
export function dynamoWriteUnits(itemBytes: number): number {
  return Math.max(1, Math.ceil(itemBytes / 1024));
}

/** DynamoDB read request units of one read: 1 per 4 KB strongly consistent, half that eventually consistent. */
export function dynamoReadUnits(itemBytes: number, consistent: boolean): number {
  const units = Math.max(1, Math.ceil(itemBytes / 4096));
  return consistent ? units : units / 2;
}

/** DynamoDB's item size: attribute names plus values (numbers: 1 byte per 2 significant digits + 1). */
export function dynamoItemBytes(item: Readonly<Record<string, AttributeValue>>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) bytes += Buffer.byteLength(name) + attributeBytes(value);
  return bytes;
}

function numberBytes(text: string): number {
  const digits = text.replace(/^[-+]/, '').replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

function attributeBytes(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return numberBytes(value.N);
  if (value.B !== undefined) return value.B.length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS) return value.SS.reduce((s, v) => s + Buffer.byteLength(v), 0);
  if (value.NS) return value.NS.reduce((s, v) => s + numberBytes(v), 0);
  if (value.L) return 3 + value.L.reduce((s, v) => s + 1 + attributeBytes(v), 0);
  if (value.M) return 3 + Object.entries(value.M).reduce((s, [k, v]) => s + 1 + Buffer.byteLength(k) + attributeBytes(v), 0);
  return 0;
}

/**
 * Share of executions whose snapshot misses a cache of `ttlSeconds` in one warm container, executions
 * arriving at `perSecond`: a refresh happens at the first execution after expiry, so refreshes come
 * every ttl + 1/rate seconds on average: share = 1 / (1 + rate x ttl).
 */
export function cacheMissShare(executionsPerSecond: number, ttlSeconds: number): number {
  return 1 / (1 + executionsPerSecond * Math.max(0, ttlSeconds));
}

/** An X-Ray sampling rule: a reservoir of traces a second, then a fixed share of the rest. */
export interface SamplingRule {
  readonly reservoirPerSecond: number;
  readonly fixedRate: number;
}

/** Lambda's and X-Ray's default rule: 1 a second, then 5%. */
export const DEFAULT_SAMPLING: SamplingRule = { reservoirPerSecond: 1, fixedRate: 0.05 };

/**
 * Traces X-Ray records per second under a sampling rule, for Poisson root requests at `perSecond`: the
 * reservoir takes the first r of each second, E[min(N, r)] = sum_{k<r} P(N > k), and the fixed rate a
 * share of the rest. The default rule gives 0.95 (1 - e^-rate) + 0.05 rate; a rule without a reservoir,
 * fixedRate x rate.
 */
export function xrayTracesPerSecond(perSecond: number, rule: SamplingRule = DEFAULT_SAMPLING): number {
  let reservoir = 0;
  let below = 0; // P(N <= k)
  for (let k = 0; k < Math.floor(rule.reservoirPerSecond); k++) {
    below += poissonPmf(k, perSecond);
    reservoir += Math.max(0, 1 - below);
  }
  return reservoir + rule.fixedRate * Math.max(0, perSecond - reservoir);
}

/**
 * The wait of an event source poller's receive on an empty queue: SQS's longest long poll. Lambda
 * developer guide, "Configuring scaling behavior for SQS event source mappings": "For standard queues,
 * Lambda uses long polling to poll a queue until it becomes active."
 */
export const EVENT_SOURCE_IDLE_WAIT_SECONDS = 20;

/**
 * Empty receives of one event source mapping in a month: its pollers long-poll 20 s at a time whenever
 * they are not gathering a batch. `gatheringSeconds` is the poller-seconds spent gathering batches.
 */
export function eventSourceIdleReceives(pollers: number, gatheringSeconds: number): number {
  return Math.max(0, pollers * SECONDS_PER_MONTH - gatheringSeconds) / EVENT_SOURCE_IDLE_WAIT_SECONDS;
}

/**
 * A worker's lane receiver (worker/lanes.ts LaneReceiver) as the bill needs it: while both lanes are
 * empty it repeats an idle cycle of `receivesPerIdleCycle` receives every `idleCycleSeconds` (an empty
 * long poll lasts its wait; a receive without a wait returns at once); in a region without a high lane
 * it long-polls the normal lane alone, one receive every `normalOnlyWaitSeconds`.
 */
export interface WorkerReceiver {
  readonly idleCycleSeconds: number;
  readonly receivesPerIdleCycle: number;
  readonly normalOnlyWaitSeconds: number;
}

/** Receives an idle worker makes a second, with both lanes or the normal lane alone. */
export const idleReceivesPerSecond = (r: WorkerReceiver, lanes = true) =>
  lanes ? r.receivesPerIdleCycle / Math.max(1e-9, r.idleCycleSeconds) : 1 / Math.max(1e-9, r.normalOnlyWaitSeconds);

/**
 * Receives per message a worker takes: the receiver asks the high lane first (core/lanes.ts pollOrder),
 * so a high message costs its own receive and a normal one the empty high-lane receive before its own.
 * (After STARVATION_LIMIT high messages in a row the normal lane is asked first: only while both lanes
 * have work, which at this load is rare; not counted.) Without lanes, one receive. Exact for a worker
 * going from one message to the next; a worker that was idle takes its message with a watch poll (one
 * of its idle receives) and then sweeps the lanes without waiting: 1 to 2 receives a message.
 */
export function receivesPerTakenMessage(highShare: number, lanes: boolean): number {
  return lanes ? highShare * 1 + (1 - highShare) * 2 : 1;
}

// ---- settings and assumptions ----------------------------------------------------------------------

/**
 * Network latency on AWS that the local emulators do not have (assumed, not measured; the seed reports
 * 200-350 ms per batch for its distributor Lambda). Added along each execution's critical path and to
 * the functions that make the calls.
 */
export const AWS_LATENCY_MS = {
  /** A DynamoDB or SQS call within us-east-1. */
  sameRegionCall: 8,
  /** An SQS call from us-east-1 to us-west-1/us-west-2 (one round trip). */
  crossRegionCall: 70,
  /** Step Functions invoking a Lambda task and taking its result. */
  lambdaTask: 25,
  /** Step Functions running a DynamoDB or SQS service-integration task. */
  serviceTask: 15,
  /** The intake's StartSyncExecution beyond the execution itself. */
  startSyncExecution: 25,
} as const;

/** How long the snapshot keeps region health (functions/snapshot.ts HEALTH_CACHE_MS), in seconds. */
export const HEALTH_CACHE_SECONDS = 2;

/** Log records Lambda itself writes per invocation in JSON log format (platform.start, platform.report). */
export const LAMBDA_PLATFORM_RECORDS = [
  {
    time: '2026-11-30T12:00:00.000Z',
    type: 'platform.start',
    record: {
      requestId: '6f7d3a4e-1a2b-4c5d-8e9f-0a1b2c3d4e5f',
      version: '$LATEST',
      tracing: { spanId: '1a2b3c4d5e6f7a8b', type: 'X-Amzn-Trace-Id', value: 'Root=1-6632a1b0-0123456789abcdef01234567;Parent=1a2b3c4d5e6f7a8b;Sampled=0' },
    },
  },
  {
    time: '2026-11-30T12:00:00.123Z',
    type: 'platform.report',
    record: {
      requestId: '6f7d3a4e-1a2b-4c5d-8e9f-0a1b2c3d4e5f',
      metrics: { durationMs: 123.45, billedDurationMs: 124, memorySizeMB: 512, maxMemoryUsedMB: 98 },
      tracing: { spanId: '1a2b3c4d5e6f7a8b', type: 'X-Amzn-Trace-Id', value: 'Root=1-6632a1b0-0123456789abcdef01234567;Parent=1a2b3c4d5e6f7a8b;Sampled=0' },
      status: 'success',
    },
  },
];
export const LAMBDA_PLATFORM_BYTES = LAMBDA_PLATFORM_RECORDS.reduce((s, r) => s + Buffer.byteLength(JSON.stringify(r)), 0);
const LOG_EVENT_OVERHEAD = 26;

export interface CostSettings {
  readonly perDay: number;
  readonly regions: number;
  readonly batchingWindowSeconds: number;
  /** Mean messages per execution; when absent, derived from the window, the rate and the pollers. */
  readonly batchFill?: number;
  /** Event source pollers sharing the arrivals (and long-polling when idle). */
  readonly pollers: number;
  /**
   * The high-priority lanes (core/lanes.ts): the share of requests that travel them, and the high master
   * lane's own event source (window, pollers). Absent: no lanes (one master queue, one queue per region).
   */
  readonly highLane?: { readonly share: number; readonly windowSeconds: number; readonly pollers: number };
  readonly maxBatch: number;
  readonly cacheTtlSeconds: number;
  readonly logLevel: LogLevel;
  readonly executionData: boolean;
  readonly logRetentionDays: number;
  readonly memoryMb: Readonly<Record<FunctionName, number>>;
  readonly idempotencyTtlDays: number;
  /** Share of messages that are duplicates of a request already dispatched. */
  readonly duplicates: number;
  readonly pitr: boolean;
  /** The idempotency table's capacity mode (stacks/settings.ts DISPATCH_TABLE_CAPACITY); absent: on-demand. */
  readonly tableCapacity?: TableCapacity;
  readonly xray: boolean;
  /** Lambda's own platform.start/platform.report records (system log level INFO, the default in JSON format). */
  readonly lambdaPlatformLogs: boolean;
  /** Standard-resolution alarm metrics and dashboards of stacks/monitoring.ts. */
  readonly alarmMetrics: number;
  readonly dashboards: number;
  readonly customMetrics: number;
  /** The functions write their EMF metric lines to their logs (functions/metrics.ts, stdout as deployed). */
  readonly emfLogs: boolean;
  /** X-Ray's sampling rule for the executions (stacks/settings.ts TRACE_SAMPLING). */
  readonly xraySampling: SamplingRule;
  /**
   * GPU workers polling the regional lanes; 0 leaves the fleet's idle receives out (the receives that
   * take a message are always in). Each polls whenever it is not busy with a request.
   */
  readonly workers: number;
  /** Seconds a worker is busy per request (GPU time): 0 prices the whole fleet as idle. */
  readonly workerSecondsPerRequest: number;
  /** The workers' lane receiver (worker/lanes.ts). */
  readonly workerReceiver: WorkerReceiver;
  /** Principals whose DynamoDB calls make KMS requests for the table key (an estimate). */
  readonly kmsCallers: number;
  /** Customer-managed KMS keys of the alarm topics (stacks/alarm-keys.ts: one per region). */
  readonly alarmTopicKeys: number;
}

export type Service = 'SQS' | 'Lambda' | 'Step Functions' | 'DynamoDB' | 'CloudWatch Logs' | 'X-Ray' | 'CloudWatch' | 'Other';

export interface Line {
  readonly service: Service;
  readonly component: string;
  readonly quantity: number;
  readonly unit: string;
  readonly usd: number;
  /** The always-free tier's share of this line, in dollars (shown apart, never subtracted from the total). */
  readonly freeUsd?: number;
  readonly note?: string;
}

export interface Bill {
  readonly settings: CostSettings;
  readonly lines: readonly Line[];
  readonly totalUsd: number;
  readonly byService: Readonly<Record<Service, number>>;
  readonly freeTierUsd: number;
  readonly derived: {
    readonly messagesPerMonth: number;
    readonly executionsPerMonth: number;
    readonly meanBatch: number;
    readonly batchDistribution: readonly number[];
    readonly batchingDelay: { readonly mean: number; readonly max: number } | null;
    readonly executionMsAws: number;
    readonly executionBilledMs: number;
    readonly expressMemoryMb: number;
    readonly logBytesPerExecution: number;
    readonly logBytesPerMessage: number;
    readonly queueReadShare: number;
    readonly healthReadShare: number;
    readonly xrayTracesPerMonth: number;
    /** Event source receives that return nothing, a month (both mappings with lanes). */
    readonly eventSourceIdleReceives: number;
    /** What one idle worker pays a month in receives (LaneReceiver idle cycles). */
    readonly idleWorkerReceivesPerMonth: number;
    readonly idleWorkerUsdPerMonth: number;
    readonly regionsMeasured: boolean;
  };
}

// ---- measured figures as a table per batch size ---------------------------------------------------

type Flat = Record<string, number>;

function flatten(cell: MeasuredCell): Flat {
  const out: Flat = {};
  for (const fn of FUNCTIONS) {
    out[`lambda.${fn}.invocations`] = cell.lambda[fn]?.invocations ?? 0;
    out[`lambda.${fn}.ms`] = cell.lambda[fn]?.ms ?? 0;
    out[`logs.fn.${fn}.bytes`] = cell.functionLogBytes[fn] ?? 0;
    out[`logs.fn.${fn}.lines`] = cell.functionLogLines?.[fn] ?? 0;
  }
  for (const [k, v] of Object.entries(cell.calls)) out[`calls.${k}`] = v;
  for (const variant of LOG_VARIANTS) {
    out[`logs.${variant}.bytes`] = cell.logs[variant].ingestedBytes;
    out[`logs.${variant}.records`] = cell.logs[variant].records;
  }
  out['logs.emf.bytes'] = cell.emfLogBytes ?? 0;
  out['logs.emf.lines'] = cell.emfLogLines ?? 0;
  out['execution.ms'] = median(cell.executionMs);
  out['memory.definitionBytes'] = cell.memory.definitionBytes;
  out['memory.maxPayloadBytes'] = cell.memory.maxPayloadBytes;
  out['memory.mapParallelSteps'] = cell.memory.mapParallelSteps;
  return out;
}

function median(values: readonly number[]): number {
  if (!values.length) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export interface Profile {
  readonly messages: number;
  readonly values: Flat;
  readonly executionMs: readonly number[];
}

/** Least-squares line through (x, y) points, evaluated at x (a single point: its value). */
function fitAt(points: ReadonlyArray<readonly [number, number]>, x: number): number {
  if (points.length === 1) return points[0]?.[1] ?? 0;
  const n = points.length;
  const mx = points.reduce((s, [px]) => s + px, 0) / n;
  const my = points.reduce((s, [, py]) => s + py, 0) / n;
  const sxx = points.reduce((s, [px]) => s + (px - mx) ** 2, 0);
  const sxy = points.reduce((s, [px, py]) => s + (px - mx) * (py - my), 0);
  const slope = sxx ? sxy / sxx : 0;
  return Math.max(0, my + slope * (x - mx));
}

/**
 * Per-execution figures for 1..maxBatch messages at `regions` regions: the measured cells when that region
 * count was measured, else a straight line through the measured region counts (per batch size and figure).
 */
export function profiles(measured: MeasuredFigures, regions: number, maxBatch: number): { table: Profile[]; measured: boolean } {
  const counts = [...new Set(measured.cells.map((c) => c.regions))].sort((a, b) => a - b);
  if (!counts.length) throw new Error('the measured figures hold no cells');
  const exact = counts.includes(regions);
  const table: Profile[] = [];
  for (let k = 1; k <= maxBatch; k++) {
    const sizes = [...new Set(measured.cells.filter((c) => c.regions === counts[0]).map((c) => c.messages))];
    const kk = sizes.includes(k) ? k : Math.max(...sizes.filter((s) => s <= k), Math.min(...sizes));
    const cellsAtK = measured.cells.filter((c) => c.messages === kk);
    if (!cellsAtK.length) throw new Error(`no measured figures for ${k} messages per execution`);
    if (exact) {
      const cell = cellsAtK.find((c) => c.regions === regions) as MeasuredCell;
      table.push({ messages: k, values: flatten(cell), executionMs: cell.executionMs });
      continue;
    }
    const flats = cellsAtK.map((c) => [c.regions, flatten(c)] as const);
    const keys = new Set(flats.flatMap(([, f]) => Object.keys(f)));
    const values: Flat = {};
    for (const key of keys) values[key] = fitAt(flats.map(([r, f]) => [r, f[key] ?? 0] as const), regions);
    // Region counts are whole: so are the Map/Parallel steps and the definition's size trend.
    const nearest = cellsAtK.reduce((best, c) => (Math.abs(c.regions - regions) < Math.abs(best.regions - regions) ? c : best));
    const nearestMean = flatten(nearest)['execution.ms'] ?? 1;
    const scale = nearestMean ? (values['execution.ms'] ?? nearestMean) / nearestMean : 1;
    table.push({ messages: k, values, executionMs: nearest.executionMs.map((ms) => ms * scale) });
  }
  return { table, measured: exact };
}

const get = (p: Profile, key: string) => p.values[key] ?? 0;

// ---- the bill --------------------------------------------------------------------------------------

function logVariant(level: LogLevel, data: boolean): LogVariant | undefined {
  if (level === 'ALL') return data ? 'allData' : 'allNoData';
  if (level === 'ERROR') return data ? 'errorData' : 'errorNoData';
  if (level === 'FATAL') return 'fatal';
  return undefined;
}

const GB = 1e9;
const HOURS_PER_MONTH = SECONDS_PER_MONTH / 3600;

export function computeBill(settings: CostSettings, measured: MeasuredFigures): Bill {
  const s = settings;
  const { table, measured: regionsMeasured } = profiles(measured, s.regions, s.maxBatch);
  const messagesPerMonth = s.perDay * DAYS_PER_MONTH;
  const ratePerSecond = s.perDay / 86_400;
  const highShare = s.highLane?.share ?? 0;
  const batching: BatchingInput = { ratePerSecond: ratePerSecond * (1 - highShare), windowSeconds: s.batchingWindowSeconds, pollers: s.pollers, maxBatch: s.maxBatch };
  const normalDist = s.batchFill === undefined ? batchSizeDistribution(batching) : batchDistributionForFill(s.batchFill, s.maxBatch);
  // The high master lane batches apart (its own window and pollers): executions of both, and the batch
  // sizes over all executions as a mixture, so every per-execution figure below covers both lanes.
  const highBatching: BatchingInput | undefined = s.highLane
    ? { ratePerSecond: ratePerSecond * highShare, windowSeconds: s.highLane.windowSeconds, pollers: s.highLane.pollers, maxBatch: s.maxBatch }
    : undefined;
  const highDist = highBatching ? batchSizeDistribution(highBatching) : undefined;
  const normalExecutions = (messagesPerMonth * (1 - highShare)) / meanBatch(normalDist);
  const highExecutions = highDist ? (messagesPerMonth * highShare) / meanBatch(highDist) : 0;
  const executions = normalExecutions + highExecutions;
  const dist = normalDist.map((p, i) => (p * normalExecutions + (highDist?.[i] ?? 0) * highExecutions) / executions);
  const fill = messagesPerMonth / executions;
  const executionsPerSecond = ratePerSecond / fill;
  const queueRead = cacheMissShare(executionsPerSecond, s.cacheTtlSeconds);
  const healthRead = cacheMissShare(executionsPerSecond, Math.min(HEALTH_CACHE_SECONDS, s.cacheTtlSeconds));
  /** Expectation over the batch sizes, per execution. */
  const expect = (f: (p: Profile) => number) => dist.reduce((sum, pk, i) => sum + pk * f(table[i] as Profile), 0);
  const L = AWS_LATENCY_MS;

  // Durations on AWS: local handler time + the latency of the calls each makes.
  const sendsHome = (p: Profile) => get(p, 'calls.sqs.home.SendMessageBatch');
  const sendsRemote = (p: Profile) => get(p, 'calls.sqs.remote.SendMessageBatch');
  const snapshotAdded = (p: Profile) => {
    const reads = get(p, 'lambda.snapshot.invocations');
    const remoteReads = s.regions > 1 ? L.crossRegionCall : L.sameRegionCall;
    return reads * (queueRead * remoteReads + (1 - queueRead) * healthRead * L.sameRegionCall);
  };
  const forwardAdded = (p: Profile) => sendsHome(p) * L.sameRegionCall + sendsRemote(p) * L.crossRegionCall;
  const executionAdded = (p: Profile) =>
    2 * (L.serviceTask + L.sameRegionCall) + // claims, then the marks (each Map runs its items in parallel)
    3 * L.lambdaTask + // snapshot, select, forward
    snapshotAdded(p) +
    (sendsRemote(p) > 0 ? L.crossRegionCall : L.sameRegionCall); // the slowest Forward branch's send
  const functionMs = (fn: FunctionName, p: Profile) => {
    const local = get(p, `lambda.${fn}.ms`);
    const invocations = get(p, `lambda.${fn}.invocations`);
    const added =
      fn === 'intake'
        ? executionAdded(p) + L.startSyncExecution
        : fn === 'snapshot'
          ? snapshotAdded(p)
          : fn === 'forward'
            ? forwardAdded(p)
            : 0;
    return local + added + 0.5 * invocations; // + half a millisecond of rounding up per invocation
  };
  const executionMsAws = expect((p) => get(p, 'execution.ms') + executionAdded(p));
  const memoryMb = (p: Profile) =>
    expressBilledMemoryMb({
      definitionBytes: get(p, 'memory.definitionBytes'),
      maxPayloadBytes: get(p, 'memory.maxPayloadBytes'),
      mapParallelSteps: Math.round(get(p, 'memory.mapParallelSteps')),
    });
  const billedMs = (p: Profile) => {
    const added = executionAdded(p);
    // Each sample rounded up as Express bills it; a sample over twice the median (a busy machine) counts as the median.
    const typical = get(p, 'execution.ms');
    const samples = p.executionMs.length ? p.executionMs.map((ms) => (ms > 2 * typical ? typical : ms)) : [typical];
    return samples.reduce((sum, ms) => sum + expressBilledMs(ms + added), 0) / samples.length;
  };
  const expressGbSeconds = executions * expect((p) => (billedMs(p) / 1000) * (memoryMb(p) / 1024));

  const lines: Line[] = [];
  const add = (line: Line) => lines.push(line);
  const call = (key: string) => expect((p) => get(p, `calls.${key}`));
  const perMessage = (key: string) => measured.workers.perMessage[key] ?? 0;

  // ---- SQS ----
  const bodyChunks = sqsBilledRequests(measured.payload.bodyBytes);
  const sqs = (component: string, requests: number, note?: string) =>
    add({ service: 'SQS', component, quantity: requests, unit: 'requests', usd: requests * PRICES.sqsRequest.usd, ...(note ? { note } : {}) });
  sqs('master queue: client sends (SendMessage, one per request)', messagesPerMonth * bodyChunks);
  const pollers = s.pollers + (s.highLane?.pollers ?? 0);
  // Each mapping's pollers long-poll the empty queue 20 s at a time, except while they gather a batch
  // (a given fill: each batch taken as gathered for the whole window).
  const normalGathering = normalExecutions * (s.batchFill === undefined ? batchGatheringSeconds(batching) : s.batchingWindowSeconds);
  const highGathering = highBatching ? highExecutions * batchGatheringSeconds(highBatching) : 0;
  const idleReceives = eventSourceIdleReceives(s.pollers, normalGathering) + (s.highLane ? eventSourceIdleReceives(s.highLane.pollers, highGathering) : 0);
  const windowCloses =
    normalExecutions * (s.batchFill === undefined ? closedByWindowShare(batching) : 1) + (highBatching ? highExecutions * closedByWindowShare(highBatching) : 0);
  sqs(
    s.highLane ? 'master queue and its high lane: event source receives' : 'master queue: event source receives',
    messagesPerMonth + windowCloses + idleReceives,
    `one per message, one per batch closed by its window, and ${pollers} pollers' 20 s long polls while they gather no batch (${(idleReceives / 1e3).toFixed(0)} k)`,
  );
  sqs('master queue: event source deletes (DeleteMessageBatch)', executions * call('sqs.home.DeleteMessageBatch'));
  const sendsPerExecution = expect((p) => sendsHome(p) + sendsRemote(p));
  const messagesPerSend = sendsPerExecution ? fill / sendsPerExecution : 1;
  sqs(
    'regional queues: forward (SendMessageBatch)',
    executions * sendsPerExecution * sqsBilledRequests(messagesPerSend * measured.payload.regionalMessageBytes),
  );
  // With lanes a region's reading is two queues' (both lanes, read together). The measured calls are
  // per region; a measurement made with lanes already counts both (measured.lanes).
  const lanesRead = s.highLane && !measured.setup.lanes ? 2 : 1;
  sqs(
    'regional queues: depth reads (GetQueueAttributes)',
    executions * expect((p) => get(p, 'calls.sqs.home.GetQueueAttributes') + get(p, 'calls.sqs.remote.GetQueueAttributes')) * queueRead * lanesRead,
    `${(queueRead * 100).toFixed(1)}% of snapshots miss the ${s.cacheTtlSeconds} s cache${s.highLane ? '; two lanes per region' : ''}`,
  );
  // The receives that take a message (a GPU worker takes one at a time: with lanes, a normal one after
  // the empty high-lane receive), then its delete and any visibility change; idle polls are the fleet's,
  // apart (workers).
  const takeReceives = receivesPerTakenMessage(highShare, s.highLane !== undefined);
  const workerQueueCalls =
    perMessage('worker.copiesReceived') * takeReceives +
    ['DeleteMessage', 'ChangeMessageVisibility'].reduce((sum, action) => sum + perMessage(`sqs.home.${action}`) + perMessage(`sqs.remote.${action}`), 0);
  sqs(
    s.highLane ? 'regional queues: workers receive (high lane first) + delete' : 'regional queues: workers receive + delete',
    messagesPerMonth * workerQueueCalls,
    s.highLane ? `${takeReceives.toFixed(2)} receives per message taken: a high one its own, a normal one the empty high-lane receive before it` : undefined,
  );
  const idlePerSecond = idleReceivesPerSecond(s.workerReceiver, s.highLane !== undefined);
  const idleWorkerReceives = idlePerSecond * SECONDS_PER_MONTH;
  if (s.workers > 0) {
    const idleSeconds = Math.max(0, s.workers * SECONDS_PER_MONTH - messagesPerMonth * s.workerSecondsPerRequest);
    sqs(
      `regional queues: ${s.workers} workers' idle receives`,
      idleSeconds * idlePerSecond,
      `${idlePerSecond.toFixed(3)} receives per idle second (${s.highLane ? `${s.workerReceiver.receivesPerIdleCycle} per ${s.workerReceiver.idleCycleSeconds} s idle cycle` : `1 per ${s.workerReceiver.normalOnlyWaitSeconds} s`}), ${(idleSeconds / 3600).toFixed(0)} idle worker-hours`,
    );
  }
  const deadLetterSends = call('sqs.home.SendMessage');
  if (deadLetterSends > 0) sqs('dead-letter queues: sends', executions * deadLetterSends);

  // ---- Lambda ----
  for (const fn of FUNCTIONS) {
    const invocations = executions * expect((p) => get(p, `lambda.${fn}.invocations`));
    const ms = expect((p) => functionMs(fn, p));
    const gbSeconds = executions * (ms / 1000) * (s.memoryMb[fn] / 1024);
    add({ service: 'Lambda', component: `${fn}: requests`, quantity: invocations, unit: 'requests', usd: invocations * PRICES.lambdaRequest.usd });
    add({
      service: 'Lambda',
      component: `${fn}: duration (${s.memoryMb[fn]} MB, ${(ms / Math.max(1, expect((p) => get(p, `lambda.${fn}.invocations`)))).toFixed(0)} ms each)`,
      quantity: gbSeconds,
      unit: 'GB-s',
      usd: gbSeconds * PRICES.lambdaArmGbSecond.usd,
    });
  }

  // ---- Step Functions Express ----
  add({ service: 'Step Functions', component: 'Express: requests (one execution per batch)', quantity: executions, unit: 'requests', usd: executions * PRICES.expressRequest.usd });
  add({
    service: 'Step Functions',
    component: `Express: duration (${Math.round(expect(billedMs))} ms billed, ${Math.round(expect(memoryMb))} MB)`,
    quantity: expressGbSeconds,
    unit: 'GB-s',
    usd: expressDurationUsd(expressGbSeconds),
  });

  // ---- DynamoDB ----
  const claimUnits = dynamoWriteUnits(measured.items.dispatched.maxBytes);
  const workerUnits = dynamoWriteUnits(measured.items.completed.maxBytes);
  // Provisioned: the units each request consumes are still shown, but the capacity held is what is paid (below).
  const provisioned = s.tableCapacity?.mode === 'provisioned' ? s.tableCapacity : undefined;
  const wru = (component: string, writes: number, units: number) =>
    add({ service: 'DynamoDB', component, quantity: writes * units, unit: 'WRU', usd: provisioned ? 0 : writes * units * PRICES.dynamoWriteUnit.usd });
  const rru = (component: string, units: number) =>
    add({ service: 'DynamoDB', component, quantity: units, unit: 'RRU', usd: provisioned ? 0 : units * PRICES.dynamoReadUnit.usd });
  const updates = call('dynamodb.UpdateItem');
  wru('claims (conditional UpdateItem per message)', messagesPerMonth, claimUnits);
  wru('marks (DISPATCHED, or a release)', executions * Math.max(0, updates - fill), claimUnits);
  const otherWrites = call('dynamodb.PutItem') + call('dynamodb.DeleteItem');
  if (otherWrites > 0) wru('other writes (intake DLQ markers, health)', executions * otherWrites, 1);
  const duplicate = measured.incidents.find((i) => i.what.includes('duplicate'));
  const readsPerDuplicate = duplicate ? (duplicate.calls['dynamodb.GetItem'] ?? 0) / Math.max(1, duplicate.messages) : 1;
  const claimReads = executions * call('dynamodb.GetItem') + messagesPerMonth * s.duplicates * readsPerDuplicate;
  rru('reads (who holds a claim: duplicates only)', claimReads * dynamoReadUnits(measured.items.completed.maxBytes, true));
  rru(
    'health reads (BatchGetItem, one consistent read per region)',
    executions * call('dynamodb.BatchGetItem') * healthRead * s.regions,
  );
  wru('workers: accept + complete (conditional UpdateItem)', messagesPerMonth * perMessage('dynamodb.UpdateItem'), workerUnits);
  const workerReads = perMessage('dynamodb.GetItem');
  if (workerReads > 0) rru('workers: reads', messagesPerMonth * workerReads);
  if (provisioned) {
    const consumed = (unit: string) => lines.filter((l) => l.service === 'DynamoDB' && l.unit === unit).reduce((t, l) => t + l.quantity, 0) / SECONDS_PER_MONTH;
    const held = (component: string, units: number, price: number, free: number, perSecond: number) =>
      add({
        service: 'DynamoDB',
        component,
        quantity: units * HOURS_PER_MONTH,
        unit: 'unit-hours',
        usd: units * HOURS_PER_MONTH * price,
        freeUsd: Math.min(units, free) * HOURS_PER_MONTH * price,
        note: `${perSecond.toFixed(2)} a second consumed on average, ${((perSecond / units) * 100).toFixed(0)}% of the ${units} provisioned${perSecond > units ? ': ABOVE the capacity, throttled' : ''}`,
      });
    held(`provisioned writes (${provisioned.writeUnits} WCU all month)`, provisioned.writeUnits, PRICES.dynamoWcuHour.usd, FREE_TIER.dynamoWcu, consumed('WRU'));
    held(`provisioned reads (${provisioned.readUnits} RCU all month)`, provisioned.readUnits, PRICES.dynamoRcuHour.usd, FREE_TIER.dynamoRcu, consumed('RRU'));
  }
  const storedGb = (s.perDay * s.idempotencyTtlDays * (measured.items.completed.meanBytes + 100)) / GB;
  add({
    service: 'DynamoDB',
    component: `storage (${s.idempotencyTtlDays} days of records, TTL)`,
    quantity: storedGb,
    unit: 'GB-month',
    usd: storedGb * PRICES.dynamoStorageGbMonth.usd,
    freeUsd: Math.min(storedGb, FREE_TIER.dynamoStorageGb) * PRICES.dynamoStorageGbMonth.usd,
  });
  if (s.pitr) add({ service: 'DynamoDB', component: 'point-in-time recovery', quantity: storedGb, unit: 'GB-month', usd: storedGb * PRICES.dynamoPitrGbMonth.usd });

  // ---- CloudWatch Logs ----
  const variant = logVariant(s.logLevel, s.executionData);
  const duplicateErrorBytes =
    duplicate && (s.logLevel === 'ERROR') ? (duplicate.logs[s.executionData ? 'errorData' : 'errorNoData'].ingestedBytes / Math.max(1, duplicate.messages)) : 0;
  const executionLogBytes = variant ? executions * expect((p) => get(p, `logs.${variant}.bytes`)) + messagesPerMonth * s.duplicates * duplicateErrorBytes : 0;
  const executionLogGb = executionLogBytes / GB;
  const logName = s.logLevel === 'ALL' ? `ALL, ${s.executionData ? 'with' : 'without'} execution data` : s.logLevel;
  add({ service: 'CloudWatch Logs', component: `state machine log: ingestion (${logName})`, quantity: executionLogGb, unit: 'GB', usd: executionLogGb * PRICES.logsIngestGb.usd });
  const compression = s.executionData ? measured.compression.executionLogData : measured.compression.executionLogNoData;
  const executionStoredGb = (executionLogGb / DAYS_PER_MONTH) * s.logRetentionDays * compression;
  add({
    service: 'CloudWatch Logs',
    component: `state machine log: storage (${s.logRetentionDays} days, compressed to ${(compression * 100).toFixed(0)}%)`,
    quantity: executionStoredGb,
    unit: 'GB-month',
    usd: executionStoredGb * PRICES.logsStorageGbMonth.usd,
  });
  const functionLogBytes =
    executions *
    expect(
      (p) =>
        FUNCTIONS.reduce(
          (sum, fn) =>
            sum +
            get(p, `logs.fn.${fn}.bytes`) +
            LOG_EVENT_OVERHEAD * get(p, `logs.fn.${fn}.lines`) +
            (s.lambdaPlatformLogs ? get(p, `lambda.${fn}.invocations`) * (LAMBDA_PLATFORM_BYTES + LOG_EVENT_OVERHEAD * LAMBDA_PLATFORM_RECORDS.length) : 0),
          0,
        ) +
        // The EMF lines the functions write beside their logs (functions/metrics.ts): log events too.
        (s.emfLogs ? get(p, 'logs.emf.bytes') + LOG_EVENT_OVERHEAD * get(p, 'logs.emf.lines') : 0),
    );
  const functionLogGb = functionLogBytes / GB;
  add({ service: 'CloudWatch Logs', component: `function logs: ingestion (${s.lambdaPlatformLogs ? 'platform records + ' : ''}INFO logs${s.emfLogs ? ' + EMF lines' : ''})`, quantity: functionLogGb, unit: 'GB', usd: functionLogGb * PRICES.logsIngestGb.usd });
  const functionStoredGb = (functionLogGb / DAYS_PER_MONTH) * s.logRetentionDays * measured.compression.functionLogs;
  add({ service: 'CloudWatch Logs', component: `function logs: storage (${s.logRetentionDays} days)`, quantity: functionStoredGb, unit: 'GB-month', usd: functionStoredGb * PRICES.logsStorageGbMonth.usd });

  // ---- X-Ray ----
  // One trace per sampled execution: the sampling rule decides for each execution (the intake passes
  // through an untraced message's trace id), and the task functions' segments join that execution's trace.
  const traces = s.xray ? SECONDS_PER_MONTH * xrayTracesPerSecond(executionsPerSecond, s.xraySampling) : 0;
  if (s.xray) {
    const rule = s.xraySampling;
    add({
      service: 'X-Ray',
      component: `traces recorded (rule: ${rule.reservoirPerSecond}/s + ${(rule.fixedRate * 100).toFixed(0)}%; one trace per sampled execution)`,
      quantity: traces,
      unit: 'traces',
      usd: traces * PRICES.xrayTraceRecorded.usd,
      freeUsd: Math.min(traces, FREE_TIER.xrayTraces) * PRICES.xrayTraceRecorded.usd,
    });
  }

  // ---- CloudWatch alarms, dashboard, metric ----
  add({
    service: 'CloudWatch',
    component: `alarms (${s.alarmMetrics} alarm metrics)`,
    quantity: s.alarmMetrics,
    unit: 'alarm metrics',
    usd: s.alarmMetrics * PRICES.alarmMetric.usd,
    freeUsd: Math.min(s.alarmMetrics, FREE_TIER.alarmMetrics) * PRICES.alarmMetric.usd,
  });
  add({ service: 'CloudWatch', component: 'dashboard', quantity: s.dashboards, unit: 'dashboards', usd: s.dashboards * PRICES.dashboard.usd, freeUsd: Math.min(s.dashboards, FREE_TIER.dashboards) * PRICES.dashboard.usd });
  add({
    service: 'CloudWatch',
    component: 'custom metrics (the functions\' EMF metrics with data)',
    quantity: s.customMetrics,
    unit: 'metrics',
    usd: s.customMetrics * PRICES.customMetric.usd,
    freeUsd: Math.min(s.customMetrics, FREE_TIER.customMetrics) * PRICES.customMetric.usd,
  });

  // ---- other: KMS for the table key and the alarm topics' keys, inter-region transfer ----
  const kmsRequests = s.kmsCallers * 12 * 730;
  add({ service: 'Other', component: `KMS: table key requests (~${s.kmsCallers} callers, one per 5 min each; estimate)`, quantity: kmsRequests, unit: 'requests', usd: kmsRequests * PRICES.kmsRequest.usd });
  // Their requests (an alarm's notification, rare) stay far inside the free tier: the keys' months are the cost.
  add({
    service: 'Other',
    component: `KMS: the alarm topics' keys (${s.alarmTopicKeys}, rotated yearly: each rotation adds $1 a month for the first two)`,
    quantity: s.alarmTopicKeys,
    unit: 'keys',
    usd: s.alarmTopicKeys * PRICES.kmsKeyMonth.usd,
  });
  const remoteShare = s.regions > 1 ? (s.regions - 1) / s.regions : 0;
  const transferGb = (messagesPerMonth * remoteShare * (measured.payload.regionalMessageBytes + 2 * 1024)) / GB;
  add({
    service: 'Other',
    component: 'inter-region transfer (messages to other regions; their workers\' fence writes)',
    quantity: transferGb,
    unit: 'GB',
    usd: transferGb * PRICES.interRegionGb.usd,
  });

  // ---- free tier (apart) ----
  const sum = (service: Service, unit: string) => lines.filter((l) => l.service === service && l.unit === unit).reduce((t, l) => t + l.quantity, 0);
  const logsGb = lines.filter((l) => l.service === 'CloudWatch Logs').reduce((t, l) => t + l.quantity, 0);
  const freeTierUsd =
    lines.reduce((t, l) => t + (l.freeUsd ?? 0), 0) +
    Math.min(sum('SQS', 'requests'), FREE_TIER.sqsRequests) * PRICES.sqsRequest.usd +
    Math.min(sum('Lambda', 'requests'), FREE_TIER.lambdaRequests) * PRICES.lambdaRequest.usd +
    Math.min(sum('Lambda', 'GB-s'), FREE_TIER.lambdaGbSeconds) * PRICES.lambdaArmGbSecond.usd +
    Math.min(logsGb, FREE_TIER.logsGb) * PRICES.logsIngestGb.usd +
    Math.min(kmsRequests, FREE_TIER.kmsRequests) * PRICES.kmsRequest.usd;

  const byService = { SQS: 0, Lambda: 0, 'Step Functions': 0, DynamoDB: 0, 'CloudWatch Logs': 0, 'X-Ray': 0, CloudWatch: 0, Other: 0 } as Record<Service, number>;
  for (const line of lines) byService[line.service] += line.usd;
  const totalUsd = lines.reduce((t, l) => t + l.usd, 0);
  const logBytesPerExecution = variant ? expect((p) => get(p, `logs.${variant}.bytes`)) : 0;

  return {
    settings: s,
    lines,
    totalUsd,
    byService,
    freeTierUsd,
    derived: {
      messagesPerMonth,
      executionsPerMonth: executions,
      meanBatch: fill,
      batchDistribution: dist,
      batchingDelay: s.batchFill === undefined ? batchingDelaySeconds(batching) : null,
      executionMsAws,
      executionBilledMs: expect(billedMs),
      expressMemoryMb: expect(memoryMb),
      logBytesPerExecution,
      logBytesPerMessage: logBytesPerExecution / fill,
      queueReadShare: queueRead,
      healthReadShare: healthRead,
      xrayTracesPerMonth: traces,
      eventSourceIdleReceives: idleReceives,
      idleWorkerReceivesPerMonth: idleWorkerReceives,
      idleWorkerUsdPerMonth: idleWorkerReceives * PRICES.sqsRequest.usd,
      regionsMeasured,
    },
  };
}
