/**
 * `npm run bench:stealing:local`: work stealing on the whole local stack (intake, dispatch workflow, one
 * SQS server per region, dynalite), with the simulated worker pools of tools/local/fleet/workers.ts
 * reporting presence and, when on, stealing (worker/presence.ts, worker/stealing.ts), every copy accepted
 * through the dispatch fence. The simulation (`npm run bench:stealing`, docs/stealing.md) drives the same
 * core code; this drives the real workers, clients and servers, time compressed.
 *
 * Two experiments, each with stealing off and on, over `--runs` seeds:
 * 1. Steady load: Poisson arrivals at `--load` of the 1:2:4 fleet's throughput for `--seconds`. Each
 *    request carries its send time; the receive of the copy a worker processed ends its wait. Printed:
 *    p50/p95/p99 wait, the share stolen, and each request's processings (exactly one each).
 * 2. A lost fleet: `--backlog` requests dispatched to us-west-2 while the other regions are drained by
 *    capacity settings (core/capacity.ts, as `dispatch capacity set REGION 0` does) and before any pool
 *    runs; the settings cleared, every pool starts under `--lost-load` (a fraction of the whole fleet's
 *    throughput), and us-west-2's pool is killed (none restarting) once each of its workers holds a copy.
 *    Printed: the time from the kill until the backlog is processed and its p99 wait after the kill
 *    (stealing on), how many are still queued at the end (stealing off), and each request's processings
 *    (at most one each; the copies the killed workers held come back after the visibility timeout).
 *
 * Time is compressed by `--service` / 10 s (the simulation's mean service time): the reading interval is
 * the shipped 30 s scaled by it; presence is scaled less (see PRESENCE_TIMING); every other stealing
 * setting is the shipped default.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { Command, InvalidArgumentError } from 'commander';
import { pathToFileURL } from 'node:url';
import { clearCapacity, writeCapacity } from '../../aws/capacity.js';
import { seededRandom } from '../../core/random.js';
import { HOME_REGION } from '../../core/topology.js';
import { HEALTH_CACHE_MS } from '../../functions/snapshot.js';
import { workerStealingSchema } from '../../worker/stealing.js';
import { makeRequest } from '../ops/requests.js';
import { LOCAL_CREDENTIALS, sqsAt } from '../local/resources.js';
import { startLocalStack, type LocalStack } from '../local/stack.js';
import { startWorkers, type WorkerEvent, type Workers } from '../local/fleet/workers.js';
import { secondsAtLeast, wholeNumber } from '../args.js';
import { SERVICE_SECONDS } from './sim/scenarios.js';
import { fixed, pct, summarize, table, type Summary } from './stats.js';

export interface StealingLocalOptions {
  seconds: number;
  load: number;
  lostLoad: number;
  backlog: number;
  service: number;
  runs: number;
  seed: number;
  json?: boolean;
}

export const REGIONS = [
  { region: 'us-east-1', capacity: 1 },
  { region: 'us-west-2', capacity: 2 },
  { region: 'us-west-1', capacity: 4 },
] as const;
export const LOST_REGION = 'us-west-2';
const FLEET_WORKERS = REGIONS.reduce((n, r) => n + r.capacity, 0);

/** The regional queues' visibility timeout and the fence's lease: how long a killed worker's copy stays hidden. */
const VISIBILITY_SECONDS = 3;
/**
 * Presence, compressed less than the reading interval: the dispatcher keeps presence items for up to
 * HEALTH_CACHE_MS (2 s, functions/snapshot.ts), so a lease must outlast that plus a heartbeat or live
 * workers would look gone between two renewals.
 */
export const PRESENCE_TIMING = { heartbeatMs: 1000, leaseMs: 4000 };
const SHIPPED_CHECK_EVERY = workerStealingSchema.parse({}).checkEverySeconds;

/** The shipped reading interval (30 s) at the compressed time scale. */
export const checkEveryFor = (serviceSeconds: number) => (SHIPPED_CHECK_EVERY * serviceSeconds) / SERVICE_SECONDS;

