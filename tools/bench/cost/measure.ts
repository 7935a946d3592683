/**
 * Measures, on the embedded local stack (tools/local/stack.ts with fault proxies in front of every server), what
 * one dispatch execution does, as a function of how many messages it carries and how many regions there
 * are: the calls it makes to each service (counted by the proxies, per API action), the Lambda invocations
 * and their handler time, the execution's duration, the log records Step Functions would write for it at
 * each log level (its history, rendered by tools/local/emulators/history.ts, as CloudWatch log records), the functions'
 * own log output (their log lines and their EMF metric lines, which on Lambda go to the same log group),
 * and the sizes of what is stored (idempotency records) and sent (regional messages).
 * Then what a worker does per message (the dispatch fence's accept and complete writes), and two
 * incidents (duplicates, a region throttling every send) for what the ERROR level logs.
 *
 * Everything is read through public APIs (startLocalStack, the proxies' stats, the endpoint's kept
 * executions, toHistoryEvents, startWorkers), so a change in workflows/ or functions/ (what the states
 * carry, what the functions call) shows when this runs again: `npm run cost -- --measure`.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { makeRequest } from '../../ops/requests.js';
import { DEFAULT_REGIONS, HOME_REGION, type RegionSpec } from '../../../core/topology.js';
import { localDefinition, type HandlerWrapper, type LocalFunctionName } from '../../local/dispatch.js';
import type { FaultProxy } from '../../local/faults/proxy.js';
import { toHistoryEvents } from '../../local/emulators/history.js';
import { LOCAL_CREDENTIALS, sqsAt } from '../../local/resources.js';
import { startLocalStack, type LocalStack, type StackFaults } from '../../local/stack.js';
import { startWorkers } from '../../local/fleet/workers.js';
import { FUNCTION_SETTINGS } from '../../../stacks/settings.js';
import { logBytes, logRecords, type HistoryEventLike, type LogBytes, type LogRecord } from './log-records.js';
import { dynamoItemBytes } from './model.js';
import {
  FUNCTIONS,
  LOG_VARIANTS,
  MEASURED_SCHEMA,
  type Incident,
  type ItemSizes,
  type LogVariant,
  type MeasuredCell,
  type MeasuredFigures,
} from './figures.js';

/** Regions beyond the default three, for measuring how the figures grow with the region count. */
const EXTRA_REGIONS = ['us-east-2', 'eu-west-1', 'ap-southeast-2', 'eu-central-1', 'ap-northeast-1'];
/** What the deployed role ARN looks like (a Pulumi-named role): only its length matters here. */
const ROLE_ARN = 'arn:aws:iam::123456789012:role/DispatchStateMachineRole-3f9c2a1';
/** A realistic stage name: resource names (and so ARNs and URLs in the execution data) carry it. */
const STAGE = 'production';

// ---- code fingerprint: what shapes the figures ------------------------------------------------------

/** Directories whose code decides what an execution carries and calls. */
export const FINGERPRINTED = ['workflows', 'functions', 'core', 'aws', 'worker'] as const;

