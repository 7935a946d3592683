/**
 * `npm run bench` (also `npm run bench:throughput`): the whole local stack end to end (tools/local/stack.ts),
 * with no workers so the regional queues only fill. Sends --count requests to the master queue with
 * SendMessageBatch (all at once, or --rate per second), waits until the event source has resolved them
 * all, then reports throughput, latency from the master queue to the regional queue, executions, batch
 * sizes, this project's own CPU per handler apart from the emulators' (CpuAttribution below), memory, and
 * whether every request landed exactly once in the regional queues. See docs/benchmarks.md.
 */
import { createHook, executionAsyncResource } from 'node:async_hooks';
import { cpus, loadavg } from 'node:os';
import { GetQueueAttributesCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { Command, InvalidArgumentError } from 'commander';
import { makeRequest } from '../ops/requests.js';
import { executionInputSchema } from '../../core/placement.js';
import { HOME_REGION } from '../../core/topology.js';
import { localDefinition, type HandlerWrapper, type LocalFunctionName } from '../local/dispatch.js';
import { sqsAt } from '../local/resources.js';
import { startLocalStack, type LocalStack } from '../local/stack.js';
import { secondsAtLeast, wholeNumber } from '../args.js';
import { drainByRequestId, mib, sampleMemory, type MemoryPeak } from './probe.js';
import { fixed, summarize, table, type Summary } from './stats.js';

interface Options {
  count: number;
  pollers: number;
  timeout: number;
  rate?: number;
  window: number;
  attribution: boolean;
  /** Synthetic CPU per call added inside a handler (µs), to check that the attribution sees a regression. */
  injectCpu: Partial<Record<LocalFunctionName, number>>;
  json?: boolean;
}

/** Main-thread CPU of one owner over the measured window. */
interface CpuOwner {
  readonly name: string;
  /** Invocations (handlers only). */
  readonly calls: number;
  readonly cpuMs: number;
  readonly msPerCall: number;
  readonly usPerMessage: number;
  /** Share of this thread's CPU over the window. */
  readonly share: number;
}

interface CpuReport {
  /** How the figures were attributed (printed with them). */
  readonly method: string;
  /** Wall time of all timed callbacks, and the factor that turns it into this thread's CPU. */
  readonly sliceWallMs: number;
  readonly scale: number;
  /** The project's handlers, in the order intake, snapshot, select, forward. */
  readonly handlers: readonly CpuOwner[];
  readonly projectTotal: { cpuMs: number; usPerMessage: number; share: number };
  /** Each local server's request handling (and what it starts), the bench's own sender, and the rest. */
  readonly emulators: readonly CpuOwner[];
  readonly mainThreadMs: number;
  /** process.cpuUsage() minus this thread: V8's GC and compiler threads, libuv's pool. */
  readonly otherThreadsMs: number;
}

interface Report {
  readonly count: number;
  readonly pollers: number;
  /** Messages per second offered (undefined: all at once, 4 SendMessageBatch calls at a time). */
  readonly rate: number | null;
  /** Synthetic CPU added per call, by handler (µs): {} in a plain run. */
  readonly injectedCpuMicros: Partial<Record<LocalFunctionName, number>>;
  readonly batchWindowSeconds: number;
  readonly stackStartMs: number;
  readonly sendMs: number;
  /** From the first send to the last message resolved by the event source. */
  readonly endToEndMs: number;
  readonly messagesPerSecond: number;
  readonly timedOut: boolean;
  /**
   * Per message: the regional copy's SentTimestamp minus the master message's SentTimestamp, both set by
   * the local SQS servers (this process's clock). Each request's first copy; ms.
   */
  readonly latencyMs: Summary & { readonly unmatched: number };
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
  /** Absent with --no-attribution. */
  readonly cpuByOwner: CpuReport | null;
  readonly regions: Record<string, number>;
  readonly exactlyOnce: { ok: boolean; missing: number; duplicated: number; unexpected: number };
  readonly deadLetters: { dispatch: number; master: number };
  /** The machine: other processes compete for the same cores, so figures move with the load. */
  readonly machine: { cores: number; loadAverageBefore: number; loadAverageAfter: number };
}

const SEND_CONCURRENCY = 4;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/*
 * CPU attribution. Every call shares one event loop with the emulators, and a handler's work is cut into
 * slices wherever it awaits, interleaved with other handlers' slices and the servers'. So:
 * - each handler call gets an owner; the synchronous part of the call runs as that owner;
 * - an async_hooks `init` hook gives every async resource (promise, timer, socket, HTTP parser) created
 *   while an owner runs that same owner, so every continuation of the call (after an await, a socket
 *   read of the SDK's response, its parsing) runs as the call's owner, whatever else ran in between;
 * - server-side sockets belong to the server they were accepted on (found from the listening port), so
 *   dynalite's, each fauxqs's and the Step Functions endpoint's (with the ASL engine it runs) work is
 *   measured too; callbacks nobody owns (the event source emulation, the bench's polling) are "other";
 * - `before`/`after` hooks time every callback with performance.now() and add it to its owner.
 * Why a wall clock: this kernel updates a thread's CPU clock only at scheduler ticks (4 ms steps here),
 * far coarser than a slice (tens of microseconds), and reading it costs ~2.5 us, performance.now() ~0.2 us.
 * Slices are pure JavaScript (no waiting inside one), so a slice's wall time is its CPU time plus any time
 * the OS took the core away (the machine is shared). The owners' times are then scaled by one factor,
 * this thread's CPU over the window / the slices' wall time, so that they add up to the thread's CPU:
 * exact if preemption strikes every owner alike, which is the assumption.
 * Limits: the hooks cost CPU themselves (charged to whoever runs, ~0.2 us per callback plus the hook
 * calls); a GC pause is charged to whoever was running; Node's own glue between callbacks (outside any
 * slice) is spread over all owners by the scaling; work a call left behind (a pooled socket it opened,
 * a timer it set) stays its owner's until a new owner takes the socket over (the HTTP agent re-inits a
 * reused socket); CPU of other threads (GC helpers, libuv) is reported apart, unattributed.
 */
interface Frame {
  readonly name: string;
  calls: number;
  /** Wall time of this owner's slices (microseconds). */
  micros: number;
}

/** Where a resource's owner is kept: a property on the resource itself (a WeakMap of every promise costs more in GC). */
const OWNER = Symbol('bench cpu owner');
type Owned = { [OWNER]?: Frame | null };
const OTHER = 'other';

class CpuAttribution {
  private readonly frames = new Map<string, Frame>();
  private readonly ports = new Map<number, Frame>();
  private readonly other: Frame = this.frame(OTHER);
  private readonly stack: Array<Frame | undefined> = [];
  /** Who runs now; undefined between callbacks (Node's glue, or the loop waiting). */
  private current: Frame | undefined;
  private sliceStart = 0;
  private readonly hook = createHook({
    init: (_id, _type, _trigger, resource: object) => {
      // What "other" creates stays unowned, so that a server's socket can still be told by its port.
      if (this.current && this.current !== this.other) (resource as Owned)[OWNER] = this.current;
    },
    before: () => {
      this.stack.push(this.current);
      this.switchTo(this.ownerOf(executionAsyncResource()) ?? this.other);
    },
    after: () => {
      this.switchTo(this.stack.pop());
    },
  });

  enable(): void {
    this.hook.enable();
  }

  disable(): void {
    this.switchTo(undefined);
    this.hook.disable();
  }

  frame(name: string): Frame {
    let frame = this.frames.get(name);
    if (!frame) this.frames.set(name, (frame = { name, calls: 0, micros: 0 }));
    return frame;
  }

  /** Server sockets accepted on this port belong to `name`. */
  ownPort(port: number, name: string): void {
    this.ports.set(port, this.frame(name));
  }

  /** Zeroes every owner's counters: the measured window starts now. */
  reset(): void {
    this.charge();
    for (const frame of this.frames.values()) {
      frame.calls = 0;
      frame.micros = 0;
    }
  }

  /** Runs `fn` (and everything it starts) as `name`. */
  run<T>(name: string, fn: () => T): T {
    const frame = this.frame(name);
    frame.calls += 1;
    const previous = this.current;
    this.switchTo(frame);
    try {
      return fn();
    } finally {
      this.switchTo(previous);
    }
  }

  all(): Frame[] {
    this.charge();
    return [...this.frames.values()];
  }

  private switchTo(next: Frame | undefined): void {
    if (next === this.current) return;
    this.charge();
    this.current = next;
  }

  /** Charges the slice that ends now to the owner that ran it. */
  private charge(): void {
    const now = performance.now();
    if (this.current) this.current.micros += (now - this.sliceStart) * 1000;
    this.sliceStart = now;
  }

  private ownerOf(resource: object): Frame | undefined {
    const owned = resource as Owned;
    const owner = owned[OWNER];
    if (owner !== undefined || this.ports.size === 0) return owner ?? undefined;
    // A handle nobody owns yet: a listening socket, or one it accepted, belongs to that server.
    const handle = resource as { getsockname?: (out: { port?: number }) => number };
    let frame: Frame | undefined;
    if (typeof handle.getsockname === 'function') {
      const out: { port?: number } = {};
      try {
        if (handle.getsockname(out) === 0 && out.port !== undefined) frame = this.ports.get(out.port);
      } catch {
        // not a socket after all
      }
    }
    owned[OWNER] = frame ?? null;
    return frame;
  }
}

/** Spins for this many microseconds (a synthetic regression, --inject-cpu; the wall clock: see above). */
function burn(micros: number): void {
  const until = performance.now() + micros / 1000;
  while (performance.now() < until) {
    // spin
  }
}

function wrapHandlers(
  attribution: CpuAttribution | undefined,
  onIntake: (event: SQSEvent) => void,
  inject: Readonly<Partial<Record<LocalFunctionName, number>>>,
): HandlerWrapper {
  return ((name: LocalFunctionName, handler: (event: never, context: never) => unknown) => {
    const extra = inject[name] ?? 0;
    const call = (event: never, context: never) => {
      if (extra) burn(extra);
      return handler(event, context);
    };
    const wrapped = (event: never, context: never) => {
      // Bench bookkeeping runs before the call, as nobody's: it is not the intake's work.
      if (name === 'intake') onIntake(event as unknown as SQSEvent);
      return attribution ? attribution.run(name, () => call(event, context)) : call(event, context);
    };
    return wrapped;
  }) as HandlerWrapper;
}

const HANDLERS: readonly LocalFunctionName[] = ['intake', 'snapshot', 'select', 'forward'];
const SENDER = 'bench sender (SendMessageBatch to the master queue)';
const portOf = (endpoint: string) => Number(new URL(endpoint).port);

function ownersReport(attribution: CpuAttribution, messages: number, mainThreadMs: number, processMs: number): CpuReport {
  const frames = attribution.all();
  const sliceMs = frames.reduce((total, f) => total + f.micros / 1000, 0);
  // Slices are timed by the wall clock: scale them to add up to this thread's CPU over the window.
  const scale = sliceMs > 0 ? mainThreadMs / sliceMs : Number.NaN;
  const owner = (frame: Frame | undefined, name: string, calls = frame?.calls ?? 0): CpuOwner => {
    const cpuMs = ((frame?.micros ?? 0) / 1000) * scale;
    return {
      name,
      calls,
      cpuMs,
      msPerCall: calls ? cpuMs / calls : Number.NaN,
      usPerMessage: messages ? (cpuMs * 1000) / messages : Number.NaN,
      share: mainThreadMs ? cpuMs / mainThreadMs : Number.NaN,
    };
  };
  const byName = new Map(frames.map((f) => [f.name, f]));
  const handlers = HANDLERS.map((name) => owner(byName.get(name), name));
  const projectMs = handlers.reduce((total, h) => total + h.cpuMs, 0);
  const servers = frames.filter((f) => !HANDLERS.includes(f.name as LocalFunctionName) && f.name !== OTHER);
  return {
    method:
      'async_hooks ownership (a call and every async resource it creates; server sockets by their server), ' +
      `callbacks timed by the wall clock, scaled by ${fixed(scale, 3)} (this thread's CPU / the slices' wall time)`,
    sliceWallMs: sliceMs,
    scale,
    handlers,
    projectTotal: {
      cpuMs: projectMs,
      usPerMessage: messages ? (projectMs * 1000) / messages : Number.NaN,
      share: mainThreadMs ? projectMs / mainThreadMs : Number.NaN,
    },
    emulators: [
      ...servers.map((f) => owner(f, f.name, 0)),
      owner(byName.get(OTHER), 'other: event source emulation, HTTP clients of the emulation, bench polling', 0),
    ],
    mainThreadMs,
    otherThreadsMs: Math.max(0, processMs - mainThreadMs),
  };
}

async function sendAll(client: SQSClient, queueUrl: string, ids: readonly string[], rate: number | undefined): Promise<void> {
  const chunks: string[][] = [];
  for (let i = 0; i < ids.length; i += 10) chunks.push(ids.slice(i, i + 10));
  const send = async (chunk: readonly string[]) => {
    const entries = chunk.map((id, j) => ({ Id: String(j), MessageBody: JSON.stringify(makeRequest(j, { requestId: id })) }));
    const result = await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    if (result.Failed?.length) throw new Error(`master queue refused ${result.Failed.length} entries: ${result.Failed[0]?.Message ?? ''}`);
  };
  if (rate === undefined) {
    let next = 0;
    const lane = async () => {
      for (let chunk = chunks[next++]; chunk; chunk = chunks[next++]) await send(chunk);
    };
    await Promise.all(Array.from({ length: SEND_CONCURRENCY }, lane));
    return;
  }
  // Paced: chunk i leaves at i * 10 / rate seconds after the start, whatever the previous calls took.
  const start = performance.now();
  const inFlight: Promise<void>[] = [];
  for (const [i, chunk] of chunks.entries()) {
    const due = start + (i * chunk.length * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    inFlight.push(send(chunk));
  }
  await Promise.all(inFlight);
}

async function depth(client: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes: a = {} } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
}

/** Drains a queue by request_id, keeping the SentTimestamp of each request's first copy. */
const drain = (client: SQSClient, queueUrl: string, counts: Map<string, number>, sentAt: Map<string, number>): Promise<number> =>
  drainByRequestId(client, queueUrl, counts, (id, message) => {
    const sent = Number(message.Attributes?.SentTimestamp);
    if (Number.isFinite(sent)) sentAt.set(id, Math.min(sentAt.get(id) ?? Number.POSITIVE_INFINITY, sent));
  });

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

async function landed(
  stack: LocalStack,
  ids: readonly string[],
  masterSentAt: ReadonlyMap<string, number>,
): Promise<Pick<Report, 'regions' | 'exactlyOnce' | 'deadLetters' | 'latencyMs'>> {
  const d = stack.description;
  const counts = new Map<string, number>();
  const regionalSentAt = new Map<string, number>();
  const regions: Record<string, number> = {};
  for (const region of d.regions) {
    const client = sqsAt(region.region, d.endpoints.sqs[region.region] as string);
    try {
      regions[region.region] = await drain(client, region.queueUrl, counts, regionalSentAt);
    } finally {
      client.destroy();
    }
  }
  const expected = new Set(ids);
  const missing = ids.filter((id) => !counts.has(id)).length;
  const duplicated = [...counts.entries()].filter(([id, n]) => expected.has(id) && n > 1).length;
  const unexpected = [...counts.keys()].filter((id) => !expected.has(id)).length;
  const latencies: number[] = [];
  let unmatched = 0;
  for (const id of ids) {
    const from = masterSentAt.get(id);
    const to = regionalSentAt.get(id);
    if (from === undefined || to === undefined) unmatched++;
    else latencies.push(to - from);
  }
  const home = sqsAt(HOME_REGION, d.endpoints.sqs[HOME_REGION] as string);
  try {
    const deadLetters = { dispatch: await depth(home, d.dispatchDeadLetterQueueUrl), master: await depth(home, d.masterDeadLetterQueueUrl) };
    return {
      regions,
      exactlyOnce: { ok: missing + duplicated + unexpected === 0, missing, duplicated, unexpected },
      deadLetters,
      latencyMs: { ...summarize(latencies), unmatched },
    };
  } finally {
    home.destroy();
  }
}

async function run(options: Options): Promise<Report> {
  const loadAverageBefore = loadavg()[0] ?? Number.NaN;
  const rssBeforeStackBytes = process.memoryUsage().rss;
  const memory = sampleMemory(100);
  const batchSizes: number[] = [];
  const attribution = options.attribution ? new CpuAttribution() : undefined;
  // The master message's SentTimestamp, per request_id, as the intake first sees it.
  const masterSentAt = new Map<string, number>();
  const onIntake = (event: SQSEvent) => {
    for (const record of event.Records ?? []) {
      if (record.attributes?.ApproximateReceiveCount !== '1') continue;
      const sent = Number(record.attributes.SentTimestamp);
      try {
        const id = String((JSON.parse(record.body) as { request_id?: unknown }).request_id);
        if (Number.isFinite(sent) && !masterSentAt.has(id)) masterSentAt.set(id, sent);
      } catch {
        // not a bench request
      }
    }
  };
  attribution?.enable();
  const began = performance.now();
  // Messages must not come back while their batch is still being dispatched: 30 s is far above an execution here.
  const stack = await startLocalStack({
    pollers: options.pollers,
    masterVisibilitySeconds: 30,
    batchWindowSeconds: options.window,
    onBatch: (b) => void batchSizes.push(b.size),
    wrap: wrapHandlers(attribution, onIntake, options.injectCpu),
  });
  const stackStartMs = performance.now() - began;
  const rssStackUpBytes = process.memoryUsage().rss;
  try {
    const d = stack.description;
    if (attribution) {
      attribution.ownPort(portOf(d.endpoints.dynamodb), 'dynalite (DynamoDB server)');
      for (const [region, endpoint] of Object.entries(d.endpoints.sqs)) attribution.ownPort(portOf(endpoint), `fauxqs ${region} (SQS server)`);
      attribution.ownPort(portOf(d.endpoints.stepFunctions), 'Step Functions endpoint + ASL engine (+ its DynamoDB/SQS calls)');
    }
    const runId = Date.now().toString(36);
    const ids = Array.from({ length: options.count }, (_, i) => `req-bench-${runId}-${String(i).padStart(6, '0')}`);
    const home = sqsAt(HOME_REGION, d.endpoints.sqs[HOME_REGION] as string);
    const sendStart = performance.now();
    attribution?.reset();
    const cpuStart = process.cpuUsage();
    const threadStart = process.threadCpuUsage();
    let sendMs = 0;
    const sending = (attribution ? attribution.run(SENDER, () => sendAll(home, d.masterQueueUrl, ids, options.rate)) : sendAll(home, d.masterQueueUrl, ids, options.rate))
      .then(() => void (sendMs = performance.now() - sendStart))
      .finally(() => home.destroy());
    let sendError: unknown;
    sending.catch((error: unknown) => void (sendError = error ?? new Error('send failed')));
    const deadline = sendStart + options.timeout * 1000;
    while (stack.eventSource.stats().succeeded < options.count && performance.now() < deadline && sendError === undefined) await sleep(10);
    if (sendError !== undefined) throw sendError;
    const endToEndMs = performance.now() - sendStart;
    const cpu = process.cpuUsage(cpuStart);
    const thread = process.threadCpuUsage(threadStart);
    const cpuByOwner = attribution
      ? ownersReport(attribution, options.count, (thread.user + thread.system) / 1000, (cpu.user + cpu.system) / 1000)
      : null;
    attribution?.disable();
    await sending;
    const peak = memory.stop();
    const stats = stack.eventSource.stats();
    return {
      count: options.count,
      pollers: options.pollers,
      rate: options.rate ?? null,
      injectedCpuMicros: options.injectCpu,
      batchWindowSeconds: options.window,
      stackStartMs,
      sendMs,
      endToEndMs,
      messagesPerSecond: (Math.min(stats.succeeded, options.count) / endToEndMs) * 1000,
      timedOut: stats.succeeded < options.count,
      eventSource: { ...stats, batchSize: summarize(batchSizes) },
      executions: executionFigures(stack),
      memory: { ...peak, rssBeforeStackBytes, rssStackUpBytes },
      cpu: { userMs: cpu.user / 1000, systemMs: cpu.system / 1000, coreShare: (cpu.user + cpu.system) / 1000 / endToEndMs },
      cpuByOwner,
      ...(await landed(stack, ids, masterSentAt)),
      machine: { cores: cpus().length, loadAverageBefore, loadAverageAfter: loadavg()[0] ?? Number.NaN },
    };
  } finally {
    attribution?.disable();
    memory.stop();
    await stack.stop();
  }
}

function print(r: Report, timeout: number): void {
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const b = r.eventSource.batchSize;
  const e = r.executions;
  const load = `load average ${fixed(r.machine.loadAverageBefore, 2)}/${fixed(r.machine.loadAverageAfter, 2)} on ${r.machine.cores} cores`;
  console.log(
    `machine: ${r.machine.cores} cores, 1-minute load average ${fixed(r.machine.loadAverageBefore, 2)} before, ${fixed(r.machine.loadAverageAfter, 2)} after`,
  );
  console.log(
    `local stack up in ${r.stackStartMs.toFixed(0)} ms (${Object.keys(r.regions).length} regions, ${r.pollers} pollers, ` +
      `batching window ${r.batchWindowSeconds} s, no workers)`,
  );
  console.log(
    r.rate === null
      ? `sent ${r.count} messages with SendMessageBatch (${Math.ceil(r.count / 10)} calls, ${SEND_CONCURRENCY} at a time) in ${s(r.sendMs)}`
      : `sent ${r.count} messages with SendMessageBatch at ${r.rate}/s (${Math.ceil(r.count / 10)} calls, paced) in ${s(r.sendMs)}`,
  );
  console.log(
    r.timedOut
      ? `TIMED OUT after ${timeout} s: ${r.eventSource.succeeded} of ${r.count} resolved`
      : `resolved ${r.count} in ${s(r.endToEndMs)} from the first send: ${r.messagesPerSecond.toFixed(0)} messages/s end to end (${load})`,
  );
  const l = r.latencyMs;
  console.log(
    `latency master queue -> regional queue (SentTimestamp to SentTimestamp, ${l.count} requests): ` +
      `p50 ${fixed(l.p50, 0)} ms, p95 ${fixed(l.p95, 0)} ms, p99 ${fixed(l.p99, 0)} ms, max ${fixed(l.max, 0)} ms` +
      `${l.unmatched ? ` (${l.unmatched} without both timestamps)` : ''} (${load})`,
  );
  if (r.rate === null) console.log('  (all sent at once: the latency is mostly the wait behind the backlog; --rate measures it under a steady load)');
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
  console.log(`cpu: ${s(r.cpu.userMs)} user + ${s(r.cpu.systemMs)} system = ${(r.cpu.coreShare * 100).toFixed(0)}% of one core over the run (${load})`);
  const c = r.cpuByOwner;
  const injected = Object.entries(r.injectedCpuMicros);
  if (injected.length) console.log(`SYNTHETIC REGRESSION: ${injected.map(([name, us]) => `${name} +${us} us of CPU per call`).join(', ')} (--inject-cpu)`);
  if (c) {
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    console.log(`cpu by owner, main thread, first send to last resolution (${load}); ${c.method}:`);
    console.log(
      table([
        ['handler (the project\'s code, as each Lambda would run it)', 'calls', 'cpu ms', 'ms/call', 'us/message', 'share'],
        ...c.handlers.map((h) => [h.name, String(h.calls), fixed(h.cpuMs, 0), fixed(h.msPerCall, 2), fixed(h.usPerMessage, 0), pct(h.share)]),
        ['project total', '', fixed(c.projectTotal.cpuMs, 0), '', fixed(c.projectTotal.usPerMessage, 0), pct(c.projectTotal.share)],
      ])
        .split('\n')
        .map((line) => `  ${line}`)
        .join('\n'),
    );
    console.log(
      table([
        ['emulation and harness (not the project\'s)', 'cpu ms', 'us/message', 'share'],
        ...c.emulators.map((o) => [o.name, fixed(o.cpuMs, 0), fixed(o.usPerMessage, 0), pct(o.share)]),
        ['main thread total', fixed(c.mainThreadMs, 0), fixed((c.mainThreadMs * 1000) / r.count, 0), '100.0%'],
      ])
        .split('\n')
        .map((line) => `  ${line}`)
        .join('\n'),
    );
    console.log(`  other threads of the process (GC helpers, compiler, libuv pool): ${fixed(c.otherThreadsMs, 0)} ms`);
  }
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

const positiveNumber = (flag: string) => (value: string) => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 100_000) throw new InvalidArgumentError(`${flag} must be a number of messages per second from above 0 to 100000, got "${value}".`);
  return n;
};