export interface ProcessingCheck {
  /** Requests sent in the experiment. */
  readonly sent: number;
  /** Requests processed exactly once. */
  readonly once: number;
  /** Requests processed more than once (must be 0). */
  readonly twice: number;
  /** Requests not processed by the end. */
  readonly never: number;
}

export interface SteadyResult {
  readonly stealing: boolean;
  readonly wait: Summary;
  readonly stolen: number;
  readonly stolenShare: number;
  readonly processing: ProcessingCheck;
}

export interface LostResult {
  readonly stealing: boolean;
  /** Backlog requests not yet processed when the pool was killed, and how many of them its workers held. */
  readonly backlogAtKill: number;
  readonly heldByKilled: number;
  /** Seconds from the kill until every backlog request was processed; undefined when it was not. */
  readonly drainedAfter?: number;
  /** The same for the backlog the killed workers did not hold (what only stealing can reach). */
  readonly queuedDrainedAfter?: number;
  /** Wait after the kill of the backlog requests processed (kill to the receive that processed it). */
  readonly backlogWait: Summary;
  /** The light load's wait (send to receive). */
  readonly othersWait: Summary;
  /** Backlog requests still unprocessed at the end, and all requests so. */
  readonly backlogLeft: number;
  readonly unprocessed: number;
  /** Messages still in a regional or master queue at the end (visible, in flight or delayed), and in a DLQ. */
  readonly queuedAtEnd: number;
  readonly deadLettered: number;
  /** Copies stolen from the lost region. */
  readonly stolenFromLost: number;
  /** Seconds of the run after the kill. */
  readonly ranFor: number;
  readonly processing: ProcessingCheck;
}

export interface RunResult {
  readonly seed: number;
  readonly steady: { off: SteadyResult; on: SteadyResult };
  readonly lost: { off: LostResult; on: LostResult };
}

export interface Spread {
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

export interface StealingLocalResult {
  readonly settings: StealingLocalOptions & {
    checkEverySeconds: number;
    presence: typeof PRESENCE_TIMING;
    visibilitySeconds: number;
    stealingSettings: string;
  };
  readonly runs: RunResult[];
  readonly summary: Record<string, Spread>;
}

type Progress = (line: string) => void;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Per request: its send time, what it is, and the workers' events about it. */
class Ledger {
  readonly sent = new Map<string, { at: number; backlog: boolean }>();
  private readonly receivedAt = new Map<string, number>();
  readonly processed = new Map<string, Array<{ at: number; receivedAt: number; stolenFrom?: string; region: string }>>();
  readonly crashed = new Set<string>();
  /** Workers that received a copy, by region. */
  private readonly receiving = new Map<string, Set<string>>();

  readonly onEvent = (event: WorkerEvent) => {
    const id = event.requestId;
    if (!id || !this.sent.has(id)) return;
    const key = `${id}|${event.workerId}|${event.messageId}`;
    if (event.kind === 'received') {
      this.receivedAt.set(key, event.at);
      const workers = this.receiving.get(event.region) ?? new Set<string>();
      this.receiving.set(event.region, workers.add(event.workerId));
    }
    else if (event.kind === 'crashed') this.crashed.add(id);
    else if (event.kind === 'processed') {
      const list = this.processed.get(id) ?? [];
      list.push({ at: event.at, receivedAt: this.receivedAt.get(key) ?? event.at, region: event.region, ...(event.stolenFrom ? { stolenFrom: event.stolenFrom } : {}) });
      this.processed.set(id, list);
    }
  };

  receivers(region: string) {
    return this.receiving.get(region)?.size ?? 0;
  }

  count(id: string) {
    return this.processed.get(id)?.length ?? 0;
  }

  unprocessed(filter: (id: string) => boolean = () => true) {
    return [...this.sent.keys()].filter((id) => filter(id) && this.count(id) === 0);
  }

