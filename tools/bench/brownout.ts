/**
 * `npm run bench:brownout`: throughput of the whole local stack while one region is in a brownout, with
 * region health off (REGION_HEALTH_SECONDS=0: every execution tries the region again) and on (the
 * default: the first failure keeps every later execution away until a probe succeeds).
 *
 * Two brownouts, injected at the wire by the fault proxy in front of us-west-2's SQS: `hang` (the region
 * reads fine, but every SendMessageBatch is accepted and never answered: each send waits for the SQS
 * request timeout, and its messages are retried later, never failed over) and `refuse` (every send is
 * answered 400 throttled: retried, then failed over). No workers: the regional queues only fill.
 */
import { cpus, loadavg } from 'node:os';
import { GetQueueAttributesCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { Command } from 'commander';
import { makeRequest } from '../ops/requests.js';
import { HOME_REGION } from '../../core/topology.js';
import { STATE } from '../../workflows/dispatch.js';
import { isStateEvent } from '../local/emulators/asl-runner.js';
import { sqsAt } from '../local/resources.js';
import { startLocalStack, type LocalStack } from '../local/stack.js';
import { choices, secondsAtLeast, wholeNumber } from '../args.js';
import { drainByRequestId } from './probe.js';
import { fixed, summarize } from './stats.js';

const BROWNOUTS = ['hang', 'refuse'] as const;
type Brownout = (typeof BROWNOUTS)[number];
const BAD_REGION = 'us-west-2';

interface Options {
  count: number;
  pollers: number;
  brownout: Brownout[];
  visibility: number;
  timeout: number;
  json?: boolean;
}

interface Row {
  readonly brownout: Brownout;
  readonly health: 'off' | 'on';
  readonly resolved: number;
  readonly seconds: number;
  readonly messagesPerSecond: number;
  readonly timedOut: boolean;
  readonly executions: number;
  /** Executions that sent to the bad region (each paid its failure). */
  readonly touchedBadRegion: number;
  readonly executionP50Ms: number;
  readonly executionP95Ms: number;
  /** Messages the master queue had to deliver more than once (unconfirmed sends, busy claims). */
  readonly redelivered: number;
  readonly dispatched: number;
  readonly copiesInBadRegion: number;
  readonly masterDeadLetters: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function depth(client: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes: a = {} } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
}

async function sendAll(client: SQSClient, queueUrl: string, ids: readonly string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 10) {
    const entries = ids.slice(i, i + 10).map((id, j) => ({ Id: String(j), MessageBody: JSON.stringify(makeRequest(i + j, { requestId: id })) }));
    await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
  }
}

function breakRegion(stack: LocalStack, brownout: Brownout): void {
  const proxy = stack.faults?.sqs[BAD_REGION];
  if (!proxy) throw new Error(`no fault proxy in front of ${BAD_REGION}`);
  proxy.rules.add(
    brownout === 'hang'
      ? { name: 'brownout', actions: ['SendMessageBatch'], mode: 'hang' }
      : { name: 'brownout', actions: ['SendMessageBatch'], mode: 'error', error: 'throttle' },
  );
}