export function codeFingerprint(root: string): string {
  const hash = createHash('sha256');
  for (const dir of FINGERPRINTED) {
    let files: string[];
    try {
      files = readdirSync(join(root, dir)).filter((f) => f.endsWith('.ts')).sort();
    } catch {
      continue;
    }
    for (const file of files) hash.update(`${dir}/${file}\0`).update(readFileSync(join(root, dir, file))).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

function gitFacts(root: string): { commit: string | null; changedSinceCommit: string[] } {
  // Read-only git calls (no optional locks: status does not refresh the index): which commit, and which
  // fingerprinted files differ from it.
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const status = execFileSync('git', ['--no-optional-locks', 'status', '--porcelain', '--', ...FINGERPRINTED], { cwd: root, encoding: 'utf8' });
    return { commit, changedSinceCommit: status.split('\n').filter(Boolean).map((l) => l.slice(3)) };
  } catch {
    return { commit: null, changedSinceCommit: [] };
  }
}

// ---- small helpers ---------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Counts = Record<string, number>;

/** Requests seen per `prefix.action` by a set of proxies. */
function proxyCounts(faults: StackFaults): Counts {
  const counts: Counts = {};
  const add = (prefix: string, proxy: FaultProxy) => {
    for (const [action, stats] of Object.entries(proxy.stats.snapshot().actions)) {
      counts[`${prefix}.${action}`] = (counts[`${prefix}.${action}`] ?? 0) + stats.seen;
    }
  };
  add('dynamodb', faults.dynamodb);
  add('stepfunctions', faults.stepFunctions);
  for (const [region, proxy] of Object.entries(faults.sqs)) add(region === HOME_REGION ? 'sqs.home' : 'sqs.remote', proxy);
  return counts;
}

const delta = (after: Counts, before: Counts): Counts =>
  Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => (v as number) !== 0));

function meanOf<T>(rows: readonly T[], pick: (row: T) => Counts): Counts {
  const sum: Counts = {};
  for (const row of rows) for (const [k, v] of Object.entries(pick(row))) sum[k] = (sum[k] ?? 0) + v;
  return Object.fromEntries(Object.entries(sum).map(([k, v]) => [k, v / Math.max(1, rows.length)]));
}

function meanLogBytes(rows: ReadonlyArray<Record<LogVariant, LogBytes>>): Record<LogVariant, LogBytes> {
  const out = {} as Record<LogVariant, LogBytes>;
  for (const variant of LOG_VARIANTS) {
    const n = Math.max(1, rows.length);
    out[variant] = {
      records: rows.reduce((s, r) => s + r[variant].records, 0) / n,
      messageBytes: rows.reduce((s, r) => s + r[variant].messageBytes, 0) / n,
      ingestedBytes: rows.reduce((s, r) => s + r[variant].ingestedBytes, 0) / n,
    };
  }
  return out;
}

function regionSpecs(count: number): RegionSpec[] {
  const names = [...DEFAULT_REGIONS.map((r) => r.region), ...EXTRA_REGIONS].slice(0, count);
  return names.map((region) => ({ region, capacity: 1 }));
}

/** Lines the functions' loggers print (Powertools JSON with a `service`), taken out of stdout and counted. */
class FunctionLogCapture {
  bytes: Counts = {};
  lineCounts: Counts = {};
  readonly lines: string[] = [];
  #original: typeof process.stdout.write | undefined;

  start(): void {
    const original = process.stdout.write.bind(process.stdout) as (chunk: string) => boolean;
    this.#original = process.stdout.write;
    process.stdout.write = ((chunk: string | Uint8Array) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      const kept: string[] = [];
      for (const line of text.split('\n')) {
        const service = serviceOf(line);
        if (service === undefined) {
          kept.push(line);
          continue;
        }
        this.bytes[service] = (this.bytes[service] ?? 0) + Buffer.byteLength(line);
        this.lineCounts[service] = (this.lineCounts[service] ?? 0) + 1;
        this.lines.push(line);
      }
      const rest = kept.join('\n');
      return rest.trim() ? original(rest) : true;
    }) as typeof process.stdout.write;
  }

  stop(): void {
    if (this.#original) process.stdout.write = this.#original;
    this.#original = undefined;
  }

  take(): { bytes: Counts; lines: Counts } {
    const taken = { bytes: this.bytes, lines: this.lineCounts };
    this.bytes = {};
    this.lineCounts = {};
    return taken;
  }
}

function serviceOf(line: string): string | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(line) as { service?: unknown };
    return typeof parsed.service === 'string' ? parsed.service : undefined;
  } catch {
    return undefined;
  }
}

// ---- one execution's log and memory figures ---------------------------------------------------------

interface ExecutionView {
  readonly executionArn: string;
  readonly status: string;
  readonly events: ReturnType<LocalStack['stepFunctions']['executions']>[number]['events'];
  readonly error?: string;
  readonly cause?: string;
}