  check(): ProcessingCheck {
    let once = 0;
    let twice = 0;
    let never = 0;
    for (const id of this.sent.keys()) {
      const n = this.count(id);
      if (n === 1) once += 1;
      else if (n > 1) twice += 1;
      else never += 1;
    }
    return { sent: this.sent.size, once, twice, never };
  }
}

/** One stack with its three pools: presence always, stealing when asked. */
class Trial {
  private readonly dynamo: DynamoDBClient;
  private readonly clients: Record<string, SQSClient> = {};
  readonly pools: Record<string, Workers> = {};
  readonly ledger = new Ledger();
  private index = 0;

  private constructor(
    readonly stack: LocalStack,
    readonly stealing: boolean,
    private readonly options: StealingLocalOptions,
    private readonly label: string,
  ) {
    const d = stack.description;
    this.dynamo = new DynamoDBClient({ region: d.homeRegion, endpoint: d.endpoints.dynamodb, credentials: LOCAL_CREDENTIALS, maxAttempts: 2 });
    for (const [region, endpoint] of Object.entries(d.endpoints.sqs)) this.clients[region] = sqsAt(region, endpoint);
  }

  static async start(stealing: boolean, options: StealingLocalOptions, label: string) {
    const stack = await startLocalStack({
      regions: REGIONS,
      masterVisibilitySeconds: 60,
      batchWindowSeconds: 0.5,
      pollers: 2,
      regionalVisibilitySeconds: VISIBILITY_SECONDS,
      // Stopped only once the master queue is idle: its long polls are cut rather than waited for.
      quickStop: true,
    });
    return new Trial(stack, stealing, options, label);
  }

  get table() {
    return { client: this.dynamo, tableName: this.stack.description.tableName };
  }

  startPool(region: string) {
    const d = this.stack.description;
    const own = d.regions.find((r) => r.region === region);
    if (!own) throw new Error(`no region ${region}`);
    const others = d.regions.filter((o) => o.region !== region);
    const presence = { tableName: d.tableName, client: this.dynamo };
    this.pools[region] = startWorkers({
      region,
      client: this.clients[region] as SQSClient,
      queueUrl: own.queueUrl,
      ...(own.highQueueUrl ? { highQueueUrl: own.highQueueUrl } : {}),
      workers: own.capacity,
      secondsPerRequest: this.options.service,
      fence: { tableName: d.tableName, client: this.dynamo, leaseSeconds: VISIBILITY_SECONDS },
      presence: { ...presence, ...PRESENCE_TIMING },
      ...(this.stealing
        ? {
            stealing: {
              settings: { allowRegions: others.map((o) => o.region), checkEverySeconds: checkEveryFor(this.options.service) },
              regions: others.map((o) => ({
                region: o.region,
                client: this.clients[o.region] as SQSClient,
                queues: { normal: o.queueUrl, ...(o.highQueueUrl ? { high: o.highQueueUrl } : {}) },
              })),
              presence,
            },
          }
        : {}),
      onEvent: this.ledger.onEvent,
      onError: () => undefined,
      // Stopped only once its own queue is idle (a killed pool's queue is no other pool's own).
      abortReceivesOnStop: true,
    });
  }

  /** Sends requests to the master queue, 10 a batch, each stamped with its send time. */
  async send(count: number, backlog: boolean) {
    const home = this.clients[HOME_REGION] as SQSClient;
    for (let done = 0; done < count; done += 10) {
      const chunk = Array.from({ length: Math.min(10, count - done) }, () => {
        const index = this.index++;
        return { index, id: `${this.label}-${backlog ? 'backlog' : 'load'}-${index}` };
      });
      const at = Date.now();
      for (const r of chunk) this.ledger.sent.set(r.id, { at, backlog });
      await home.send(
        new SendMessageBatchCommand({
          QueueUrl: this.stack.description.masterQueueUrl,
          Entries: chunk.map((r, j) => ({ Id: String(j), MessageBody: JSON.stringify(makeRequest(r.index, { requestId: r.id })) })),
        }),
      );
    }
  }

  /** Poisson arrivals at `perSecond` for `seconds`; `tick` after each send. */
  async arrivals(perSecond: number, seconds: number, random: () => number, tick: () => void) {
    const started = Date.now();
    let due = started;
    while (due < started + seconds * 1000) {
      due += (-Math.log(1 - random()) / perSecond) * 1000;
      const ahead = due - Date.now();
      if (ahead > 0) await sleep(ahead);
      await this.send(1, false);
      tick();
    }
  }

