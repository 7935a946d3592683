/**
 * `npm run bench:lanes:local`: priority lanes on the whole local stack (real SQS and DynamoDB servers,
 * the real definition and handlers, the simulated workers), against the same stack without lanes.
 *
 * A backlog of normal work first, then a steady load at `--load` of the workers' throughput (10% high,
 * 80% normal, 10% low, Poisson arrivals). Each request carries its send time; a worker's receive of it
 * ends its wait. Printed: p50/p95/p99 wait per priority, without and with lanes, and the ratios the
 * issue's targets name (high p99 at least 10x lower; normal p99 at most 10% worse).
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { Command, InvalidArgumentError } from 'commander';
import { makeRequest } from '../ops/requests.js';
import { laneOf } from '../../core/lanes.js';
import type { Priority } from '../../core/request.js';
import { seededRandom } from '../../core/random.js';
import { HOME_REGION } from '../../core/topology.js';
import { sqsAt } from '../local/resources.js';
import { startLocalStack } from '../local/stack.js';
import type { WorkerEvent } from '../local/fleet/workers.js';
import { secondsAtLeast, wholeNumber } from '../args.js';
import { fixed, summarize, type Summary } from './stats.js';

interface Options {
  seconds: number;
  load: number;
  backlog: number;
  service: number;
  seed: number;
  json?: boolean;
}

const REGIONS = [
  { region: 'us-east-1', capacity: 1 },
  { region: 'us-west-2', capacity: 2 },
  { region: 'us-west-1', capacity: 4 },
];
const MIX: ReadonlyArray<readonly [Priority, number]> = [
  ['high', 0.1],
  ['normal', 0.8],
  ['low', 0.1],
];

type Waits = Record<Priority, Summary>;

const fraction = (flag: string, min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${flag} must be a number from ${min} to ${max}, got "${value}".`);
  return n;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function run(lanes: boolean, options: Options): Promise<{ waits: Waits; unfinished: number }> {
  const sentAt = new Map<string, { at: number; priority: Priority }>();
  const waits: Record<Priority, number[]> = { high: [], normal: [], low: [] };
  const onWorkerEvent = (event: WorkerEvent) => {
    if (event.kind !== 'received' || !event.requestId) return;
    const sent = sentAt.get(event.requestId);
    if (!sent) return;
    sentAt.delete(event.requestId);
    waits[sent.priority].push((event.at - sent.at) / 1000);
  };
  const stack = await startLocalStack({
    lanes,
    regions: REGIONS,
    workers: Object.fromEntries(REGIONS.map((r) => [r.region, { workers: r.capacity, secondsPerRequest: options.service }])),
    masterVisibilitySeconds: 60,
    batchWindowSeconds: 0.5,
    pollers: 2,
    onWorkerEvent,
  });
  const home: SQSClient = sqsAt(HOME_REGION, stack.description.endpoints.sqs[HOME_REGION] as string);
  const random = seededRandom(options.seed);
  const workers = REGIONS.reduce((n, r) => n + r.capacity, 0);
  const perSecond = (options.load * workers) / options.service;
  const queueOf = (priority: Priority) =>
    laneOf(priority) === 'high' && stack.description.masterHighQueueUrl ? stack.description.masterHighQueueUrl : stack.description.masterQueueUrl;
  const send = async (requests: Array<{ priority: Priority; id: string; index: number }>) => {
    const byQueue = new Map<string, typeof requests>();
    for (const r of requests) byQueue.set(queueOf(r.priority), [...(byQueue.get(queueOf(r.priority)) ?? []), r]);
    for (const [url, group] of byQueue) {
      for (let i = 0; i < group.length; i += 10) {
        const chunk = group.slice(i, i + 10);
        const now = Date.now();
        for (const r of chunk) sentAt.set(r.id, { at: now, priority: r.priority });
        await home.send(
          new SendMessageBatchCommand({
            QueueUrl: url,
            Entries: chunk.map((r, j) => ({ Id: String(j), MessageBody: JSON.stringify(makeRequest(r.index, { requestId: r.id, priority: r.priority })) })),
          }),
        );
      }
    }
  };
  let index = 0;
  const next = (priority: Priority) => ({ priority, id: `lanes-${lanes ? 'on' : 'off'}-${index}`, index: index++ });
  const draw = (): Priority => {
    let u = random();
    for (const [priority, share] of MIX) {
      if ((u -= share) < 0) return priority;
    }
    return 'normal';
  };
  try {
    // The backlog: normal work only, all at once.
    await send(Array.from({ length: options.backlog }, () => next('normal')));
    const started = Date.now();
    let due = started;
    while (due < started + options.seconds * 1000) {
      due += (-Math.log(1 - random()) / perSecond) * 1000;
      const ahead = due - Date.now();
      if (ahead > 0) await sleep(ahead);
      await send([next(draw())]);
      if (process.stderr.isTTY) process.stderr.write(`\rlanes ${lanes ? 'on ' : 'off'}: ${index} sent, ${Math.round((Date.now() - started) / 1000)} s`);
    }
    // Let what was sent be taken (bounded).
    const until = Date.now() + Math.max(60_000, options.seconds * 2000);
    while (sentAt.size && Date.now() < until) await sleep(250);
    if (process.stderr.isTTY) process.stderr.write('\n');
    return {
      waits: { high: summarize(waits.high), normal: summarize(waits.normal), low: summarize(waits.low) },
      unfinished: sentAt.size,
    };
  } finally {
    home.destroy();
    await stack.stop();
  }
}

async function main(options: Options) {
  process.stderr.write(
    `lanes on the local stack: workers 1:2:4 at ${options.service} s per request, ${Math.round(options.load * 100)}% load, ` +
      `backlog ${options.backlog} normal, ${options.seconds} s of arrivals, 10% high / 80% normal / 10% low, seed ${options.seed}\n`,
  );
  const without = await run(false, options);
  const withLanes = await run(true, options);
  const ratio = {
    highP99Lower: without.waits.high.p99 / withLanes.waits.high.p99,
    normalP99Worse: withLanes.waits.normal.p99 / without.waits.normal.p99,
  };
  if (options.json) {
    console.log(JSON.stringify({ settings: options, without, with: withLanes, ratio }, null, 2));
    return;
  }
  const row = (label: string, s: Summary) => `| ${label} | ${s.count} | ${fixed(s.p50, 2)} | ${fixed(s.p95, 2)} | ${fixed(s.p99, 2)} |`;
  console.log('| run / priority | requests | p50 wait (s) | p95 | p99 |');
  console.log('|---|---|---|---|---|');
  for (const [label, result] of [['without lanes', without], ['with lanes', withLanes]] as const) {
    for (const priority of ['high', 'normal', 'low'] as const) console.log(row(`${label} / ${priority}`, result.waits[priority]));
  }
  console.log('');
  const verdict = (met: boolean, margin: string) => (met ? `met (${margin})` : `missed (${margin})`);
  console.log(`high p99, without / with lanes: ${fixed(ratio.highP99Lower, 2)}x; target >= 10x: ${verdict(ratio.highP99Lower >= 10, `by ${fixed(Math.abs(ratio.highP99Lower - 10), 2)}`)}`);
  console.log(`normal p99, with / without lanes: ${fixed(ratio.normalP99Worse, 3)}; target <= 1.10: ${verdict(ratio.normalP99Worse <= 1.1, `by ${fixed(Math.abs(ratio.normalP99Worse - 1.1), 3)}`)}`);
  if (without.unfinished || withLanes.unfinished) console.log(`not taken by a worker in time: ${without.unfinished} without lanes, ${withLanes.unfinished} with`);
}

new Command('bench:lanes:local')
  .description('priority lanes on the whole local stack: wait per priority with and without lanes')
  .option('--seconds <n>', 'seconds of arrivals per run', secondsAtLeast('--seconds', 5, 3600), 60)
  .option('--load <fraction>', "arrivals as a fraction of the workers' throughput", fraction('--load', 0.05, 0.99), 0.9)
  .option('--backlog <n>', 'normal requests queued before the run starts', wholeNumber('--backlog', 0, 10_000), 100)
  .option('--service <seconds>', "a worker's seconds per request", secondsAtLeast('--service', 0.05, 10), 0.5)
  .option('--seed <n>', 'seed of the arrivals and priorities', wholeNumber('--seed', 0), 1)
  .option('--json', 'print JSON')
  .action(async (options: Options) => main(options))
  .parseAsync()
  .catch((error: unknown) => {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  });
