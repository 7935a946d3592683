/**
 * `npm run bench:lanes:idle`: what an idle worker's lane receiver (worker/lanes.ts LaneReceiver, the
 * shipped class) costs in receives, and what its schedule adds to the wait of a request that arrives at
 * an idle worker; before (each next(): the high lane without waiting, then the normal lane with a 1 s
 * long poll) and after (LANE_RECEIVE: both lanes watched at once by 20 s long polls, the normal lane
 * resting 5 s after an empty one). Driven on SQS's receive semantics in virtual time
 * (tools/bench/lanes-idle-sqs.ts): a month of idle polls and tens of thousands of arrivals take seconds
 * instead of the month and the days they would take against a real server. See docs/lanes.md.
 */
import { Command } from 'commander';
import { pathToFileURL } from 'node:url';
import { seededRandom } from '../../core/random.js';
import type { Lane } from '../../core/lanes.js';
import { LANE_RECEIVE, LaneReceiver, idleReceivesPerSecond, type LaneReceiverOptions } from '../../worker/lanes.js';
import { wholeNumber } from '../args.js';
import { PRICES, SECONDS_PER_MONTH } from './cost/prices.js';
import { SimulatedSqs, VirtualClock } from './lanes-idle-sqs.js';
import { fixed, summarize, table, type Summary } from './stats.js';

const HIGH = 'sim://high';
const NORMAL = 'sim://normal';

export interface Receiver {
  readonly name: string;
  readonly options: LaneReceiverOptions;
}

export const RECEIVERS: readonly Receiver[] = [
  { name: 'before (sequential, 1 s)', options: { mode: 'sequential', idleWaitSeconds: 1 } },
  { name: 'after (LANE_RECEIVE)', options: {} },
];

/** Runs one worker on the simulated lanes: each message taken is handed to `onTake`, then `jobSeconds` of work. */
function startWorker(sqs: SimulatedSqs, options: LaneReceiverOptions, hasHigh: boolean, onTake: (lane: Lane, body: string) => void, jobSeconds = 0) {
  const receiver = new LaneReceiver(sqs.receive, { normal: NORMAL, ...(hasHigh ? { high: HIGH } : {}) }, { ...options, clock: sqs.clock });
  let stopped = false;
  void (async () => {
    while (!stopped) {
      const taken = await receiver.next();
      if (!taken) continue;
      onTake(taken.lane, taken.message.Body ?? '');
      if (jobSeconds > 0) await sqs.clock.sleep(jobSeconds * 1000);
    }
  })();
  return () => {
    stopped = true;
  };
}

/** Receives an idle worker makes in `seconds` of virtual time. */
export async function idleReceives(options: LaneReceiverOptions, hasHigh: boolean, seconds: number): Promise<number> {
  const clock = new VirtualClock();
  const sqs = new SimulatedSqs(clock);
  const stop = startWorker(sqs, options, hasHigh, () => undefined);
  await clock.run(seconds * 1000);
  stop();
  return sqs.receives(HIGH) + sqs.receives(NORMAL);
}

/**
 * The wait (s) of requests arriving one at a time at an idle worker: arrivals `gap` apart (uniform
 * 30-130 s, so that each finds the worker idle at a random point of its schedule), each high or normal
 * with probability 1/2; the worker takes each at once (a job of no time).
 */
export async function idleArrivalWaits(options: LaneReceiverOptions, seed: number, arrivals: number): Promise<Record<Lane, number[]>> {
  const clock = new VirtualClock();
  const sqs = new SimulatedSqs(clock);
  const random = seededRandom(seed);
  const sent = new Map<string, number>();
  const waits: Record<Lane, number[]> = { high: [], normal: [] };
  const stop = startWorker(sqs, options, true, (lane, body) => {
    waits[lane].push((clock.now() - (sent.get(body) as number)) / 1000);
  });
  let at = 60_000 * random();
  for (let i = 0; i < arrivals; i++) {
    at += 30_000 + 100_000 * random();
    const lane: Lane = random() < 0.5 ? 'high' : 'normal';
    const body = `${lane}-${i}`;
    clock.at(at, () => {
      sent.set(body, clock.now());
      sqs.send(lane === 'high' ? HIGH : NORMAL, body);
    });
  }
  await clock.run(at + 60_000);
  stop();
  return waits;
}

interface Options {
  seed: number;
  seeds: number;
  arrivals: number;
  idleHours: number;
  json?: boolean;
}