  private async depthOf(region: string, url: string) {
    const { Attributes: a = {} } = await (this.clients[region] as SQSClient).send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
      }),
    );
    return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) + Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
  }

  /** Messages in the master lanes and each region's lanes (`queues`), and in every DLQ. */
  async depths(): Promise<{ master: number; regions: Record<string, number>; deadLettered: number }> {
    const d = this.stack.description;
    const some = (urls: Array<string | undefined>, region: string) =>
      Promise.all(urls.filter((u): u is string => Boolean(u)).map((u) => this.depthOf(region, u))).then((n) => n.reduce((a, b) => a + b, 0));
    const [master, deadMaster, regions, deadRegions] = await Promise.all([
      some([d.masterQueueUrl, d.masterHighQueueUrl], d.homeRegion),
      some([d.masterDeadLetterQueueUrl, d.masterHighDeadLetterQueueUrl, d.dispatchDeadLetterQueueUrl], d.homeRegion),
      Promise.all(d.regions.map(async (r) => [r.region, await some([r.queueUrl, r.highQueueUrl], r.region)] as const)),
      Promise.all(d.regions.map((r) => some([r.deadLetterQueueUrl, r.highDeadLetterQueueUrl], r.region))),
    ]);
    return { master, regions: Object.fromEntries(regions), deadLettered: deadMaster + deadRegions.reduce((a, b) => a + b, 0) };
  }

  stolen(from?: string) {
    let n = 0;
    for (const list of this.ledger.processed.values()) for (const p of list) if (p.stolenFrom && (!from || p.stolenFrom === from)) n += 1;
    return n;
  }

  async stop() {
    await Promise.all(Object.values(this.pools).map((p) => p.stop()));
    for (const c of Object.values(this.clients)) c.destroy();
    this.dynamo.destroy();
    await this.stack.stop();
  }
}

const ticker = (progress: Progress, label: string, trial: Trial, started: number) => {
  let last = 0;
  return () => {
    if (Date.now() - last < 1000) return;
    last = Date.now();
    const processed = trial.ledger.processed.size;
    progress(`\r  ${label}: ${trial.ledger.sent.size} sent, ${processed} processed, ${Math.round((Date.now() - started) / 1000)} s`);
  };
};

/** Experiment 1: steady Poisson load on the 1:2:4 fleet, stealing off or on. */
export async function steady(stealing: boolean, seed: number, options: StealingLocalOptions, progress: Progress = () => undefined): Promise<SteadyResult> {
  const label = `steady-${stealing ? 'on' : 'off'}-${seed}`;
  const trial = await Trial.start(stealing, options, label);
  try {
    for (const r of REGIONS) trial.startPool(r.region);
    const started = Date.now();
    const tick = ticker(progress, `steady, stealing ${stealing ? 'on' : 'off'}`, trial, started);
    await trial.arrivals((options.load * FLEET_WORKERS) / options.service, options.seconds, seededRandom(seed), tick);
    // Let what was sent be processed (bounded).
    const until = Date.now() + Math.max(60_000, options.seconds * 2000);
    while (trial.ledger.unprocessed().length && Date.now() < until) {
      await sleep(200);
      tick();
    }
    progress('\n');
    const waits: number[] = [];
    for (const [id, list] of trial.ledger.processed) {
      const first = list[0];
      const sent = trial.ledger.sent.get(id);
      if (first && sent) waits.push((first.receivedAt - sent.at) / 1000);
    }
    const processing = trial.ledger.check();
    const stolen = trial.stolen();
    return { stealing, wait: summarize(waits), stolen, stolenShare: processing.sent ? stolen / processing.sent : 0, processing };
  } finally {
    await trial.stop();
  }
}

