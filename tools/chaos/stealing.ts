/**
 * The chaos scenarios of issue 20: workers that report presence and steal (tools/chaos/fleet.ts).
 *
 * - fleet-vanishes: every worker of one region killed mid-run with a backlog, none restarting. The other
 *   regions' workers drain its backlog by stealing, through the fence; once its presence leases have
 *   lapsed the dispatcher places nothing new there (within core/presence.ts vanishedFleetBoundSeconds).
 * - stealing-under-faults: stealing in every region while the nemesis's region faults are on (a region
 *   refusing sends, a region losing send answers, DynamoDB losing write answers): stolen copies are
 *   fenced like any other, so a request whose copy was stolen while its region's own worker held
 *   another copy is still processed once.
 *
 * Both are checked by the checker's accounting like every scenario (lost 0, processed twice 0, every copy
 * accounted for); the copies a worker stole are counted in the queue they came from (tools/chaos/observe.ts).
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { PRESENCE, leasesFromAttributes, presenceKey, vanishedFleetBoundSeconds } from '../../core/presence.js';
import { fleetCacheMs } from '../../functions/snapshot.js';
import type { WorkerEvent } from '../local/fleet/workers.js';
import { sqsAt } from '../local/resources.js';
import { runMix } from './cases.js';
import { BATCH_WINDOW_SECONDS, type Scenario, type ScenarioContext } from './harness.js';
import { CATALOGUE, type Fault } from './nemesis.js';
import { count, forms, holdUntil } from './scenario-kit.js';

const VICTIM = 'us-west-2';

/** What fleet-vanishes saw at the kill, by run. */
interface Vanished {
  /** When every worker was killed (epoch ms), and the victim's queues' depth then (visible and in flight). */
  readonly killedAt: number;
  readonly backlog: number;
  /** The last presence lease of its workers (epoch ms), read from the table after the kill. */
  readonly lastLeaseEnd: number;
  /** From then on no placement there: the last lease end plus the cache and the batching window. */
  readonly boundAt: number;
}
const vanished = new WeakMap<ScenarioContext, Vanished>();

const laneUrls = (ctx: ScenarioContext, region: string) => {
  const r = ctx.stack.description.regions.find((x) => x.region === region);
  return r ? [r.queueUrl, ...(r.highQueueUrl ? [r.highQueueUrl] : [])] : [];
};

/** Messages in a region's lanes, visible or in flight, read straight from its server. */
async function depth(client: SQSClient, urls: readonly string[]): Promise<number> {
  const all = await Promise.all(
    urls.map(async (url) => {
      const { Attributes: a = {} } = await client.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
      );
      return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
    }),
  );
  return all.reduce((a, n) => a + n, 0);
}

/**
 * How long after a region's last presence lease ends it can still be offered work, in a run: core/presence.ts
 * vanishedFleetBoundSeconds counts from the last renewal with the deployed lease (PRESENCE.leaseSeconds);
 * from the lease's end what remains is the dispatcher's cache of the presence items and one batching window.
 */
export const afterLeaseEndSeconds = (cacheTtlSeconds: number, batchWindowSeconds: number) =>
  vanishedFleetBoundSeconds(fleetCacheMs({ cacheTtlSeconds }) / 1000, batchWindowSeconds) - PRESENCE.leaseSeconds;

/** Placements in `region` from `after` on (epoch ms): the forwards' log, which the checker's send evidence comes from. */
export function placementsAfter(ctx: Pick<ScenarioContext, 'hooks'>, region: string, after: number): Array<{ at: number; requestId: string }> {
  const found: Array<{ at: number; requestId: string }> = [];
  for (const f of ctx.hooks.log.forwards) {
    if (f.at < after) continue;
    // An attempt there counts whatever came of it: the dispatcher chose the region.
    if (f.mode === 'primary' && f.region === region && f.outcome === 'threw') for (const requestId of f.asked ?? []) found.push({ at: f.at, requestId });
    for (const p of f.placements) if (p.region === region && (p.status === 'dispatched' || p.status === 'unconfirmed')) found.push({ at: f.at, requestId: p.requestId });
  }
  return found;
}