export function renderLogs(execution: ExecutionView, definition: object): { bytes: Record<LogVariant, LogBytes>; data: LogRecord[]; noData: LogRecord[] } {
  const source = { status: execution.status, events: execution.events, ...(execution.error ? { error: execution.error } : {}), ...(execution.cause ? { cause: execution.cause } : {}) };
  const withData = toHistoryEvents(source, { definition, region: HOME_REGION, roleArn: ROLE_ARN, includeExecutionData: true }) as unknown as HistoryEventLike[];
  const withoutData = toHistoryEvents(source, { definition, region: HOME_REGION, roleArn: ROLE_ARN, includeExecutionData: false }) as unknown as HistoryEventLike[];
  const arn = execution.executionArn;
  const data = logRecords(withData, arn, 'ALL');
  const noData = logRecords(withoutData, arn, 'ALL');
  return {
    bytes: {
      allData: logBytes(data),
      allNoData: logBytes(noData),
      errorData: logBytes(logRecords(withData, arn, 'ERROR')),
      errorNoData: logBytes(logRecords(withoutData, arn, 'ERROR')),
      fatal: logBytes(logRecords(withData, arn, 'FATAL')),
    },
    data,
    noData,
  };
}

function memoryInputs(execution: ExecutionView, definitionBytes: number): MeasuredCell['memory'] {
  let maxPayloadBytes = 0;
  let mapParallelSteps = 0;
  for (const event of execution.events) {
    if (event.type === 'MapIterationStarted' || event.type === 'ParallelBranchStarted') mapParallelSteps++;
    if ('state' in event) {
      const state = event.state as { input?: unknown; output?: unknown };
      for (const value of [state.input, state.output]) {
        if (value !== undefined) maxPayloadBytes = Math.max(maxPayloadBytes, Buffer.byteLength(JSON.stringify(value)));
      }
    }
  }
  return { definitionBytes, maxPayloadBytes, mapParallelSteps };
}

// ---- item and message sizes ------------------------------------------------------------------------

async function itemSizes(endpoint: string, tableName: string): Promise<ItemSizes> {
  const client = new DynamoDBClient({ region: HOME_REGION, endpoint, credentials: LOCAL_CREDENTIALS });
  const sizes: number[] = [];
  try {
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: tableName, ...(start ? { ExclusiveStartKey: start } : {}) }));
      for (const item of page.Items ?? []) if (item.request_id?.S?.startsWith('req-')) sizes.push(dynamoItemBytes(item));
      start = page.LastEvaluatedKey;
    } while (start);
  } finally {
    client.destroy();
  }
  return {
    count: sizes.length,
    meanBytes: sizes.length ? sizes.reduce((a, b) => a + b, 0) / sizes.length : 0,
    maxBytes: sizes.length ? Math.max(...sizes) : 0,
  };
}

/** One regional message as a worker receives it: body plus message attributes (what SQS bills as payload). */
async function regionalMessageBytes(stack: LocalStack): Promise<number> {
  const sizes: number[] = [];
  for (const region of stack.description.regions) {
    const client = sqsAt(region.region, stack.description.endpoints.sqs[region.region] as string);
    try {
      const { Messages = [] } = await client.send(
        new ReceiveMessageCommand({ QueueUrl: region.queueUrl, MaxNumberOfMessages: 1, MessageAttributeNames: ['All'], VisibilityTimeout: 0 }),
      );
      for (const m of Messages) {
        let bytes = Buffer.byteLength(m.Body ?? '');
        for (const [name, value] of Object.entries(m.MessageAttributes ?? {})) {
          bytes += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '') + Buffer.byteLength(value.StringValue ?? '');
        }
        sizes.push(bytes);
      }
    } finally {
      client.destroy();
    }
  }
  return sizes.length ? sizes.reduce((a, b) => a + b, 0) / sizes.length : 0;
}