/** Experiment 2: us-west-2 holds a backlog and loses its fleet under a light load elsewhere, stealing off or on. */
export async function lostFleet(stealing: boolean, seed: number, options: StealingLocalOptions, progress: Progress = () => undefined): Promise<LostResult> {
  const label = `lost-${stealing ? 'on' : 'off'}-${seed}`;
  const trial = await Trial.start(stealing, options, label);
  const drained = REGIONS.map((r) => r.region).filter((r) => r !== LOST_REGION);
  try {
    // The backlog, dispatched to us-west-2 alone: the other regions drained by an operator's setting.
    await Promise.all(drained.map((r) => writeCapacity(trial.table, r, 0, 'bench:stealing:local (backlog)')));
    await trial.send(options.backlog, true);
    const backlogDeadline = Date.now() + 60_000;
    for (;;) {
      const depths = await trial.depths();
      if (depths.master === 0 && (depths.regions[LOST_REGION] ?? 0) >= options.backlog) break;
      if (Date.now() > backlogDeadline) throw new Error(`the backlog did not reach ${LOST_REGION} within 60 s: ${JSON.stringify(depths)}`);
      await sleep(200);
    }
    await Promise.all(drained.map((r) => clearCapacity(trial.table, r)));
    // The dispatcher keeps capacity settings for up to HEALTH_CACHE_MS: let the cleared ones be read.
    await sleep(HEALTH_CACHE_MS + 200);
    for (const r of REGIONS) trial.startPool(r.region);
    const started = Date.now();
    const tick = ticker(progress, `lost fleet, stealing ${stealing ? 'on' : 'off'}`, trial, started);
    const random = seededRandom(seed);
    const load = trial.arrivals((options.lostLoad * FLEET_WORKERS) / options.service, options.seconds, random, tick);
    // Awaited after the kill; a failure meanwhile is not left unhandled.
    load.catch(() => undefined);
    // us-west-2's fleet reported itself and each of its workers took a copy: it vanishes, none restarting.
    const lostWorkers = REGIONS.find((r) => r.region === LOST_REGION)?.capacity ?? 0;
    const killDeadline = Date.now() + 10_000;
    while (trial.ledger.receivers(LOST_REGION) < lostWorkers && Date.now() < killDeadline) await sleep(20);
    await trial.pools[LOST_REGION]?.kill();
    const killedAt = Date.now();
    const backlogIds = [...trial.ledger.sent].filter(([, s]) => s.backlog).map(([id]) => id);
    const atKill = backlogIds.filter((id) => trial.ledger.count(id) === 0);
    await load;
    // Stealing on: until the backlog is processed (bounded); off: until everything that can be is.
    const until = Date.now() + Math.max(60_000, options.seconds * 4000);
    for (;;) {
      tick();
      if (Date.now() > until) break;
      if (stealing) {
        if (trial.ledger.unprocessed().length === 0) break;
      } else {
        const depths = await trial.depths();
        const elsewhere = depths.master + Object.entries(depths.regions).filter(([r]) => r !== LOST_REGION).reduce((n, [, d]) => n + d, 0);
        const visibleBack = Date.now() > killedAt + VISIBILITY_SECONDS * 1000 + 500;
        if (elsewhere === 0 && visibleBack && trial.ledger.unprocessed().length === (depths.regions[LOST_REGION] ?? 0)) break;
      }
      await sleep(200);
    }
    const ranFor = (Date.now() - killedAt) / 1000;
    progress('\n');
    const atKillSet = new Set(atKill);
    const held = atKill.filter((id) => trial.ledger.crashed.has(id));
    const done = (ids: string[]) => {
      if (!ids.length) return 0;
      let last = killedAt;
      for (const id of ids) {
        const list = trial.ledger.processed.get(id);
        if (!list?.length) return undefined;
        last = Math.max(last, ...list.map((p) => p.at));
      }
      return (last - killedAt) / 1000;
    };
    const drainedAfter = done(atKill);
    const queuedDrainedAfter = done(atKill.filter((id) => !trial.ledger.crashed.has(id)));
    const backlogWaits: number[] = [];
    const otherWaits: number[] = [];
    for (const [id, list] of trial.ledger.processed) {
      const p = list[list.length - 1];
      const sent = trial.ledger.sent.get(id);
      if (!p || !sent) continue;
      if (atKillSet.has(id)) backlogWaits.push((p.receivedAt - killedAt) / 1000);
      else if (!sent.backlog) otherWaits.push((p.receivedAt - sent.at) / 1000);
    }
    const depths = await trial.depths();
    return {
      stealing,
      backlogAtKill: atKill.length,
      heldByKilled: held.length,
      ...(drainedAfter === undefined ? {} : { drainedAfter }),
      ...(queuedDrainedAfter === undefined ? {} : { queuedDrainedAfter }),
      backlogWait: summarize(backlogWaits),
      othersWait: summarize(otherWaits),
      backlogLeft: atKill.filter((id) => trial.ledger.count(id) === 0).length,
      unprocessed: trial.ledger.unprocessed().length,
      queuedAtEnd: depths.master + Object.values(depths.regions).reduce((a, b) => a + b, 0),
      deadLettered: depths.deadLettered,
      stolenFromLost: trial.stolen(LOST_REGION),
      ranFor,
      processing: trial.ledger.check(),
    };
  } finally {
    await trial.stop();
  }
}

