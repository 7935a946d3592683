/**
 * `npm run bench:scale`: scale on paper. From the deployment's settings (stacks/settings.ts,
 * core/topology.ts, workflows/dispatch.ts), per-execution figures measured on the local stack (flags;
 * tools/bench/cost/measured.json when it exists) and AWS's documented quotas (tools/bench/scale/quotas.ts), computes
 * which quota or limit caps one deployment first and at how many requests per second, with default
 * quotas and with raised ones. The model is tools/bench/scale/model.ts; the reasoning is docs/scale.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_REGIONS, MAX_RECEIVE_COUNT } from '../../../core/topology.js';
import { INTAKE_SUBSCRIPTION } from '../../../stacks/settings.js';
import { dispatchDefinition } from '../../../workflows/dispatch.js';
import {
  bindingOrder,
  bindsFirst,
  duplicatesPerSecondOfOneKey,
  lambdaPerBatch,
  limitRates,
  logBytesPerSecond,
  rampMinutes,
  timing,
  writesPerMessage,
  type DeploymentSettings,
  type LimitRate,
  type MeasuredFigures,
  type ModelInput,
  type QuotaValues,
} from './model.js';
import { DEFAULT_QUOTAS, LIMITS, limitInfo, RAISED_QUOTAS } from './quotas.js';
import { table } from '../stats.js';

const MEASURED_PATH = new URL('../cost/measured.json', import.meta.url);

/**
 * Defaults measured on the local stack when tools/bench/cost/measured.json is absent:
 * - execution: 50 ms mean for a 10-message batch over 3 regions, `npm run bench:throughput` on a quiet
 *   machine (load average 1.3; docs/benchmarks.md, throughput);
 * - writes: the workflow's claim and mark per message (workflows/dispatch.ts), the fence's acceptance and
 *   completion (worker/fence.ts);
 * - log: 40-65 KB of execution log per message at level ALL with execution data (issue 9's measurement).
 */
const MEASURED_DEFAULTS: MeasuredFigures = {
  localExecutionMs: 50,
  workflowWritesPerMessage: 2,
  workerWritesPerMessage: 2,
  logBytesPerMessage: 52_000,
};

interface Options {
  executionMs?: number;
  serviceCallMs: number;
  invokeMs: number;
  crossRegionMs: number;
  startMs: number;
  batchFill?: number;
  logBytes?: number;
  writes?: number;
  quota: Array<[keyof QuotaValues, number]>;
  raised: Array<[keyof QuotaValues, number]>;
  json?: boolean;
}

/**
 * The Map states' MaxConcurrency in the deployed definition (the smallest, if they differ): Claim's and
 * Commit's. A Map without a limit (0: the Forward Map over region groups, every group at once) adds no
 * DynamoDB round and is left out.
 */
function mapConcurrency(): number {
  const definition = dispatchDefinition({
    regions: DEFAULT_REGIONS.map((r) => r.region),
    functions: { snapshot: 'arn:snapshot', select: 'arn:select', forward: 'arn:forward' },
    tableName: 'table',
    deadLetterQueueUrl: 'dlq',
  });
  const found: number[] = [];
  const walk = (value: unknown) => {
    if (!value || typeof value !== 'object') return;
    const state = value as { Type?: unknown; MaxConcurrency?: unknown };
    if (state.Type === 'Map' && typeof state.MaxConcurrency === 'number' && state.MaxConcurrency > 0) found.push(state.MaxConcurrency);
    for (const child of Object.values(value)) walk(child);
  };
  walk(definition);
  return found.length ? Math.min(...found) : 1;
}

