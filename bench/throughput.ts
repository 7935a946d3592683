/**
 * `npm run bench:throughput`: the whole local stack end to end (local/stack.ts), with no workers so the
 * regional queues only fill. Sends --count requests to the master queue with SendMessageBatch, waits
 * until the event source has resolved them all, then reports throughput, executions, batch sizes,
 * memory, and whether every request landed exactly once in the regional queues. See docs/benchmarks.md.
 */
import { cpus, loadavg } from 'node:os';
import { GetQueueAttributesCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { Command } from 'commander';
import { makeRequest } from '../cli/requests.js';
import { executionInputSchema } from '../core/placement.js';
import { HOME_REGION } from '../core/topology.js';
import { localDefinition } from '../local/dispatch.js';
import { sqsAt } from '../local/resources.js';
import { startLocalStack, type LocalStack } from '../local/stack.js';
import { secondsAtLeast, wholeNumber } from './args.js';
import { drainByRequestId, mib, sampleMemory, type MemoryPeak } from './probe.js';
import { fixed, summarize, type Summary } from './stats.js';

interface Options {
  count: number;
  pollers: number;
  timeout: number;
  json?: boolean;
}

interface Report {
  readonly count: number;
  readonly pollers: number;
  readonly stackStartMs: number;
  readonly sendMs: number;
  /** From the first send to the last message resolved by the event source. */
  readonly endToEndMs: number;
  readonly messagesPerSecond: number;
  readonly timedOut: boolean;
  readonly eventSource: { batches: number; received: number; succeeded: number; failed: number; batchSize: Summary };
  readonly executions: {
    count: number;
    byStatus: Record<string, number>;
    durationMs: Summary;
    messagesPerExecution: Summary;
    /** Mean milliseconds per execution in each top-level state, in definition order. */
    stateMeanMs: Record<string, number>;
  };
  readonly memory: MemoryPeak & { rssBeforeStackBytes: number; rssStackUpBytes: number };
  /** This process's CPU time from the first send to the last resolution, and its share of one core. */
  readonly cpu: { userMs: number; systemMs: number; coreShare: number };
  readonly regions: Record<string, number>;
  readonly exactlyOnce: { ok: boolean; missing: number; duplicated: number; unexpected: number };
  readonly deadLetters: { dispatch: number; master: number };
  /** The machine: other processes compete for the same cores, so figures move with the load. */
  readonly machine: { cores: number; loadAverageBefore: number; loadAverageAfter: number };
}

const SEND_CONCURRENCY = 4;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function sendAll(client: SQSClient, queueUrl: string, ids: readonly string[]): Promise<void> {
  const chunks: string[][] = [];
  for (let i = 0; i < ids.length; i += 10) chunks.push(ids.slice(i, i + 10));
  let next = 0;
  const lane = async () => {
    for (let chunk = chunks[next++]; chunk; chunk = chunks[next++]) {
      const entries = chunk.map((id, j) => ({ Id: String(j), MessageBody: JSON.stringify(makeRequest(j, { requestId: id })) }));
      const result = await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
      if (result.Failed?.length) throw new Error(`master queue refused ${result.Failed.length} entries: ${result.Failed[0]?.Message ?? ''}`);
    }
  };
  await Promise.all(Array.from({ length: SEND_CONCURRENCY }, lane));
}

async function depth(client: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes: a = {} } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
}

function executionFigures(stack: LocalStack): Report['executions'] {
  const executions = stack.stepFunctions.executions();
  const byStatus: Record<string, number> = {};
  for (const e of executions) byStatus[e.status] = (byStatus[e.status] ?? 0) + 1;
  const durations = executions.filter((e) => e.stopDate).map((e) => (e.stopDate as Date).getTime() - e.startDate.getTime());
  const sizes = executions.map((e) => executionInputSchema.safeParse(e.input)).flatMap((p) => (p.success ? [p.data.messages.length] : []));
  // Top-level states only: entered/exited events outside any Map iteration or Parallel branch.
  const topLevel = Object.keys(localDefinition(stack.resources).States);
  const totals: Record<string, number> = Object.fromEntries(topLevel.map((name) => [name, 0]));
  for (const e of executions) {
    const entered = new Map<string, number>();
    for (const event of e.events) {
      if (!('state' in event) || event.index !== undefined || !topLevel.includes(event.state.name)) continue;
      if (event.type === 'StateEntered') entered.set(event.state.name, event.timestamp);
      else if (event.type === 'StateExited' || event.type === 'StateFailed') {
        const start = entered.get(event.state.name);
        if (start !== undefined) totals[event.state.name] = (totals[event.state.name] ?? 0) + event.timestamp - start;
      }
    }
  }
  const stateMeanMs = Object.fromEntries(Object.entries(totals).map(([name, ms]) => [name, executions.length ? ms / executions.length : 0]));
  return { count: executions.length, byStatus, durationMs: summarize(durations), messagesPerExecution: summarize(sizes), stateMeanMs };
}

