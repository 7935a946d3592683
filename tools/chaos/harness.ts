/**
 * Runs one chaos scenario on its own embedded stack (tools/local/stack.ts with fault proxies, the chaos hooks
 * and fenced workers in every region): sends the planned load, lets the scenario inject its faults,
 * waits until everything has drained (or the scenario's limit), reads what is left, and hands it all to
 * the checker. Everything random comes from the seed.
 *
 * Time is scaled down (TIME_SCALE): a run lasts seconds, not hours, yet the deployment's order of
 * timeouts holds: worst-case execution < claim lease < master visibility timeout; the fence's lease <
 * the regional visibility timeout.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { seededRandom, type Random } from '../../core/random.js';
import { HOME_REGION } from '../../core/topology.js';
import { fleetCacheMs } from '../../functions/snapshot.js';
import { deriveSeed } from '../local/faults/prng.js';
import { LOCAL_CREDENTIALS, sqsAt } from '../local/resources.js';
import { startLocalStack, type LocalStack, type StackFaults } from '../local/stack.js';
import type { WorkerCopy, WorkerEvent, Workers } from '../local/fleet/workers.js';
import type { StealCounters } from '../../worker/stealing.js';
import { checkScenario, type CheckResult, type SentCopy } from './checker.js';
import { fromFaultLog, queueNameOf, type QueueMap } from './evidence.js';
import { chaosHooks, type ChaosHooks } from './hooks.js';
import { planLoad, requestBody, sendLoad, type PlannedMessage, type SendResult } from './load.js';
import { drainAll, fromWorkerEvents, inFlight, outstanding, scanRecords } from './observe.js';
import { startChaosFleet, type ChaosFleet, type FleetSpec } from './fleet.js';

/** The local time scale of a chaos run (deployed values in comments). */
export interface TimeScale {
  /** Master queue visibility timeout (600 s). */
  readonly masterVisibilitySeconds: number;
  /** Claim lease the workflow sees (300 s); below the master visibility timeout, above an execution. */
  readonly claimLeaseSeconds: number;
  /** Regional queues' visibility timeout (3600 s): a crashed worker's copy comes back after it. */
  readonly regionalVisibilitySeconds: number;
  /** The workers' fence lease (the regional visibility timeout): at least 1 s below it. */
  readonly fenceLeaseSeconds: number;
  /** How long a failing region gets no placements (30 s). */
  readonly regionHealthSeconds: number;
  /** SQS request timeout of the forward (3000 ms). */
  readonly sqsRequestTimeoutMs: number;
  /** Every Retry interval, cap and Wait of the workflow, scaled with the backoff kept (1 s -> 100 ms, 2 s, ...). */
  readonly retryScale: number;
  /** Depth readings cached (60 s). */
  readonly cacheTtlSeconds: number;
  /** Workers with presence (tools/chaos/fleet.ts): how often each renews its entry (20 s), and how long it counts (60 s). */
  readonly presenceHeartbeatSeconds: number;
  readonly presenceLeaseSeconds: number;
  /** Stealing workers: shortest time between two readings of the other regions (30 s, worker/stealing.ts). */
  readonly stealCheckSeconds: number;
}

export const TIME_SCALE: TimeScale = {
  masterVisibilitySeconds: 3,
  claimLeaseSeconds: 2,
  regionalVisibilitySeconds: 3,
  fenceLeaseSeconds: 2,
  regionHealthSeconds: 1,
  sqsRequestTimeoutMs: 400,
  retryScale: 0.1,
  cacheTtlSeconds: 1,
  // A lease read from the dispatcher's cache (functions/snapshot.ts fleetCacheMs: at least 2 s) must still
  // be running when counted: lease - heartbeat > the cache, as deployed (60 - 20 > 5). Checked in runScenario.
  presenceHeartbeatSeconds: 0.5,
  presenceLeaseSeconds: 4,
  stealCheckSeconds: 0.3,
};

/** The intake's batching window in a chaos run (the deployment's: stacks/settings.ts). */
export const BATCH_WINDOW_SECONDS = 0.2;

export type FormName = 'short' | 'long';