const injectPair = (value: string, previous: Partial<Record<LocalFunctionName, number>>) => {
  const [name, raw] = value.split('=');
  const micros = Number(raw);
  if (!HANDLERS.includes(name as LocalFunctionName) || raw === undefined || !Number.isFinite(micros) || micros <= 0 || micros > 1_000_000) {
    throw new InvalidArgumentError(`--inject-cpu takes handler=microseconds, handler one of ${HANDLERS.join(', ')}, got "${value}".`);
  }
  return { ...previous, [name as LocalFunctionName]: micros };
};

const program = new Command('bench')
  .description('drive the whole local stack end to end and measure it (no workers: regional queues only fill)')
  .option('--count <n>', 'requests to send', wholeNumber('--count', 1, 100_000), 1000)
  .option('--pollers <n>', 'event source pollers (concurrent intake invocations)', wholeNumber('--pollers', 1, 64), 2)
  .option('--rate <n>', 'send at this many messages per second (default: all at once)', positiveNumber('--rate'))
  .option('--window <s>', 'the event source\'s batching window in seconds (the local stack\'s default)', secondsAtLeast('--window', 0, 300), 0.5)
  .option('--timeout <s>', 'give up waiting after this many seconds', secondsAtLeast('--timeout', 1, 3600), 120)
  .option('--inject-cpu <handler=us>', 'add this much busy CPU per call to a handler (a synthetic regression; repeatable)', injectPair, {})
  .option('--no-attribution', 'do not attribute CPU to owners (no async_hooks: measures the hooks\' own cost)')
  .option('--json', 'print the results as JSON')
  .action(async (options: Options) => {
    // Whatever happens (a stuck stop, say), the process ends.
    setTimeout(() => {
      console.error(`bench: still running ${options.timeout + 60} s after start; exiting`);
      process.exit(2);
    }, (options.timeout + 60) * 1000).unref();
    const report = await run(options);
    if (options.json) console.log(JSON.stringify(report, null, 2));
    else print(report, options.timeout);
    if (report.timedOut || !report.exactlyOnce.ok) process.exitCode = 1;
  });

await program.parseAsync();