/** tools/bench/cost/measured.json (written by the cost bench), read defensively: any field missing keeps the default. */
function measuredFromFile(batchSize: number, regions: number): { figures: Partial<MeasuredFigures>; from: string } | undefined {
  if (!existsSync(MEASURED_PATH)) return undefined;
  try {
    const json = JSON.parse(readFileSync(MEASURED_PATH, 'utf8')) as {
      measuredAt?: string;
      cells?: Array<{
        regions?: number;
        messages?: number;
        executionMs?: number[];
        calls?: Record<string, number>;
        logs?: { allData?: { ingestedBytes?: number } };
      }>;
      workers?: { perMessage?: Record<string, number> };
    };
    const cell = json.cells?.find((c) => c.regions === regions && c.messages === batchSize);
    if (!cell) return undefined;
    const figures: { -readonly [K in keyof MeasuredFigures]?: MeasuredFigures[K] } = {};
    if (cell.executionMs?.length) figures.localExecutionMs = cell.executionMs.reduce((a, b) => a + b, 0) / cell.executionMs.length;
    if (cell.calls) {
      const writes = Object.entries(cell.calls)
        .filter(([k]) => /^dynamodb\.(PutItem|UpdateItem|DeleteItem)$/.test(k))
        .reduce((a, [, v]) => a + v, 0);
      if (writes > 0) figures.workflowWritesPerMessage = writes / batchSize;
    }
    // The workers' fence writes as the cost bench counted them (accept and complete per message).
    const workerWrites = Object.entries(json.workers?.perMessage ?? {})
      .filter(([k]) => /^dynamodb\.(PutItem|UpdateItem|DeleteItem)$/.test(k))
      .reduce((a, [, v]) => a + v, 0);
    if (workerWrites > 0) figures.workerWritesPerMessage = workerWrites;
    const logBytes = cell.logs?.allData?.ingestedBytes;
    if (typeof logBytes === 'number' && logBytes > 0) figures.logBytesPerMessage = logBytes / batchSize;
    return { figures, from: `tools/bench/cost/measured.json (${json.measuredAt ?? 'undated'})` };
  } catch {
    return undefined;
  }
}

const number = (flag: string, min = 0) => (value: string) => {
  const v = Number(value);
  if (value.trim() === '' || !Number.isFinite(v) || v < min) throw new InvalidArgumentError(`${flag} must be a number >= ${min}, got "${value}".`);
  return v;
};

const QUOTA_KEYS = Object.keys(DEFAULT_QUOTAS) as Array<keyof QuotaValues>;
const quotaPair = (flag: string) => (value: string, previous: Array<[keyof QuotaValues, number]> = []) => {
  const [key, raw] = value.split('=');
  const v = Number(raw);
  if (!key || !QUOTA_KEYS.includes(key as keyof QuotaValues) || raw === undefined || !Number.isFinite(v) || v <= 0) {
    throw new InvalidArgumentError(`${flag} takes name=value with a positive value; names: ${QUOTA_KEYS.join(', ')}; got "${value}".`);
  }
  return [...previous, [key as keyof QuotaValues, v] as [keyof QuotaValues, number]];
};

const fmt = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'no cap');
const rateText = (r: LimitRate) =>
  r.kind === 'none' ? 'no cap' : r.kind === 'per-key' ? `${fmt(r.requestsPerSecond)} dup/s` : `${fmt(r.requestsPerSecond)}${r.kind === 'transient' ? ' (until scaled)' : ''}`;

function model(options: Options) {
  const settings: DeploymentSettings = {
    batchSize: INTAKE_SUBSCRIPTION.batchSize,
    batchingWindowSeconds: INTAKE_SUBSCRIPTION.maximumBatchingWindowInSeconds,
    esmMaximumConcurrency: INTAKE_SUBSCRIPTION.maximumConcurrency,
    regions: DEFAULT_REGIONS.length,
    mapConcurrency: mapConcurrency(),
  };
  const file = measuredFromFile(settings.batchSize, settings.regions);
  const measured: MeasuredFigures = {
    ...MEASURED_DEFAULTS,
    ...file?.figures,
    ...(options.executionMs === undefined ? {} : { localExecutionMs: options.executionMs }),
    ...(options.logBytes === undefined ? {} : { logBytesPerMessage: options.logBytes }),
    ...(options.writes === undefined ? {} : { workflowWritesPerMessage: options.writes }),
  };
  const input: ModelInput = {
    settings,
    measured,
    latency: { serviceCallMs: options.serviceCallMs, invokeMs: options.invokeMs, crossRegionSendMs: options.crossRegionMs, startSyncMs: options.startMs },
    batchFill: Math.min(settings.batchSize, options.batchFill ?? settings.batchSize),
  };
  const defaults: QuotaValues = { ...DEFAULT_QUOTAS, esmMaximumConcurrency: settings.esmMaximumConcurrency, ...Object.fromEntries(options.quota) };
  const raised: QuotaValues = { ...RAISED_QUOTAS, ...Object.fromEntries(options.raised) };
  const atDefault = limitRates(input, defaults);
  const atRaised = limitRates(input, raised);
  return {
    settings,
    measured,
    measuredFrom: file?.from ?? 'defaults in tools/bench/scale/main.ts (docs/benchmarks.md, issue 9)',
    input,
    timing: timing(input),
    quotas: { default: defaults, raised },
    limits: atDefault.map((d, i) => ({ ...limitInfo(d.id), default: d, raised: atRaised[i] as LimitRate })),
    bindsFirst: { default: bindsFirst(atDefault), raised: bindsFirst(atRaised) },
    order: { default: bindingOrder(atDefault).map((r) => r.id), raised: bindingOrder(atRaised).map((r) => r.id) },
  };
}