export interface ScenarioForm {
  /** Unique valid requests. */
  readonly requests: number;
  /** Extra messages repeating their request_ids. */
  readonly repeats: number;
  /** Spread of the sends. */
  readonly sendSeconds: number;
  /** When the fault starts (ms after the first send) and how long it lasts. */
  readonly faultAtMs: number;
  readonly faultSeconds: number;
  /** A fault's probability per request or call, where the scenario draws one. */
  readonly probability?: number;
  /** How many messages a storm sends for its one request_id. */
  readonly copies?: number;
  /** Give up waiting for the drain this long after the load and the faults are over. */
  readonly drainLimitSeconds: number;
}

export interface ScenarioContext {
  readonly name: string;
  readonly form: ScenarioForm;
  readonly formName: FormName;
  readonly seed: number;
  readonly scale: TimeScale;
  readonly stack: LocalStack & { readonly faults: StackFaults };
  readonly hooks: ChaosHooks;
  /** A PRNG of its own per purpose, derived from the seed: adding a draw somewhere changes nothing elsewhere. */
  random(purpose: string): Random;
  /** Resolves `ms` after the first send (at once if that is past). */
  at(ms: number): Promise<void>;
  /** Workers' events so far. */
  readonly workerEvents: readonly WorkerEvent[];
  /** Makes workers die while processing copies (see tools/local/fleet/workers.ts `crash`). */
  setWorkerCrash(crash: ((copy: WorkerCopy) => boolean) | undefined): void;
  /** A line for the report: what the scenario did when. */
  note(text: string): void;
  /** What a scenario drew at random (the combined nemesis's mix), printed with its report. */
  drew(text: string): void;
  /** A client on the idempotency table, straight to the server (capacity settings, say). */
  readonly dynamo: DynamoDBClient;
  /** Each region's workers (kill() a region's fleet); with `fleet`, the ones tools/chaos/fleet.ts started. */
  readonly workers: Readonly<Record<string, Workers>>;
  /** With `fleet`: the stealing counters over every region's workers so far. */
  steals(): StealCounters | undefined;
}

export interface Scenario {
  readonly name: string;
  /** What it injects, in one line. */
  readonly injects: string;
  readonly short: ScenarioForm;
  readonly long: ScenarioForm;
  readonly scale?: Partial<TimeScale>;
  readonly pollers?: number;
  /**
   * Simulated workers per region and their processing time (default 2 and 0.02 s): slower ones leave copies
   * queued longer. `clockSkewSeconds`: worker n's clock is off by entry n modulo the list (tools/local/fleet/workers.ts).
   */
  readonly workers?: { readonly perRegion: number; readonly secondsPerRequest: number; readonly clockSkewSeconds?: readonly number[] };
  /**
   * Workers that report presence and steal (issue 20): the harness starts them itself (tools/chaos/fleet.ts),
   * through the fault proxies, instead of the stack's (which have neither). Not with `clockSkewSeconds`.
   */
  readonly fleet?: FleetSpec;
  /** Messages beside the planned requests (a storm, the bad-input corpus). */
  extraLoad?(form: ScenarioForm, random: Random, prefix: string): PlannedMessage[];
  /** Arms and heals the fault on schedule; resolves once the fault is over. */
  inject(ctx: ScenarioContext): Promise<void>;
  /** Evidence that the fault happened (fault proxies' stats, hook counters): one sentence each; none = it never fired. */
  proof(ctx: ScenarioContext, check: CheckResult): string[];
  /** What this scenario requires beyond the checker's rules: one problem each (none = met). */
  expect?(ctx: ScenarioContext, check: CheckResult): string[];
  /** Run by `npm run chaos` (long form) and by name only: the short suite leaves it out to stay fast. */
  readonly longOnly?: boolean;
}

export interface ScenarioReport {
  readonly scenario: string;
  readonly form: FormName;
  readonly seed: number;
  readonly injects: string;
  /** What the scenario drew at random, if anything (the combined nemesis's mix). */
  readonly drawn?: string;
  readonly check: CheckResult;
  readonly fired: { readonly ok: boolean; readonly evidence: readonly string[] };
  /** SQS refused at send: expected (corpus) and not. */
  readonly send: { readonly refusedAsExpected: number; readonly refusedUnexpectedly: readonly string[]; readonly acceptedUnexpectedly: readonly string[] };
  readonly notes: readonly string[];
  readonly faults: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly wallMs: number;
  /** Passed: the checker found nothing wrong, the fault fired, and SQS took what it should. */
  readonly ok: boolean;
  readonly problems: readonly string[];
}