/** Copies stolen from `region` (distinct message ids) that a worker processed, received from `after` on. */
const stolenProcessed = (events: readonly WorkerEvent[], region: string, after = 0) => {
  const received = new Set(events.filter((e) => e.kind === 'received' && e.stolenFrom === region && e.at >= after).map((e) => e.messageId));
  return new Set(events.filter((e) => e.kind === 'processed' && e.stolenFrom === region && received.has(e.messageId)).map((e) => e.messageId));
};

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export const fleetVanishes: Scenario = {
  name: 'fleet-vanishes',
  injects: `workers report presence and steal in every region; once ${VICTIM} has a backlog (its workers slower), every worker of ${VICTIM} is killed, none restarting: the others drain its backlog by stealing, and once its presence leases have lapsed (4 s), give or take the dispatcher's cache (2 s) and one batching window (0.2 s), nothing new is placed there`,
  // A steady load that outlasts the bound by seconds, so that placements after it would show.
  ...forms({ requests: 100, repeats: 4, sendSeconds: 11, faultAtMs: 1500, faultSeconds: 2 }, { requests: 300, repeats: 30, sendSeconds: 20, faultAtMs: 3000, faultSeconds: 4 }),
  workers: { perRegion: 2, secondsPerRequest: 0.1 },
  fleet: { presence: true, stealing: true, secondsPerRequestIn: { [VICTIM]: 2 } },
  inject: async (ctx) => {
    const d = ctx.stack.description;
    const client = sqsAt(VICTIM, d.endpoints.sqs[VICTIM] as string);
    try {
      // Killed once its queues hold more than its two workers do (at most another window).
      await holdUntil(ctx, ctx.form.faultAtMs, async () => (await depth(client, laneUrls(ctx, VICTIM))) >= 3);
      const backlog = await depth(client, laneUrls(ctx, VICTIM));
      const pool = ctx.workers[VICTIM];
      if (!pool) throw new Error(`no workers in ${VICTIM}`);
      await pool.kill();
      const killedAt = Date.now();
      ctx.note(`every worker of ${VICTIM} killed, ${backlog} message(s) in its queues`);
      const { Item = {} } = await ctx.dynamo.send(new GetItemCommand({ TableName: d.tableName, Key: { request_id: { S: presenceKey(VICTIM) } }, ConsistentRead: true }));
      const leases = leasesFromAttributes(Object.fromEntries(Object.entries(Item).map(([k, v]) => [k, v.N ?? v.S])));
      const lastLeaseEnd = Math.max(killedAt, ...leases.values());
      const boundAt = lastLeaseEnd + afterLeaseEndSeconds(ctx.scale.cacheTtlSeconds, BATCH_WINDOW_SECONDS) * 1000;
      vanished.set(ctx, { killedAt, backlog, lastLeaseEnd, boundAt });
    } finally {
      client.destroy();
    }
  },
  proof: (ctx) => {
    const v = vanished.get(ctx);
    if (!v) return [];
    const stolen = stolenProcessed(ctx.workerEvents, VICTIM, v.killedAt);
    const held = ctx.workerEvents.filter((e) => e.kind === 'crashed' && e.region === VICTIM).length;
    const lastStolen = Math.max(v.killedAt, ...ctx.workerEvents.filter((e) => e.kind === 'processed' && e.stolenFrom === VICTIM).map((e) => e.at));
    const lastThere = Math.max(0, ...placementsAfter(ctx, VICTIM, 0).map((p) => p.at));
    const elsewhere = ctx.hooks.log.forwards.filter((f) => f.at > v.boundAt).flatMap((f) => f.placements.filter((p) => p.status === 'dispatched')).length;
    return [
      `${VICTIM} killed with ${v.backlog} message(s) in its queues (${held} held by its workers as they died)`,
      `${stolen.size} copies stolen from ${VICTIM} after the kill and processed by the other regions, the last ${seconds(lastStolen - v.killedAt)} after the kill`,
      `its last presence lease ended ${seconds(v.lastLeaseEnd - v.killedAt)} after the kill; its last placement ${seconds(Math.abs(lastThere - v.lastLeaseEnd))} ${lastThere > v.lastLeaseEnd ? 'after' : 'before'} that (allowed: up to ${seconds(v.boundAt - v.lastLeaseEnd)} after); ${elsewhere} placed elsewhere after that bound`,
    ];
  },
  expect: (ctx) => {
    const v = vanished.get(ctx);
    if (!v) return [`${VICTIM}'s workers were never killed`];
    const problems: string[] = [];
    const late = placementsAfter(ctx, VICTIM, v.boundAt);
    if (late.length) {
      problems.push(
        `${late.length} placement(s) in ${VICTIM} after the bound (${seconds(v.boundAt - v.lastLeaseEnd)} after its last lease ended): ${late
          .slice(0, 5)
          .map((p) => `${p.requestId} at +${seconds(p.at - v.lastLeaseEnd)}`)
          .join(', ')}`,
      );
    }
    if (!ctx.hooks.log.forwards.some((f) => f.at > v.boundAt && f.placements.some((p) => p.status === 'dispatched'))) {
      problems.push('no request was placed anywhere after the bound: the load ended too soon to show where placements went');
    }
    if (stolenProcessed(ctx.workerEvents, VICTIM, v.killedAt).size === 0) problems.push(`nothing stolen from ${VICTIM} after its workers were killed`);
    const afterKill = ctx.workerEvents.filter((e) => e.region === VICTIM && e.kind === 'processed' && e.at > v.killedAt).length;
    if (afterKill) problems.push(`${afterKill} copies processed by ${VICTIM}'s workers after they were killed`);
    return problems;
  },
};