const usd = (n: number) => `$${n.toFixed(3)}`;
const count = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(options: Options) {
  const idleSeconds = options.idleHours * 3600;
  const idle = [];
  for (const receiver of RECEIVERS) {
    for (const hasHigh of [true, false]) {
      const receives = await idleReceives(receiver.options, hasHigh, idleSeconds);
      const perMonth = (receives / idleSeconds) * SECONDS_PER_MONTH;
      idle.push({
        receiver: receiver.name,
        lanes: hasHigh ? 'high + normal' : 'normal only',
        receivesPerHour: (receives / idleSeconds) * 3600,
        receivesPerMonth: perMonth,
        usdPerMonth: perMonth * PRICES.sqsRequest.usd,
        formulaPerMonth: idleReceivesPerSecond(receiver.options, hasHigh) * SECONDS_PER_MONTH,
      });
    }
  }
  const latency = [];
  for (const receiver of RECEIVERS) {
    const pooled: Record<Lane, number[]> = { high: [], normal: [] };
    const perSeed: Record<Lane, Summary[]> = { high: [], normal: [] };
    for (let s = 0; s < options.seeds; s++) {
      const waits = await idleArrivalWaits(receiver.options, options.seed + s, options.arrivals);
      for (const lane of ['high', 'normal'] as const) {
        pooled[lane].push(...waits[lane]);
        perSeed[lane].push(summarize(waits[lane]));
      }
    }
    for (const lane of ['high', 'normal'] as const) {
      const all = summarize(pooled[lane]);
      const means = perSeed[lane].map((x) => x.mean);
      const p99s = perSeed[lane].map((x) => x.p99);
      latency.push({
        receiver: receiver.name,
        lane,
        arrivals: all.count,
        mean: all.mean,
        p99: all.p99,
        max: all.max,
        meanRange: [Math.min(...means), Math.max(...means)],
        p99Range: [Math.min(...p99s), Math.max(...p99s)],
      });
    }
  }
  if (options.json) {
    console.log(JSON.stringify({ settings: { ...options, laneReceive: LANE_RECEIVE }, idle, latency }, null, 2));
    return;
  }
  console.log(`An idle worker's receives (${options.idleHours} h of virtual time; a month = ${SECONDS_PER_MONTH.toLocaleString('en-US')} s, $${(PRICES.sqsRequest.usd * 1e6).toFixed(2)} per million):`);
  console.log(
    table([
      ['receiver', 'lanes', 'receives/hour', 'receives/month', 'cost/month', 'formula/month'],
      ...idle.map((r) => [r.receiver, r.lanes, fixed(r.receivesPerHour, 1), count(r.receivesPerMonth), usd(r.usdPerMonth), count(r.formulaPerMonth)]),
    ]),
  );
  const after = idle.find((r) => r.receiver === RECEIVERS[1]?.name && r.lanes === 'high + normal');
  if (after) console.log(`Target (at most $0.10 a month per idle worker): ${after.usdPerMonth <= 0.1 ? 'met' : 'missed'}, by ${usd(Math.abs(0.1 - after.usdPerMonth))}.`);
  console.log('');
  console.log(
    `Wait added to a request arriving at an idle worker, seconds (seeds ${options.seed}-${options.seed + options.seeds - 1}, ${options.arrivals} arrivals each, pooled; spread: lowest-highest of the per-seed figure):`,
  );
  console.log(
    table([
      ['receiver', 'lane', 'arrivals', 'mean', 'p99', 'max', 'mean by seed', 'p99 by seed'],
      ...latency.map((r) => [
        r.receiver,
        r.lane,
        String(r.arrivals),
        fixed(r.mean, 3),
        fixed(r.p99, 2),
        fixed(r.max, 2),
        `${fixed(r.meanRange[0] as number, 3)}-${fixed(r.meanRange[1] as number, 3)}`,
        `${fixed(r.p99Range[0] as number, 2)}-${fixed(r.p99Range[1] as number, 2)}`,
      ]),
    ]),
  );
}

const program = new Command('bench:lanes:idle')
  .description("an idle worker's lane receives and their cost, and the wait its schedule adds, before and after (worker/lanes.ts on simulated SQS)")
  .option('--seed <n>', 'first random seed', wholeNumber('--seed', 0, 2 ** 32 - 1), 1)
  .option('--seeds <n>', 'seeds (seed, seed+1, ...)', wholeNumber('--seeds', 1, 100), 10)
  .option('--arrivals <n>', 'requests arriving at the idle worker per seed', wholeNumber('--arrivals', 10, 1_000_000), 2000)
  .option('--idle-hours <n>', 'virtual hours of an idle worker for the receive counts', wholeNumber('--idle-hours', 1, 24 * 365), 24)
  .option('--json', 'print JSON')
  .action(async (options: Options) => main(options));

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await program.parseAsync();