export interface RunOptions {
  readonly seed: number;
  readonly form: FormName;
  /** A line now and then about where the run is. */
  readonly onStatus?: (status: string) => void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export const scenarioSeed = (seed: number, name: string) => deriveSeed(seed, [...name].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0, 0x811c9dc5));

const WORKERS_PER_REGION = 2;
const SECONDS_PER_REQUEST = 0.02;

export async function runScenario(scenario: Scenario, options: RunOptions): Promise<ScenarioReport> {
  const began = Date.now();
  const form = scenario[options.form];
  const scale = { ...TIME_SCALE, ...scenario.scale };
  const seed = scenarioSeed(options.seed, scenario.name);
  const random = (purpose: string) => seededRandom(deriveSeed(seed, [...purpose].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7)));
  const status = (text: string) => options.onStatus?.(`${scenario.name}: ${text}`);
  const presenceCacheSeconds = fleetCacheMs({ cacheTtlSeconds: scale.cacheTtlSeconds }) / 1000;
  if (scenario.fleet?.presence && scale.presenceLeaseSeconds - scale.presenceHeartbeatSeconds <= presenceCacheSeconds) {
    // Else live workers look lapsed in every region, all are weighed as configured, and a vanished fleet still gets work.
    throw new RangeError(
      `${scenario.name}: a presence lease of ${scale.presenceLeaseSeconds} s renewed every ${scale.presenceHeartbeatSeconds} s can lapse while the dispatcher caches it (${presenceCacheSeconds} s)`,
    );
  }
  const hooks = chaosHooks();
  const workerEvents: WorkerEvent[] = [];
  const notes: string[] = [];
  let drawn: string | undefined;
  let crash: ((copy: WorkerCopy) => boolean) | undefined;

  status('starting the stack');
  const stack = await startLocalStack({
    stage: 'chaos',
    faults: true,
    faultOptions: { seed, logBodies: true },
    wrap: hooks.wrap,
    pollers: scenario.pollers ?? 3,
    batchWindowSeconds: BATCH_WINDOW_SECONDS,
    masterVisibilitySeconds: scale.masterVisibilitySeconds,
    regionalVisibilitySeconds: scale.regionalVisibilitySeconds,
    claimLeaseSeconds: scale.claimLeaseSeconds,
    fenceLeaseSeconds: scale.fenceLeaseSeconds,
    retryScale: scale.retryScale,
    env: { regionHealthSeconds: scale.regionHealthSeconds, sqsRequestTimeoutMs: scale.sqsRequestTimeoutMs, cacheTtlSeconds: scale.cacheTtlSeconds },
    // With `fleet` the harness starts the workers itself (below).
    ...(scenario.fleet
      ? {}
      : {
          workers: Object.fromEntries(
            ['us-east-1', 'us-west-2', 'us-west-1'].map((region) => [
              region,
              { workers: scenario.workers?.perRegion ?? WORKERS_PER_REGION, secondsPerRequest: scenario.workers?.secondsPerRequest ?? SECONDS_PER_REQUEST },
            ]),
          ),
        }),
    ...(scenario.workers?.clockSkewSeconds ? { workerClockSkewSeconds: scenario.workers.clockSkewSeconds } : {}),
    workerCrash: (copy) => crash?.(copy) ?? false,
    onWorkerEvent: (event) => void workerEvents.push(event),
    // Consumers are stopped only once the queues are idle, or after the drain limit, when what a cut
    // receive hid is waited for (below).
    quickStop: true,
  });
  let fleet: ChaosFleet | undefined;
  try {
    fleet = scenario.fleet
      ? startChaosFleet(stack, scenario.fleet, scale, {
          perRegion: scenario.workers?.perRegion ?? WORKERS_PER_REGION,
          secondsPerRequest: scenario.workers?.secondsPerRequest ?? SECONDS_PER_REQUEST,
          crash: (copy) => crash?.(copy) ?? false,
          onEvent: (event) => void workerEvents.push(event),
        })
      : undefined;
  } catch (error) {
    await stack.stop();
    throw error;
  }
  const d = stack.description;
  const clients = new Map<string, SQSClient>();
  const sqs = (region: string) => {
    let client = clients.get(region);
    if (!client) clients.set(region, (client = sqsAt(region, d.endpoints.sqs[region] as string)));
    return client;
  };
  const dynamo = new DynamoDBClient({ region: HOME_REGION, endpoint: d.endpoints.dynamodb, credentials: LOCAL_CREDENTIALS, maxAttempts: 2 });
  let startMs = Date.now();
  const ctx: ScenarioContext = {
    name: scenario.name,
    form,
    formName: options.form,
    seed,
    scale,
    stack: stack as LocalStack & { faults: StackFaults },
    hooks,
    random,
    at: (ms) => sleep(Math.max(0, startMs + ms - Date.now())),
    workerEvents,
    setWorkerCrash: (next) => {
      crash = next;
    },
    note: (text) => void notes.push(`+${((Date.now() - startMs) / 1000).toFixed(1)} s ${text}`),
    drew: (text) => {
      drawn = text;
      status(`drew ${text}`);
    },
    dynamo,
    workers: fleet?.pools ?? stack.workers,
    steals: () => fleet?.steals(),
  };

  try {
    const prefix = `req-${scenario.name}-${options.seed}`;
    status('warming up');
    await warmUp(sqs(HOME_REGION), d.masterQueueUrl, `${prefix}-warmup`, workerEvents);
    const plan = planLoad(
      { prefix, requests: form.requests, repeats: form.repeats, sendSeconds: form.sendSeconds },
      random('load'),
      scenario.extraLoad?.(form, random('extra load'), prefix) ?? [],
    );
    status(`sending ${plan.length} messages`);
    startMs = Date.now();
    const [sent] = (await Promise.all([
      sendLoad(sqs(HOME_REGION), d.masterQueueUrl, plan, startMs),
      scenario.inject(ctx).finally(() => heal(stack)),
    ])) as [SendResult, void];
    status('draining');
    const deadline = Date.now() + form.drainLimitSeconds * 1000;
    let drainMs: number | undefined;
    let quietSince: number | undefined;
    while (Date.now() < deadline) {
      const left = hooks.background() + (await outstanding(sqs, d));
      if (left === 0) {
        quietSince ??= Date.now();
        // Twice in a row, a moment apart: a message between a receive and its batch counts as in flight.
        if (Date.now() - quietSince >= 300) {
          drainMs = quietSince - startMs;
          break;
        }
      } else {
        quietSince = undefined;
      }
      await sleep(100);
    }
    status(drainMs === undefined ? 'not drained in time: collecting what is left' : 'drained: collecting');
    await Promise.all([stack.stopConsumers(), fleet?.stop()]);
    if (drainMs === undefined) {
      // What was in flight comes back once its visibility timeout ends: wait for it, then read it.
      const until = Date.now() + (Math.max(scale.masterVisibilitySeconds, scale.regionalVisibilitySeconds) + 1) * 1000;
      while (Date.now() < until && (await inFlight(sqs, d)) > 0) await sleep(200);
    }
    const left = await drainAll(sqs, d);
    const records = await scanRecords(dynamo, d.tableName);
    const { work, copies } = fromWorkerEvents(workerEvents);
    const queues: QueueMap = {
      // Both lanes of a region (core/lanes.ts).
      regional: new Map(d.regions.flatMap((r) => [r.queueUrl, ...(r.highQueueUrl ? [r.highQueueUrl] : [])].map((url) => [queueNameOf(url), r.region] as const))),
      deadLetter: new Set([queueNameOf(d.dispatchDeadLetterQueueUrl)]),
    };
    const fromProxies = Object.values(stack.faults?.sqs ?? {}).map((proxy) => fromFaultLog(proxy.stats.faults(), queues, proxy.stats.abandoned()));
    const sends = hooks.sends();
    const unansweredSends: SentCopy[] = [...fromProxies.flatMap((e) => e.unansweredSends), ...sends.unconfirmed];
    const check = checkScenario(sent.sent, {
      messages: [...copies, ...left],
      work,
      records,
      evidence: {
        unansweredSends,
        crashedForwards: sends.crashed,
        confirmedSends: sends.confirmed,
        unansweredAttempts: sends.unansweredAttempts,
        unansweredDeadLetters: fromProxies.flatMap((e) => e.unansweredDeadLetters),
      },
      ...(drainMs === undefined ? {} : { drainMs }),
    });
    const evidence = scenario.proof(ctx, check);
    const unmet = scenario.expect?.(ctx, check) ?? [];
    const refusedUnexpectedly = sent.refused.filter((r) => !r.expected).map((r) => `${r.planned.caseName ?? r.planned.requestId ?? 'message'}: ${r.error}`);
    const acceptedUnexpectedly = sent.unexpectedlyAccepted.map((p) => p.caseName ?? '?');
    const problems = [
      ...check.problems,
      ...(evidence.length ? [] : [`the fault never fired (${drawn ?? scenario.injects})`]),
      ...unmet,
      ...refusedUnexpectedly.map((r) => `the master queue refused ${r}`),
      ...acceptedUnexpectedly.map((c) => `SQS took ${c}, which the corpus says it refuses`),
    ];
    return {
      scenario: scenario.name,
      form: options.form,
      seed: options.seed,
      injects: scenario.injects,
      ...(drawn === undefined ? {} : { drawn }),
      check,
      fired: { ok: evidence.length > 0, evidence },
      send: { refusedAsExpected: sent.refused.filter((r) => r.expected).length, refusedUnexpectedly, acceptedUnexpectedly },
      notes,
      faults: faultCounts(stack, hooks, workerEvents),
      wallMs: Date.now() - began,
      ok: problems.length === 0,
      problems,
    };
  } finally {
    await fleet?.close();
    for (const client of clients.values()) client.destroy();
    dynamo.destroy();
    await stack.stop();
  }
}