/** The nemesis's faults this scenario arms together (tools/chaos/nemesis.ts CATALOGUE). */
const UNDER_FAULTS: ReadonlyArray<readonly [kind: string, region: string]> = [
  ['region refuses sends', 'us-west-2'],
  ['region loses answers', 'us-west-1'],
  ['DynamoDB loses answers', ''],
];
const underFaults = (): Fault[] =>
  UNDER_FAULTS.map(([kind, region]) => {
    const found = CATALOGUE.find((k) => k.kind === kind);
    if (!found) throw new Error(`no fault kind "${kind}" in the nemesis's catalogue`);
    return found.make(region);
  });
const mixes = new WeakMap<ScenarioContext, Fault[]>();

/**
 * Requests with a copy stolen from a region that the region's own workers also received a copy of (the
 * same copy or another), and copies received both by a thief and by an own worker.
 */
export function stolenMeetings(events: readonly WorkerEvent[]): { requests: number; copies: number } {
  const stolen = events.filter((e) => e.kind === 'received' && e.stolenFrom !== undefined);
  const own = events.filter((e) => e.kind === 'received' && e.stolenFrom === undefined);
  const ownRequests = new Set(own.map((e) => `${e.region}\u0000${e.requestId}`));
  const ownCopies = new Set(own.map((e) => `${e.region}\u0000${e.messageId}`));
  return {
    requests: new Set(stolen.filter((e) => ownRequests.has(`${e.stolenFrom}\u0000${e.requestId}`)).map((e) => e.requestId)).size,
    copies: new Set(stolen.filter((e) => ownCopies.has(`${e.stolenFrom}\u0000${e.messageId}`)).map((e) => e.messageId)).size,
  };
}

export const stealingUnderFaults: Scenario = {
  name: 'stealing-under-faults',
  injects:
    'workers report presence and steal in every region (us-west-1 the slowest, so it holds a backlog), while us-west-2 refuses sends (400), us-west-1 loses send answers (p 0.6) and DynamoDB loses write answers (p 0.3), all at once for the fault window: stolen copies are fenced like any other',
  ...forms({ requests: 80, repeats: 4, sendSeconds: 4, faultAtMs: 300, faultSeconds: 3 }, { faultSeconds: 4 }),
  workers: { perRegion: 1, secondsPerRequest: 0.1 },
  fleet: { presence: true, stealing: true, secondsPerRequestIn: { 'us-west-1': 1 } },
  inject: async (ctx) => {
    const mix = underFaults();
    mixes.set(ctx, mix);
    await runMix(ctx, mix);
  },
  proof: (ctx) => {
    const mix = mixes.get(ctx) ?? [];
    const fired = mix.flatMap((f) => f.fired(ctx).map((e) => `${f.name}: ${e}`));
    const stolen = ctx.workerEvents.filter((e) => e.kind === 'processed' && e.stolenFrom !== undefined);
    if (!fired.length || !stolen.length) return [];
    const from = new Map<string, number>();
    for (const e of stolen) from.set(e.stolenFrom as string, (from.get(e.stolenFrom as string) ?? 0) + 1);
    const met = stolenMeetings(ctx.workerEvents);
    const droppedStolen = ctx.workerEvents.filter((e) => e.kind === 'dropped' && e.stolenFrom !== undefined).length;
    return [
      ...fired,
      `${stolen.length} stolen copies processed (${[...from].map(([r, n]) => `${n} from ${r}`).join(', ')}); ${droppedStolen} stolen copies refused by the fence and dropped`,
      ...count(met.requests, "requests with a stolen copy whose region's own worker received a copy too"),
      ...count(met.copies, "copies received both by a thief and by their region's own worker"),
    ];
  },
  expect: (ctx) => {
    const mix = mixes.get(ctx) ?? [];
    return [
      ...mix.filter((f) => f.fired(ctx).length === 0).map((f) => `the fault "${f.name}" never fired`),
      ...(ctx.workerEvents.some((e) => e.kind === 'processed' && e.stolenFrom !== undefined) ? [] : ['no stolen copy was processed']),
    ];
  },
};