/** The text `npm run bench:scale` prints for one model (without its final newline). */
function render(m: ReturnType<typeof model>): string {
  const out: string[] = [];
  const { settings: s, measured, timing: t, input } = m;
  const l = input.latency;
  out.push('scale of one deployment, on paper (tools/bench/scale/model.ts; every quota and its source: docs/scale.md)');
  out.push(
    `settings: event source batch ${s.batchSize}, window ${s.batchingWindowSeconds} s, maximum concurrency ${s.esmMaximumConcurrency} ` +
      `(stacks/settings.ts); ${s.regions} regions (core/topology.ts); Map concurrency ${s.mapConcurrency} (workflows/dispatch.ts); ` +
      `batches of ${input.batchFill} at saturation`,
  );
  out.push(`measured (${m.measuredFrom}):`);
  out.push(
    `  execution ${fixedMs(measured.localExecutionMs)} on the local stack; ${writesPerMessage(measured)} DynamoDB writes per message ` +
      `(${measured.workflowWritesPerMessage} by the workflow, ${measured.workerWritesPerMessage} by the worker's fence); ` +
      `${fmt(measured.logBytesPerMessage)} bytes of execution log per message`,
  );
  out.push(
    `per batch on AWS: execution ${fixedMs(t.executionMs)} = ${fixedMs(measured.localExecutionMs)} local + ${fixedMs(t.criticalPathMs)} of round trips ` +
      `(${2 * t.mapRounds} DynamoDB x ${l.serviceCallMs} ms, 3 Lambda invokes x ${l.invokeMs} ms, 1 cross-region send ${l.crossRegionSendMs} ms: assumed, flags); ` +
      `intake ${fixedMs(t.intakeMs)} (+${l.startSyncMs} ms StartSyncExecution); ${lambdaPerBatch(s)} Lambda executions at once per batch`,
  );
  out.push('');
  out.push(
    table([
      ['limit', 'default', 'requests/s', 'raised', 'requests/s', 'raised how'],
      ...m.limits.map((row) => [
        row.short,
        row.default.kind === 'none' ? '-' : fmt(row.default.value),
        rateText(row.default),
        row.raised.kind === 'none' ? '-' : fmt(row.raised.value),
        rateText(row.raised),
        row.raisedNote,
      ]),
    ]),
  );
  out.push('');
  for (const scenario of ['default', 'raised'] as const) {
    const first = m.bindsFirst[scenario];
    const order = m.order[scenario].map((id) => {
      const row = m.limits.find((r) => r.id === id);
      return `${limitInfo(id).short} ${fmt(row?.[scenario].requestsPerSecond ?? Number.NaN)}`;
    });
    out.push(
      `binds first, ${scenario === 'default' ? 'default quotas' : 'raised quotas'}: ${limitInfo(first.id).name} at ${fmt(first.requestsPerSecond)} requests/s ` +
        `(${first.formula})`,
    );
    out.push(`  then: ${order.slice(1).join('; ')}`);
  }
  const esmDefault = Math.min(m.quotas.default.esmMaximumConcurrency, m.quotas.default.esmMaxBatches) * input.batchFill;
  const esmRaised = Math.min(m.quotas.raised.esmMaximumConcurrency, m.quotas.raised.esmMaxBatches) * input.batchFill;
  const tableRate = m.limits.find((r) => r.id === 'dynamoTable')?.raised.requestsPerSecond ?? Number.NaN;
  out.push(
    `sensitivity: the ESM allows ${fmt(esmDefault)} / intake seconds as deployed (${[0.25, 0.5, 1].map((d) => `${fmt(esmDefault / d)}/s at ${d} s`).join(', ')}); ` +
      `raised to ${fmt(esmRaised / input.batchFill)} batches it binds before the table's ${fmt(tableRate)}/s once an intake lasts over ${(esmRaised / tableRate).toFixed(2)} s`,
  );
  const firstDefault = m.bindsFirst.default.requestsPerSecond;
  const firstRaised = m.bindsFirst.raised.requestsPerSecond;
  out.push('');
  out.push(
    `execution log at those rates: ${fmt(logBytesPerSecond(measured, firstDefault) / 1e6)} MB/s (${fmt((logBytesPerSecond(measured, firstDefault) * 86400) / 1e12)} TB/day) and ` +
      `${fmt(logBytesPerSecond(measured, firstRaised) / 1e6)} MB/s: not a cap, a bill (docs/scale.md)`,
  );
  out.push(
    `a duplicate storm on one request_id: ${fmt(duplicatesPerSecondOfOneKey(m.quotas.default))} duplicates/s before its partition throttles ` +
      `(a throttled claim is retried twice by the workflow, then its message comes back from the master queue, and after ${MAX_RECEIVE_COUNT} receives goes to the master DLQ: not lost)`,
  );
  out.push(
    `ramp: the event source mapping adds up to 300 concurrent batches a minute: ${fmt(rampMinutes(5, Math.min(m.quotas.raised.esmMaximumConcurrency, m.quotas.raised.esmMaxBatches), 300))} ` +
      `minutes from 5 to ${fmt(Math.min(m.quotas.raised.esmMaximumConcurrency, m.quotas.raised.esmMaxBatches))}`,
  );
  return out.join('\n');
}