/**
 * A few requests through the whole chain before the load (not counted): the first execution of a fresh
 * process compiles the state machine's interpreter and the handlers, and a fault window timed against a
 * cold start would miss the traffic it was meant for.
 */
async function warmUp(client: SQSClient, queueUrl: string, prefix: string, events: readonly WorkerEvent[]): Promise<void> {
  const ids = [0, 1, 2].map((i) => `${prefix}-${i}`);
  await sendLoad(
    client,
    queueUrl,
    ids.map((requestId) => ({ body: requestBody(requestId, () => 0.5), kind: 'request', requestId, atMs: 0 })),
    Date.now(),
  );
  const until = Date.now() + 10_000;
  const done = () => ids.every((id) => events.some((e) => e.kind === 'processed' && e.requestId === id));
  while (!done() && Date.now() < until) await sleep(50);
}

/** Every fault cleared, every proxy up: what a scenario armed must not outlive it. */
export async function heal(stack: LocalStack): Promise<void> {
  const proxies = stack.faults ? [stack.faults.dynamodb, stack.faults.stepFunctions, ...Object.values(stack.faults.sqs)] : [];
  for (const proxy of proxies) {
    proxy.rules.clear();
    await proxy.setDown(false);
  }
}

/** Faults by where and what (proxy stats, hook crashes, worker crashes), for the report. */
function faultCounts(stack: LocalStack, hooks: ChaosHooks, events: readonly WorkerEvent[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  const proxies = stack.faults ? [stack.faults.dynamodb, stack.faults.stepFunctions, ...Object.values(stack.faults.sqs)] : [];
  for (const proxy of proxies) {
    const counts: Record<string, number> = {};
    for (const f of proxy.stats.faults()) counts[`${f.action} ${f.mode}`] = (counts[`${f.action} ${f.mode}`] ?? 0) + 1;
    if (proxy.downPeriods().length) counts.down = proxy.downPeriods().length;
    // Not injected: callers whose own request timeout fired while the target worked (a slow machine).
    for (const a of proxy.stats.abandoned()) counts[`${a.action} caller hung up`] = (counts[`${a.action} caller hung up`] ?? 0) + 1;
    if (Object.keys(counts).length) out[proxy.name] = counts;
  }
  const crashes = hooks.crashes();
  if (crashes.forward) out.forward = { 'crashed after sending': crashes.forward };
  if (crashes.intake) out.intake = { crashed: crashes.intake };
  const workerCrashes = events.filter((e) => e.kind === 'crashed').length;
  if (workerCrashes) out.workers = { crashed: workerCrashes };
  return out;
}