async function landed(stack: LocalStack, ids: readonly string[]): Promise<Pick<Report, 'regions' | 'exactlyOnce' | 'deadLetters'>> {
  const d = stack.description;
  const counts = new Map<string, number>();
  const regions: Record<string, number> = {};
  for (const region of d.regions) {
    const client = sqsAt(region.region, d.endpoints.sqs[region.region] as string);
    try {
      regions[region.region] = await drainByRequestId(client, region.queueUrl, counts);
    } finally {
      client.destroy();
    }
  }
  const expected = new Set(ids);
  const missing = ids.filter((id) => !counts.has(id)).length;
  const duplicated = [...counts.entries()].filter(([id, n]) => expected.has(id) && n > 1).length;
  const unexpected = [...counts.keys()].filter((id) => !expected.has(id)).length;
  const home = sqsAt(HOME_REGION, d.endpoints.sqs[HOME_REGION] as string);
  try {
    const deadLetters = { dispatch: await depth(home, d.dispatchDeadLetterQueueUrl), master: await depth(home, d.masterDeadLetterQueueUrl) };
    return { regions, exactlyOnce: { ok: missing + duplicated + unexpected === 0, missing, duplicated, unexpected }, deadLetters };
  } finally {
    home.destroy();
  }
}

async function run(options: Options): Promise<Report> {
  const loadAverageBefore = loadavg()[0] ?? Number.NaN;
  const rssBeforeStackBytes = process.memoryUsage().rss;
  const memory = sampleMemory(100);
  const batchSizes: number[] = [];
  const began = performance.now();
  // Messages must not come back while their batch is still being dispatched: 30 s is far above an execution here.
  const stack = await startLocalStack({ pollers: options.pollers, masterVisibilitySeconds: 30, onBatch: (b) => void batchSizes.push(b.size) });
  const stackStartMs = performance.now() - began;
  const rssStackUpBytes = process.memoryUsage().rss;
  try {
    const d = stack.description;
    const runId = Date.now().toString(36);
    const ids = Array.from({ length: options.count }, (_, i) => `req-bench-${runId}-${String(i).padStart(6, '0')}`);
    const home = sqsAt(HOME_REGION, d.endpoints.sqs[HOME_REGION] as string);
    const sendStart = performance.now();
    const cpuStart = process.cpuUsage();
    try {
      await sendAll(home, d.masterQueueUrl, ids);
    } finally {
      home.destroy();
    }
    const sendMs = performance.now() - sendStart;
    const deadline = sendStart + options.timeout * 1000;
    while (stack.eventSource.stats().succeeded < options.count && performance.now() < deadline) await sleep(10);
    const endToEndMs = performance.now() - sendStart;
    const cpu = process.cpuUsage(cpuStart);
    const peak = memory.stop();
    const stats = stack.eventSource.stats();
    return {
      count: options.count,
      pollers: options.pollers,
      stackStartMs,
      sendMs,
      endToEndMs,
      messagesPerSecond: (Math.min(stats.succeeded, options.count) / endToEndMs) * 1000,
      timedOut: stats.succeeded < options.count,
      eventSource: { ...stats, batchSize: summarize(batchSizes) },
      executions: executionFigures(stack),
      memory: { ...peak, rssBeforeStackBytes, rssStackUpBytes },
      cpu: { userMs: cpu.user / 1000, systemMs: cpu.system / 1000, coreShare: (cpu.user + cpu.system) / 1000 / endToEndMs },
      ...(await landed(stack, ids)),
      machine: { cores: cpus().length, loadAverageBefore, loadAverageAfter: loadavg()[0] ?? Number.NaN },
    };
  } finally {
    memory.stop();
    await stack.stop();
  }
}