const fixedMs = (ms: number) => `${Math.round(ms)} ms`;

/** The command line of `npm run bench:scale`; `output` takes what it prints. */
function program(output: (text: string) => void): Command {
  return new Command('bench:scale')
    .description('which AWS quota caps one deployment first, and at how many requests/s (default and raised quotas)')
    .option('--execution-ms <ms>', 'local execution duration of a full batch (default: measured)', number('--execution-ms'))
    .option('--service-call-ms <ms>', 'AWS: one DynamoDB round trip from Step Functions (assumed)', number('--service-call-ms'), 10)
    .option('--invoke-ms <ms>', 'AWS: Step Functions invoking a warm Lambda function, overhead (assumed)', number('--invoke-ms'), 25)
    .option('--cross-region-ms <ms>', 'AWS: SendMessageBatch from us-east-1 to another region (assumed)', number('--cross-region-ms'), 70)
    .option('--start-ms <ms>', 'AWS: StartSyncExecution overhead seen by the intake (assumed)', number('--start-ms'), 30)
    .option('--batch-fill <n>', 'messages per batch at saturation (default: the batch size)', number('--batch-fill', 1))
    .option('--writes <n>', 'DynamoDB writes per message by the workflow (default: measured)', number('--writes'))
    .option('--log-bytes <n>', 'execution log bytes per message (default: measured)', number('--log-bytes'))
    .option('--quota <name=value>', `override a default quota (repeatable): ${QUOTA_KEYS.join(', ')}`, quotaPair('--quota'), [])
    .option('--raised <name=value>', 'override a raised quota (repeatable)', quotaPair('--raised'), [])
    .option('--json', 'print the results as JSON')
    .action((options: Options) => {
      const result = model(options);
      if (options.json) output(JSON.stringify({ ...result, sources: LIMITS }, (_k, v: unknown) => (v === Number.POSITIVE_INFINITY ? null : v), 2));
      else output(render(result));
    });
}

/**
 * What `npm run bench:scale -- <args>` prints (without its final newline): the docs block of docs/scale.md
 * (tools/bench/scale/docs-block.ts) quotes it. Throws on arguments the command would reject.
 */
export function benchScaleOutput(args: readonly string[] = []): string {
  let text: string | undefined;
  program((t) => (text = t))
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined })
    .parse([...args], { from: 'user' });
  if (text === undefined) throw new Error(`npm run bench:scale -- ${args.join(' ')} printed no figures`);
  return text;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) program((text) => console.log(text)).parse();