// ---- the run ---------------------------------------------------------------------------------------

export interface MeasureOptions {
  readonly sizes?: readonly number[];
  readonly regionCounts?: readonly number[];
  readonly repeats?: number;
  readonly progress?: (line: string) => void;
  readonly root?: string;
}

interface Round {
  readonly messages: number;
  readonly executionMs: number;
  readonly lambda: Record<string, { invocations: number; ms: number }>;
  readonly calls: Counts;
  readonly logs: Record<LogVariant, LogBytes>;
  readonly functionLogBytes: Counts;
  readonly functionLogLines: Counts;
  readonly emfLogBytes: number;
  readonly emfLogLines: number;
  readonly memory: MeasuredCell['memory'];
}

interface StackRun {
  readonly rounds: Round[];
  readonly discarded: number;
  readonly logsData: LogRecord[];
  readonly logsNoData: LogRecord[];
  readonly functionLines: string[];
  readonly workers?: MeasuredFigures['workers'];
  readonly items?: MeasuredFigures['items'];
  readonly payload?: MeasuredFigures['payload'];
  readonly incidents?: Incident[];
}

async function runStack(regionCount: number, sizes: readonly number[], repeats: number, full: boolean, progress: (line: string) => void): Promise<StackRun> {
  const timings: Array<{ name: LocalFunctionName; ms: number }> = [];
  const wrap: HandlerWrapper = (name, handler) =>
    (async (event: never, context: never) => {
      const started = performance.now();
      try {
        return await handler(event, context);
      } finally {
        timings.push({ name, ms: performance.now() - started });
      }
    }) as unknown as typeof handler;
  const capture = new FunctionLogCapture();
  const stack = await startLocalStack({
    faults: true,
    regions: regionSpecs(regionCount),
    stage: STAGE,
    pollers: 1,
    // Long enough that one SendMessageBatch lands in one batch (the emulated event source keeps
    // gathering with short polls until the window closes); the deployed window is the model's business.
    batchWindowSeconds: 0.25,
    masterVisibilitySeconds: 60,
    // Retries only happen in the incident rounds; their waits do not matter here.
    retryIntervalMs: 20,
    // Every snapshot reads every region and the health items: the model applies CACHE_TTL itself.
    env: { cacheTtlSeconds: 0, logLevel: FUNCTION_SETTINGS.LOG_LEVEL },
    wrap,
  });
  const definition = localDefinition(stack.resources);
  const definitionBytes = Buffer.byteLength(JSON.stringify(definition));
  const d = stack.description;
  const producer = sqsAt(HOME_REGION, d.endpoints.sqs[HOME_REGION] as string);
  const faults = stack.faults;
  const rounds: Round[] = [];
  const logsData: LogRecord[] = [];
  const logsNoData: LogRecord[] = [];
  const sent: Array<Record<string, unknown>> = [];
  let discarded = 0;
  let sequence = 0;
  capture.start();
  try {
    /** Sends `bodies` in one SendMessageBatch straight to the server, waits until the event source resolved them. */
    const round = async (bodies: ReadonlyArray<Record<string, unknown>>) => {
      const knownExecutions = new Set(stack.stepFunctions.executions().map((e) => e.executionArn));
      const resolvedBefore = stack.eventSource.stats().received;
      capture.take();
      timings.length = 0;
      // The functions' EMF lines go to the stack's metrics sink here (stdout on Lambda: the function's
      // log group): what it received during the round.
      const emfBefore = stack.metrics.report();
      const before = proxyCounts(faults);
      const result = await producer.send(
        new SendMessageBatchCommand({
          QueueUrl: d.masterQueueUrl,
          Entries: bodies.map((body, i) => ({ Id: String(i), MessageBody: JSON.stringify(body) })),
        }),
      );
      if (result.Failed?.length) throw new Error(`the master queue refused ${result.Failed.length} messages`);
      const deadline = Date.now() + 20_000;
      while (stack.eventSource.stats().received < resolvedBefore + bodies.length && Date.now() < deadline) await sleep(5);
      // The event source reports a batch once it has deleted it: every call of the dispatch has been made
      // (a proxy counts a request as it arrives). Not `settled()`: the event source's next long poll is
      // in flight through the home proxy and would hold it for a second.
      await sleep(10);
      const calls = delta(proxyCounts(faults), before);
      const executions = stack.stepFunctions.executions().filter((e) => !knownExecutions.has(e.executionArn));
      const logged = capture.take();
      const emfAfter = stack.metrics.report();
      return {
        calls,
        executions,
        functionLogBytes: logged.bytes,
        functionLogLines: logged.lines,
        emfLogBytes: emfAfter.bytes - emfBefore.bytes,
        emfLogLines: emfAfter.lines - emfBefore.lines,
        timings: timings.splice(0),
      };
    };

    for (const size of sizes) {
      for (let r = 0; r < repeats; r++) {
        const bodies = Array.from({ length: size }, (_, i) => {
          sequence++;
          return makeRequest(sequence, { requestId: `req-cost-${regionCount}-${String(sequence).padStart(6, '0')}-${i}` });
        });
        const outcome = await round(bodies);
        const execution = outcome.executions[0];
        if (outcome.executions.length !== 1 || !execution || execution.status !== 'SUCCEEDED') {
          discarded++;
          continue;
        }
        sent.push(...bodies);
        const rendered = renderLogs(execution, definition);
        logsData.push(...rendered.data);
        logsNoData.push(...rendered.noData);
        const lambda: Round['lambda'] = {};
        for (const fn of FUNCTIONS) {
          const mine = outcome.timings.filter((t) => t.name === fn);
          lambda[fn] = { invocations: mine.length, ms: mine.reduce((s, t) => s + t.ms, 0) };
        }
        rounds.push({
          messages: size,
          executionMs: (execution.stopDate as Date).getTime() - execution.startDate.getTime(),
          lambda,
          calls: outcome.calls,
          logs: rendered.bytes,
          functionLogBytes: outcome.functionLogBytes,
          functionLogLines: outcome.functionLogLines,
          emfLogBytes: outcome.emfLogBytes,
          emfLogLines: outcome.emfLogLines,
          memory: memoryInputs(execution, definitionBytes),
        });
      }
      progress(`  ${regionCount} region(s), ${size} message(s) per execution: ${repeats} round(s)`);
    }
    if (!full) return { rounds, discarded, logsData, logsNoData, functionLines: capture.lines.splice(0) };

    // ---- sizes of what is stored and sent ----
    const dispatched = await itemSizes(d.endpoints.dynamodb, stack.resources.tableName);
    const regionalBytes = await regionalMessageBytes(stack);
    const bodyBytes = sent.reduce((s, b) => s + Buffer.byteLength(JSON.stringify(b)), 0) / Math.max(1, sent.length);

    // ---- incidents, for what the ERROR level logs: duplicates, then a region refusing every send ----
    const incidents: Incident[] = [];
    const incident = async (what: string, bodies: ReadonlyArray<Record<string, unknown>>) => {
      const outcome = await round(bodies);
      const rendered = outcome.executions.map((e) => renderLogs(e, definition).bytes);
      incidents.push({ what, executions: outcome.executions.length, messages: bodies.length, logs: meanLogBytes(rendered), calls: outcome.calls });
    };
    await incident('5 duplicates (request_ids already dispatched) in one batch', sent.slice(0, 5));
    const refusing = faults.sqs[DEFAULT_REGIONS[1]?.region ?? 'us-west-2'];
    // A 4xx answer to every send there: known not delivered (aws/send-batch.ts), so the branch is retried
    // and then fails over. (A 500 or a reset could mean "maybe sent": released for a retry instead.)
    const rule = refusing?.rules.add({ mode: 'error', actions: ['SendMessageBatch'], error: 'throttle' });
    const fresh = Array.from({ length: 6 }, (_, i) => makeRequest(i, { requestId: `req-cost-incident-${i}` }));
    await incident(`a region (${DEFAULT_REGIONS[1]?.region}) throttling every send: retried, then its share failed over (6 messages)`, fresh);
    if (rule) refusing?.rules.remove(rule);
    progress(`  incidents: ${incidents.map((i) => i.what).join('; ')}`);

    // ---- workers: the fence's writes and the queue calls per message ----
    await stack.stopConsumers();
    await sleep(50);
    const totalInRegions = sent.length + fresh.length;
    const fenceClient = new DynamoDBClient({ region: HOME_REGION, endpoint: faults.dynamodb.endpoint, credentials: LOCAL_CREDENTIALS, maxAttempts: 2 });
    const before = proxyCounts(faults);
    let copiesReceived = 0;
    const workers = d.regions.map((region) => {
      const client = sqsAt(region.region, faults.sqs[region.region]?.endpoint as string);
      const w = startWorkers({
        region: region.region,
        client,
        queueUrl: region.queueUrl,
        workers: 1,
        secondsPerRequest: 0,
        waitTimeSeconds: 1,
        fence: { tableName: stack.resources.tableName, client: fenceClient },
        // A receive that returned a message (the others are this emulation's idle 1 s polls).
        onEvent: (event) => {
          if (event.kind === 'received') copiesReceived++;
        },
      });
      return { w, client };
    });
    // Until every message is handled, or nothing more has been for 3 s (a message the incidents left
    // unconfirmed may be in no queue at all).
    const done = () => workers.reduce((s, { w }) => s + w.processed() + w.dropped(), 0);
    let last = -1;
    let since = Date.now();
    while (done() < totalInRegions && Date.now() - since < 3000) {
      if (done() !== last) [last, since] = [done(), Date.now()];
      await sleep(20);
    }
    for (const { w, client } of workers) {
      await w.stop();
      client.destroy();
    }
    fenceClient.destroy();
    const workerCalls = delta(proxyCounts(faults), before);
    const handled = done();
    const perMessage = Object.fromEntries(
      Object.entries({ ...workerCalls, 'worker.copiesReceived': copiesReceived }).map(([k, v]) => [k, v / Math.max(1, handled)]),
    );
    const completed = await itemSizes(d.endpoints.dynamodb, stack.resources.tableName);
    progress(`  workers: ${handled} messages accepted and completed through the fence`);
    return {
      rounds,
      discarded,
      logsData,
      logsNoData,
      functionLines: capture.lines.splice(0),
      workers: { messages: handled, perMessage },
      items: { dispatched, completed },
      payload: { bodyBytes, regionalMessageBytes: regionalBytes },
      incidents,
    };
  } finally {
    capture.stop();
    producer.destroy();
    await stack.stop();
  }
}