function print(r: Report, timeout: number): void {
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const b = r.eventSource.batchSize;
  const e = r.executions;
  console.log(
    `machine: ${r.machine.cores} cores, 1-minute load average ${fixed(r.machine.loadAverageBefore, 2)} before, ${fixed(r.machine.loadAverageAfter, 2)} after`,
  );
  console.log(`local stack up in ${r.stackStartMs.toFixed(0)} ms (${Object.keys(r.regions).length} regions, ${r.pollers} pollers, no workers)`);
  console.log(`sent ${r.count} messages with SendMessageBatch (${Math.ceil(r.count / 10)} calls, ${SEND_CONCURRENCY} at a time) in ${s(r.sendMs)}`);
  console.log(
    r.timedOut
      ? `TIMED OUT after ${timeout} s: ${r.eventSource.succeeded} of ${r.count} resolved`
      : `resolved ${r.count} in ${s(r.endToEndMs)} from the first send: ${r.messagesPerSecond.toFixed(0)} messages/s end to end`,
  );
  console.log(
    `event source: ${r.eventSource.batches} batches, size mean ${fixed(b.mean)} (min ${b.min}, p50 ${b.p50}, max ${b.max}); ` +
      `received ${r.eventSource.received}, succeeded ${r.eventSource.succeeded}, failed ${r.eventSource.failed}`,
  );
  console.log(
    `executions: ${e.count} (${Object.entries(e.byStatus).map(([k, n]) => `${k} ${n}`).join(', ')}), messages each mean ${fixed(e.messagesPerExecution.mean)}; ` +
      `duration mean ${fixed(e.durationMs.mean, 0)} ms, p50 ${fixed(e.durationMs.p50, 0)} ms, p95 ${fixed(e.durationMs.p95, 0)} ms, max ${fixed(e.durationMs.max, 0)} ms`,
  );
  if (e.count < r.eventSource.batches) console.log(`  (the local endpoint keeps only the newest executions: ${e.count} of at least ${r.eventSource.batches} are counted)`);
  console.log(`  mean time per state: ${Object.entries(e.stateMeanMs).filter(([, ms]) => ms > 0).map(([name, ms]) => `${name} ${ms.toFixed(0)} ms`).join(', ')}`);
  console.log(`cpu: ${s(r.cpu.userMs)} user + ${s(r.cpu.systemMs)} system = ${(r.cpu.coreShare * 100).toFixed(0)}% of one core over the run`);
  console.log(
    `memory: RSS ${mib(r.memory.rssBeforeStackBytes)} before the stack, ${mib(r.memory.rssStackUpBytes)} with it up, peak ${mib(r.memory.rssBytes)}; ` +
      `peak heap used ${mib(r.memory.heapUsedBytes)} (${r.memory.samples} samples, every 100 ms on the same event loop)`,
  );
  const total = Object.values(r.regions).reduce((a, n) => a + n, 0);
  console.log(`regional queues: ${Object.entries(r.regions).map(([region, n]) => `${region} ${n}`).join(', ')} = ${total}`);
  const x = r.exactlyOnce;
  const verdict = x.ok ? 'yes' : r.timedOut ? 'not reached (timed out, messages were still on their way)' : 'NO';
  console.log(`exactly once: ${verdict} (missing ${x.missing}, duplicated ${x.duplicated}, unexpected ${x.unexpected}); DLQs: dispatch ${r.deadLetters.dispatch}, master ${r.deadLetters.master}`);
}

const program = new Command('bench:throughput')
  .description('drive the whole local stack end to end and measure it (no workers: regional queues only fill)')
  .option('--count <n>', 'requests to send', wholeNumber('--count', 1, 100_000), 1000)
  .option('--pollers <n>', 'event source pollers (concurrent intake invocations)', wholeNumber('--pollers', 1, 64), 2)
  .option('--timeout <s>', 'give up waiting after this many seconds', secondsAtLeast('--timeout', 1, 3600), 120)
  .option('--json', 'print the results as JSON')
  .action(async (options: Options) => {
    // Whatever happens (a stuck stop, say), the process ends.
    setTimeout(() => {
      console.error(`bench:throughput: still running ${options.timeout + 60} s after start; exiting`);
      process.exit(2);
    }, (options.timeout + 60) * 1000).unref();
    const report = await run(options);
    if (options.json) console.log(JSON.stringify(report, null, 2));
    else print(report, options.timeout);
    if (report.timedOut || !report.exactlyOnce.ok) process.exitCode = 1;
  });

await program.parseAsync();