export const spread = (values: readonly (number | undefined)[]): Spread => {
  const xs = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  if (!xs.length) return { mean: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0 };
  return { mean: xs.reduce((a, b) => a + b, 0) / xs.length, min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
};

/** Both experiments, stealing off and on, over `runs` seeds from `seed`. */
export async function stealingLocal(options: StealingLocalOptions, progress: Progress = () => undefined): Promise<StealingLocalResult> {
  const runs: RunResult[] = [];
  for (let i = 0; i < options.runs; i++) {
    const seed = options.seed + i;
    const step = (what: string) => progress(`run ${i + 1}/${options.runs} (seed ${seed}): ${what}\n`);
    step('steady load, stealing off');
    const steadyOff = await steady(false, seed, options, progress);
    step('steady load, stealing on');
    const steadyOn = await steady(true, seed, options, progress);
    step('lost fleet, stealing off');
    const lostOff = await lostFleet(false, seed, options, progress);
    step('lost fleet, stealing on');
    const lostOn = await lostFleet(true, seed, options, progress);
    runs.push({ seed, steady: { off: steadyOff, on: steadyOn }, lost: { off: lostOff, on: lostOn } });
  }
  const of = (f: (r: RunResult) => number | undefined) => spread(runs.map(f));
  const summary: Record<string, Spread> = {
    'steady off p50': of((r) => r.steady.off.wait.p50),
    'steady off p95': of((r) => r.steady.off.wait.p95),
    'steady off p99': of((r) => r.steady.off.wait.p99),
    'steady on p50': of((r) => r.steady.on.wait.p50),
    'steady on p95': of((r) => r.steady.on.wait.p95),
    'steady on p99': of((r) => r.steady.on.wait.p99),
    'steady p99 on / off': of((r) => r.steady.on.wait.p99 / r.steady.off.wait.p99),
    'steady stolen share': of((r) => r.steady.on.stolenShare),
    'lost on drained after': of((r) => r.lost.on.drainedAfter),
    'lost on queued drained after': of((r) => r.lost.on.queuedDrainedAfter),
    'lost on backlog p99': of((r) => r.lost.on.backlogWait.p99),
    'lost on others p99': of((r) => r.lost.on.othersWait.p99),
    'lost off backlog left': of((r) => r.lost.off.backlogLeft),
    'lost on backlog left': of((r) => r.lost.on.backlogLeft),
    'lost off unprocessed': of((r) => r.lost.off.unprocessed),
    'lost off others p99': of((r) => r.lost.off.othersWait.p99),
    'processed twice': of((r) => r.steady.off.processing.twice + r.steady.on.processing.twice + r.lost.off.processing.twice + r.lost.on.processing.twice),
    'steady never processed': of((r) => r.steady.off.processing.never + r.steady.on.processing.never),
  };
  return {
    settings: {
      ...options,
      checkEverySeconds: checkEveryFor(options.service),
      presence: PRESENCE_TIMING,
      visibilitySeconds: VISIBILITY_SECONDS,
      stealingSettings: 'shipped defaults (minBacklogPerWorker 1, otherHighFirst, fleetlessFirst) but checkEverySeconds',
    },
    runs,
    summary,
  };
}

const fraction = (flag: string, min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${flag} must be a number from ${min} to ${max}, got "${value}".`);
  return n;
};

const s2 = (v: number | undefined) => (v === undefined ? 'never' : fixed(v, 2));
const range = (x: Spread, digits = 2, unit = '') =>
  x.n ? `${fixed(x.mean, digits)}${unit} (${fixed(x.min, digits)}-${fixed(x.max, digits)}${unit})` : 'never';
const share = (x: Spread) => (x.n ? `${pct(x.mean)} (${pct(x.min)}-${pct(x.max)})` : '-');

function print(result: StealingLocalResult) {
  const { runs, summary, settings } = result;
  console.log(
    `Work stealing on the whole local stack: workers 1:2:4 (us-east-1, us-west-2, us-west-1) at ${settings.service} s a request; ` +
      `stealing settings: ${settings.stealingSettings} ${fixed(settings.checkEverySeconds, 2)} s (the shipped ${SHIPPED_CHECK_EVERY} s x ${settings.service} / ${SERVICE_SECONDS}); ` +
      `presence heartbeat ${settings.presence.heartbeatMs / 1000} s, lease ${settings.presence.leaseMs / 1000} s; seeds ${settings.seed}-${settings.seed + settings.runs - 1}.`,
  );
  console.log('');
  console.log(`1. Steady load, ${pct(settings.load)} of the fleet's throughput for ${settings.seconds} s: wait (send to the receive of the copy processed), s`);
  console.log(
    table([
      ['seed', 'requests', 'off p50', 'p95', 'p99', 'on p50', 'p95', 'p99', 'stolen', 'twice', 'never'],
      ...runs.map((r) => [
        String(r.seed),
        String(r.steady.on.processing.sent),
        fixed(r.steady.off.wait.p50, 2),
        fixed(r.steady.off.wait.p95, 2),
        fixed(r.steady.off.wait.p99, 2),
        fixed(r.steady.on.wait.p50, 2),
        fixed(r.steady.on.wait.p95, 2),
        fixed(r.steady.on.wait.p99, 2),
        `${r.steady.on.stolen} (${pct(r.steady.on.stolenShare)})`,
        String(r.steady.off.processing.twice + r.steady.on.processing.twice),
        String(r.steady.off.processing.never + r.steady.on.processing.never),
      ]),
    ]),
  );
  console.log('');
  console.log(
    `2. A lost fleet: ${settings.backlog} queued in ${LOST_REGION}, its pool killed (none restarting), ${pct(settings.lostLoad)} of the whole fleet's throughput ` +
      `for ${settings.seconds} s on the rest; times after the kill, s`,
  );
  console.log(
    table([
      ['seed', 'stealing', 'backlog at kill', 'held by killed', 'drained after', 'queued drained after', 'backlog p99', 'stolen from it', 'others p99', 'backlog left', 'unprocessed', 'queued at end', 'DLQ', 'twice'],
      ...runs.flatMap((r) =>
        [r.lost.off, r.lost.on].map((x) => [
          String(r.seed),
          x.stealing ? 'on' : 'off',
          String(x.backlogAtKill),
          String(x.heldByKilled),
          s2(x.drainedAfter),
          s2(x.queuedDrainedAfter),
          x.backlogWait.count ? fixed(x.backlogWait.p99, 2) : 'never',
          String(x.stolenFromLost),
          fixed(x.othersWait.p99, 2),
          String(x.backlogLeft),
          String(x.unprocessed),
          String(x.queuedAtEnd),
          String(x.deadLettered),
          String(x.processing.twice),
        ]),
      ),
    ]),
  );
  console.log('');
  console.log(`Mean over ${runs.length} run(s) (lowest-highest):`);
  console.log(
    table([
      ['figure', 'stealing off', 'stealing on'],
      ['steady p50 wait, s', range(summary['steady off p50'] as Spread), range(summary['steady on p50'] as Spread)],
      ['steady p95 wait, s', range(summary['steady off p95'] as Spread), range(summary['steady on p95'] as Spread)],
      ['steady p99 wait, s', range(summary['steady off p99'] as Spread), range(summary['steady on p99'] as Spread)],
      ['steady p99, on / off', '-', range(summary['steady p99 on / off'] as Spread, 3, 'x')],
      ['steady share stolen', '-', share(summary['steady stolen share'] as Spread)],
      ['lost fleet: backlog drained after, s', 'never', range(summary['lost on drained after'] as Spread, 1)],
      ['lost fleet: queued backlog drained after, s', 'never', range(summary['lost on queued drained after'] as Spread, 1)],
      ['lost fleet: backlog p99 wait after the kill, s', 'never', range(summary['lost on backlog p99'] as Spread, 1)],
      ['lost fleet: backlog still queued at the end', range(summary['lost off backlog left'] as Spread, 1), range(summary['lost on backlog left'] as Spread, 1)],
      ['lost fleet: others p99 wait, s', range(summary['lost off others p99'] as Spread), range(summary['lost on others p99'] as Spread)],
    ]),
  );
  const twice = runs.reduce((n, r) => n + r.steady.off.processing.twice + r.steady.on.processing.twice + r.lost.off.processing.twice + r.lost.on.processing.twice, 0);
  const steadyNever = runs.reduce((n, r) => n + r.steady.off.processing.never + r.steady.on.processing.never, 0);
  const lostOnNever = runs.reduce((n, r) => n + r.lost.on.processing.never, 0);
  const lostOffLost = runs.reduce((n, r) => n + (r.lost.off.unprocessed - r.lost.off.queuedAtEnd), 0);
  console.log('');
  console.log(
    `Processed twice: ${twice} (must be 0). Never processed: ${steadyNever} in the steady runs, ${lostOnNever} in the lost fleet with stealing (must be 0); ` +
      `with stealing off, ${runs.reduce((n, r) => n + r.lost.off.unprocessed, 0)} unprocessed, of which ${Math.max(0, lostOffLost)} not in any queue (must be 0).`,
  );
}

async function main(options: StealingLocalOptions) {
  process.stderr.write(
    `stealing on the local stack: ${options.runs} run(s) from seed ${options.seed}, ${options.seconds} s of arrivals per experiment, ` +
      `${options.service} s a request, load ${options.load}, lost-fleet load ${options.lostLoad}, backlog ${options.backlog}\n`,
  );
  const started = Date.now();
  const tty = process.stderr.isTTY;
  const result = await stealingLocal(options, (line) => {
    if (line.startsWith('\r') && !tty) return;
    process.stderr.write(line === '\n' && !tty ? '' : line);
  });
  process.stderr.write(`done in ${Math.round((Date.now() - started) / 1000)} s\n`);
  if (options.json) console.log(JSON.stringify(result, null, 2));
  else print(result);
}

const program = new Command('bench:stealing:local')
  .description('work stealing on the whole local stack: steady-load waits and a lost fleet, stealing off and on')
  .option('--seconds <n>', 'seconds of arrivals per experiment', secondsAtLeast('--seconds', 2, 3600), 10)
  .option('--load <fraction>', "steady arrivals as a fraction of the workers' throughput", fraction('--load', 0.05, 0.99), 0.7)
  .option('--lost-load <fraction>', "arrivals during the lost fleet, a fraction of the whole fleet's throughput", fraction('--lost-load', 0.05, 0.7), 0.5)
  .option('--backlog <n>', `requests queued in ${LOST_REGION} before its fleet is lost`, wholeNumber('--backlog', 1, 10_000), 100)
  .option('--service <seconds>', "a worker's seconds per request", secondsAtLeast('--service', 0.05, 10), 0.3)
  .option('--runs <n>', 'runs, one seed each (seed, seed+1, ...)', wholeNumber('--runs', 1, 100), 3)
  .option('--seed <n>', 'first seed of the arrivals', wholeNumber('--seed', 0), 1)
  .option('--json', 'print JSON')
  .action(async (options: StealingLocalOptions) => main(options));

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await program.parseAsync().catch((error: unknown) => {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  });
}