function cellsOf(regions: number, rounds: readonly Round[]): MeasuredCell[] {
  const bySize = new Map<number, Round[]>();
  for (const r of rounds) bySize.set(r.messages, [...(bySize.get(r.messages) ?? []), r]);
  return [...bySize.entries()]
    .sort(([a], [b]) => a - b)
    .map(([messages, rows]) => {
      const lambda: Record<string, { invocations: number; ms: number }> = {};
      for (const fn of FUNCTIONS) {
        lambda[fn] = {
          invocations: rows.reduce((s, r) => s + (r.lambda[fn]?.invocations ?? 0), 0) / rows.length,
          // The median: a round that a busy machine slowed down does not move it.
          ms: median(rows.map((r) => r.lambda[fn]?.ms ?? 0)),
        };
      }
      return {
        regions,
        messages,
        samples: rows.length,
        executionMs: rows.map((r) => Math.round(r.executionMs * 10) / 10),
        lambda,
        calls: meanOf(rows, (r) => r.calls),
        logs: meanLogBytes(rows.map((r) => r.logs)),
        functionLogBytes: meanOf(rows, (r) => r.functionLogBytes),
        functionLogLines: meanOf(rows, (r) => r.functionLogLines),
        emfLogBytes: rows.reduce((s, r) => s + r.emfLogBytes, 0) / rows.length,
        emfLogLines: rows.reduce((s, r) => s + r.emfLogLines, 0) / rows.length,
        memory: {
          definitionBytes: rows[0]?.memory.definitionBytes ?? 0,
          maxPayloadBytes: Math.max(...rows.map((r) => r.memory.maxPayloadBytes)),
          mapParallelSteps: Math.max(...rows.map((r) => r.memory.mapParallelSteps)),
        },
      };
    });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

const ratio = (lines: readonly string[]) => {
  const raw = Buffer.from(lines.join('\n'));
  return raw.length ? gzipSync(raw, { level: 6 }).length / raw.length : 1;
};

export async function measure(options: MeasureOptions = {}): Promise<MeasuredFigures> {
  const root = options.root ?? process.cwd();
  const sizes = options.sizes ?? [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const deployedRegions = DEFAULT_REGIONS.length;
  const regionCounts = options.regionCounts ?? [1, 2, 3, 4, 5];
  const repeats = options.repeats ?? 3;
  const progress = options.progress ?? (() => undefined);
  const loadBefore = loadavg()[0] ?? 0;
  const cells: MeasuredCell[] = [];
  let main: StackRun | undefined;
  let discarded = 0;
  const allData: string[] = [];
  const allNoData: string[] = [];
  const functionLines: string[] = [];
  for (const regions of [...new Set([deployedRegions, ...regionCounts])]) {
    const full = regions === deployedRegions;
    const run = await runStack(regions, sizes, full ? Math.max(repeats, 3) : repeats, full, progress);
    if (full) main = run;
    discarded += run.discarded;
    cells.push(...cellsOf(regions, run.rounds));
    allData.push(...run.logsData.map((r) => JSON.stringify(r)));
    allNoData.push(...run.logsNoData.map((r) => JSON.stringify(r)));
    functionLines.push(...run.functionLines);
  }
  if (!main?.workers || !main.items || !main.payload || !main.incidents) throw new Error('the deployed region count was not measured');
  const git = gitFacts(root);
  return {
    schema: MEASURED_SCHEMA,
    measuredAt: new Date().toISOString(),
    command: 'npm run cost -- --measure',
    machine: {
      cores: cpus().length,
      cpu: cpus()[0]?.model ?? 'unknown',
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      loadAverage: [Math.round(loadBefore * 100) / 100, Math.round((loadavg()[0] ?? 0) * 100) / 100],
    },
    code: { ...git, fingerprint: codeFingerprint(root) },
    setup: {
      stage: STAGE,
      sizes,
      regionCounts: [...new Set([deployedRegions, ...regionCounts])].sort((a, b) => a - b),
      repeats,
      functionLogLevel: FUNCTION_SETTINGS.LOG_LEVEL,
      // The local stack runs with lanes by default, as deployed.
      lanes: true,
      requests: 'tools/ops/requests.ts makeRequest (the seed message format), one SendMessageBatch per execution',
      notes: [
        'tools/local/stack.ts with faults: true; calls counted per API action by the fault proxies; CACHE_TTL 0 so every snapshot reads',
        'one event source poller; each round sends N messages and waits until the event source has resolved them',
        "the functions' EMF lines counted from the stack's metrics sink (emfLogBytes, emfLogLines per execution); the function logs' compression is their log lines'",
        'durations are this machine against local emulators: the model adds AWS network latency to them (tools/bench/cost/model.ts)',
      ],
    },
    cells: cells.sort((a, b) => a.regions - b.regions || a.messages - b.messages),
    compression: { executionLogData: ratio(allData), executionLogNoData: ratio(allNoData), functionLogs: ratio(functionLines) },
    workers: main.workers,
    items: main.items,
    payload: main.payload,
    incidents: main.incidents,
    discardedRounds: discarded,
  };
}