async function runOne(options: Options, brownout: Brownout, health: 'off' | 'on', onProgress: (text: string) => void): Promise<Row> {
  const received = new Map<string, number>();
  const stack = await startLocalStack({
    faults: true,
    pollers: options.pollers,
    masterVisibilitySeconds: options.visibility,
    // As deployed: readings cached a minute, 3 s per SQS call; health off or at its default.
    env: { cacheTtlSeconds: 60, ...(health === 'off' ? { regionHealthSeconds: 0 } : {}) },
  });
  try {
    breakRegion(stack, brownout);
    const d = stack.description;
    const runId = `${brownout}-${health}-${Date.now().toString(36)}`;
    const ids = Array.from({ length: options.count }, (_, i) => `req-brownout-${runId}-${String(i).padStart(5, '0')}`);
    const home = sqsAt(HOME_REGION, d.endpoints.sqs[HOME_REGION] as string);
    const start = performance.now();
    let remaining = options.count;
    try {
      await sendAll(home, d.masterQueueUrl, ids);
      const deadline = start + options.timeout * 1000;
      while (performance.now() < deadline) {
        remaining = await depth(home, d.masterQueueUrl);
        onProgress(`${brownout}, health ${health}: ${options.count - remaining}/${options.count} resolved, ${((performance.now() - start) / 1000).toFixed(0)} s`);
        if (remaining === 0) break;
        await sleep(200);
      }
    } finally {
      home.destroy();
    }
    const seconds = (performance.now() - start) / 1000;
    const executions = stack.stepFunctions.executions();
    const durations = executions.filter((e) => e.stopDate).map((e) => (e.stopDate as Date).getTime() - e.startDate.getTime());
    const touched = executions.filter((e) => e.events.some((ev) => isStateEvent(ev, 'StateEntered', STATE.forward, BAD_REGION))).length;
    for (const e of executions) {
      for (const m of (e.input as { messages?: Array<{ requestId: string }> }).messages ?? []) received.set(m.requestId, (received.get(m.requestId) ?? 0) + 1);
    }
    const counts = new Map<string, number>();
    let copiesInBadRegion = 0;
    for (const region of d.regions) {
      const client = sqsAt(region.region, d.endpoints.sqs[region.region] as string);
      try {
        const n = await drainByRequestId(client, region.queueUrl, counts);
        if (region.region === BAD_REGION) copiesInBadRegion = n;
      } finally {
        client.destroy();
      }
    }
    const masterDlq = sqsAt(HOME_REGION, d.endpoints.sqs[HOME_REGION] as string);
    const masterDeadLetters = await depth(masterDlq, d.masterDeadLetterQueueUrl).finally(() => masterDlq.destroy());
    const resolved = options.count - remaining;
    const summary = summarize(durations);
    return {
      brownout,
      health,
      resolved,
      seconds,
      messagesPerSecond: resolved / seconds,
      timedOut: remaining > 0,
      executions: executions.length,
      touchedBadRegion: touched,
      executionP50Ms: summary.p50,
      executionP95Ms: summary.p95,
      redelivered: [...received.values()].filter((n) => n > 1).length,
      dispatched: ids.filter((id) => counts.has(id)).length,
      copiesInBadRegion,
      masterDeadLetters,
    };
  } finally {
    await stack.stop();
  }
}

function print(rows: readonly Row[], options: Options): void {
  console.log(
    `machine: ${cpus().length} cores, load average ${fixed(loadavg()[0] ?? Number.NaN, 2)}; ${options.count} requests, ${options.pollers} pollers, ` +
      `master visibility ${options.visibility} s, SQS request timeout 3 s, ${BAD_REGION} in a brownout\n`,
  );
  const header = ['brownout', 'health', 'msgs/s', 'drained in', 'executions', `sent to ${BAD_REGION}`, 'exec p50', 'exec p95', 'redelivered', 'dispatched', 'master DLQ'];
  const lines = rows.map((r) => [
    r.brownout,
    r.health,
    r.messagesPerSecond.toFixed(1),
    `${r.seconds.toFixed(1)} s${r.timedOut ? ' (timed out)' : ''}`,
    String(r.executions),
    String(r.touchedBadRegion),
    `${fixed(r.executionP50Ms, 0)} ms`,
    `${fixed(r.executionP95Ms, 0)} ms`,
    String(r.redelivered),
    `${r.dispatched}/${r.resolved}`,
    String(r.masterDeadLetters),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const row = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  console.log(row(header));
  for (const line of lines) console.log(row(line));
}

const program = new Command('bench:brownout')
  .description(`throughput while ${BAD_REGION} is in a brownout, with region health off and on`)
  .option('--count <n>', 'requests to send per run', wholeNumber('--count', 10, 100_000), 300)
  .option('--pollers <n>', 'event source pollers (concurrent intake invocations)', wholeNumber('--pollers', 1, 64), 4)
  .option('--brownout <kind...>', `which brownouts (${BROWNOUTS.join(', ')})`, choices('--brownout', BROWNOUTS), undefined)
  .option('--visibility <s>', 'master queue visibility timeout (how soon a retried message comes back)', secondsAtLeast('--visibility', 1, 600), 10)
  .option('--timeout <s>', 'give up on a run after this many seconds', secondsAtLeast('--timeout', 5, 3600), 180)
  .option('--json', 'print the results as JSON')
  .action(async (options: Options) => {
    const kinds = (options.brownout?.length ? options.brownout : [...BROWNOUTS]) as Brownout[];
    const rows: Row[] = [];
    const progress = (text: string) => process.stderr.isTTY && process.stderr.write(`\r${text.padEnd(70)}`);
    for (const brownout of kinds) {
      for (const health of ['off', 'on'] as const) rows.push(await runOne({ ...options, brownout: kinds }, brownout, health, progress));
    }
    if (process.stderr.isTTY) process.stderr.write(`\r${''.padEnd(70)}\r`);
    if (options.json) console.log(JSON.stringify(rows, null, 2));
    else print(rows, options);
    if (rows.some((r) => r.timedOut)) process.exitCode = 1;
  });

await program.parseAsync();
