/**
 * The cases of issue 16 the chaos harness can express at the wire (1: a send stored then answered 500
 * whose retry is refused; 4: two drained regions and the third refusing; 5: UpdateItem throttled past
 * the commit's retries; 6: workers' clocks skewed by +-5 minutes; 7: jobs longer than the fence lease),
 * and the combined nemesis's scenario (tools/chaos/nemesis.ts). Each names its fault and proves it fired, as
 * tools/chaos/scenarios.ts does.
 */
import { clearCapacity, writeCapacity } from '../../aws/capacity.js';
import type { WorkerEvent } from '../local/fleet/workers.js';
import type { Scenario, ScenarioContext } from './harness.js';
import { drawMix, type Fault } from './nemesis.js';
import { count, faults, forms, proxy, sendFaults, window, windowed } from './scenario-kit.js';
import { WINDOWS } from './windows.js';

interface SendBody {
  readonly Entries?: ReadonlyArray<{ readonly MessageAttributes?: Readonly<Record<string, { readonly StringValue?: string }>> }>;
}
const requestIdsIn = (body: unknown) => ((body as SendBody | undefined)?.Entries ?? []).map((e) => e.MessageAttributes?.request_id?.StringValue ?? '');

/** Case 1: the first send of each request stored then answered 500, every later send of it refused 400. */
export const storedThenRefused: Scenario = {
  name: 'stored-then-refused',
  injects:
    "us-west-2 stores each request's first SendMessageBatch and answers 500, and refuses (400) every later send of that request: the retry's refusal must not fail over what the first send may have delivered (issue 16, case 1)",
  ...forms(),
  workers: { perRegion: 1, secondsPerRequest: 0.25 },
  inject: (ctx) => {
    const west = proxy(ctx, 'us-west-2');
    const seen = new Set<string>();
    return window(
      ctx,
      () => {
        // Tried in order: a batch whose every request was sent before is a retry, refused; any other is stored.
        west.rules.add({
          name: 'refuse retries',
          actions: ['SendMessageBatch'],
          mode: 'error',
          error: 'throttle',
          when: (body) => requestIdsIn(body).length > 0 && requestIdsIn(body).every((id) => seen.has(id)),
        });
        west.rules.add({
          name: 'store, then answer 500',
          actions: ['SendMessageBatch'],
          mode: 'lose-answer',
          then: 'error',
          when: (body) => (requestIdsIn(body).forEach((id) => seen.add(id)), true),
        });
      },
      () => west.rules.clear(),
      () => sendFaults(ctx, 'us-west-2', 'lose-answer') > 0 && sendFaults(ctx, 'us-west-2', 'error') > 0,
    );
  },
  proof: (ctx, check) => {
    const stored = sendFaults(ctx, 'us-west-2', 'lose-answer');
    const refused = sendFaults(ctx, 'us-west-2', 'error');
    return stored && refused
      ? [
          `${stored} SendMessageBatch calls stored by us-west-2 and answered 500`,
          `${refused} later sends of the same requests refused 400`,
          ...count(windowed(check, WINDOWS.unconfirmedSend) + windowed(check, WINDOWS.ambiguousFailover), 'extra copies they left, each explained'),
        ]
      : [];
  },
};

const DRAINED = ['us-east-1', 'us-west-2'] as const;

/** Case 4: two regions drained to capacity 0, the third refusing: the drained ones are the failover of last resort. */
export const drainedLastResort: Scenario = {
  name: 'drained-last-resort',
  injects:
    'us-east-1 and us-west-2 drained (capacity 0, set in the table) and us-west-1 answering every send 400 for the fault window: no request may be dead-lettered while two drained regions could take it (issue 16, case 4)',
  // The fault starts once the snapshot has read the settings (depth readings are cached 1 s).
  ...forms({ sendSeconds: 3, faultAtMs: 1200, faultSeconds: 1.5 }, { faultAtMs: 1500 }),
  longOnly: true,
  inject: async (ctx) => {
    const table = { client: ctx.dynamo, tableName: ctx.stack.description.tableName };
    await Promise.all(DRAINED.map((r) => writeCapacity(table, r, 0, 'chaos: drained')));
    ctx.note(`${DRAINED.join(' and ')} drained (capacity 0)`);
    try {
      await window(
        ctx,
        () => proxy(ctx, 'us-west-1').rules.add({ name: 'refuse sends', actions: ['SendMessageBatch'], mode: 'error', error: 'throttle' }),
        () => proxy(ctx, 'us-west-1').rules.clear(),
        () => sendFaults(ctx, 'us-west-1', 'error') > 0 && ctx.hooks.log.forwards.some((f) => f.mode === 'failover'),
      );
    } finally {
      await Promise.all(DRAINED.map((r) => clearCapacity(table, r)));
    }
  },
  proof: (ctx) => {
    const refused = sendFaults(ctx, 'us-west-1', 'error');
    const failovers = ctx.hooks.log.forwards.filter((f) => f.mode === 'failover').length;
    return refused && failovers
      ? [`${DRAINED.join(' and ')} at capacity 0`, `${refused} SendMessageBatch calls to us-west-1 refused`, `${failovers} failovers called`]
      : [];
  },
  expect: (_ctx, check) =>
    check.deadLetteredWithReason
      ? [`${check.deadLetteredWithReason} requests dead-lettered although ${DRAINED.join(' and ')} (drained, capacity 0, healthy) could take them`]
      : [],
};

/**
 * Case 5: UpdateItem throttled (GetItem answered) longer than marking DISPATCHED is retried. Deployed:
 * 20 s against about 15 s of retries; here the Retry intervals are scaled 1/10 (1 s -> 100 ms), so 2 s.
 */
const THROTTLE_SECONDS = 2;
export const dynamodbThrottlesUpdates: Scenario = {
  name: 'dynamodb-throttles-updates',
  injects: `DynamoDB answers every UpdateItem 400 ProvisionedThroughputExceeded for ${THROTTLE_SECONDS} s (20 s deployed, scaled as the Retry intervals), GetItem answered: longer than marking DISPATCHED is retried (issue 16, case 5)`,
  // Started mid-load, so that requests claimed before it are forwarded while it lasts.
  ...forms({ faultAtMs: 500, faultSeconds: THROTTLE_SECONDS }, { faultSeconds: THROTTLE_SECONDS }),
  longOnly: true,
  inject: (ctx) =>
    window(
      ctx,
      () => ctx.stack.faults.dynamodb.rules.add({ name: 'throttle updates', actions: ['UpdateItem'], mode: 'error', error: 'throttle' }),
      () => ctx.stack.faults.dynamodb.rules.clear(),
      () => faults(ctx.stack.faults.dynamodb, { action: 'UpdateItem', mode: 'error' }).length > 0,
    ),
  proof: (ctx) => {
    const throttled = faults(ctx.stack.faults.dynamodb, { action: 'UpdateItem', mode: 'error' }).length;
    return throttled ? [`${throttled} UpdateItem calls throttled`, ...count(ctx.stack.faults.dynamodb.stats.action('GetItem').passed, 'GetItem calls answered (never faulted)')] : [];
  },
  // Throttling shorter than the commit's retries must not lose a commit: the commit outlasts it (issue 16, case 5).
  expect: (_ctx, check) => {
    const lost = windowed(check, WINDOWS.commitLost);
    return lost ? [`${lost} copies left by commits that gave up within a ${THROTTLE_SECONDS} s throttle (the commit must outlast it)`] : [];
  },
};

/** Case 7: every job outlives the fence's lease (2 s) and the regional visibility timeout (3 s). */
const JOB_SECONDS = 4;
export const jobsOutliveLease: Scenario = {
  name: 'jobs-outlive-lease',
  injects: `every job takes ${JOB_SECONDS} s, longer than the workers' fence lease (2 s) and the regional visibility timeout (3 s): each copy comes back while its worker still works on it (issue 16, case 7)`,
  ...forms({ requests: 6, repeats: 1 }, { requests: 24, repeats: 4 }),
  workers: { perRegion: 2, secondsPerRequest: JOB_SECONDS },
  longOnly: true,
  inject: async () => undefined,
  proof: (ctx) => {
    const received = new Map<string, number>();
    let outlived = 0;
    for (const e of ctx.workerEvents) {
      const key = `${e.workerId}\u0000${e.messageId}`;
      if (e.kind === 'received') received.set(key, e.at);
      const from = received.get(key);
      if (e.kind === 'processed' && from !== undefined && e.at - from > ctx.scale.fenceLeaseSeconds * 1000) outlived++;
    }
    const again = ctx.workerEvents.filter((e) => e.kind === 'received' && e.receiveCount > 1).length;
    return outlived ? [`${outlived} jobs outlived the fence lease`, ...count(again, 'copies received again (the visibility timeout ended while a worker held them)')] : [];
  },
};

/**
 * Case 6: in every region the workers' fences run on clocks 5 minutes fast, 5 minutes slow and right, side
 * by side. Each job (3 s) outlives the regional visibility timeout (1 s), and the first heartbeat, which
 * extends the copy's visibility, comes only at a third of the lease (6 s, so at 2 s): SQS hands a held copy
 * to another worker of the region, whose clock is always another, while its holder still works, and only
 * the fence stands between them. A fence that compared the holder's clock with the taker's would let a
 * taker whose clock is ahead take the copy over at once: processed twice.
 */
const SKEWS = [300, -300, 0] as const;
const SKEWED_JOB_SECONDS = 3;
export const skewedWorkerClocks: Scenario = {
  name: 'skewed-worker-clocks',
  injects: `the workers of every region run on clocks +300 s, -300 s and 0 s off (alternately, 3 per region); every job takes ${SKEWED_JOB_SECONDS} s, longer than the regional visibility timeout (1 s), with the first heartbeat at 2 s (fence lease 6 s): SQS hands held copies to workers with other clocks while their holder still works (issue 16, case 6)`,
  ...forms({ requests: 6, repeats: 1 }, { requests: 24, repeats: 4 }),
  scale: { regionalVisibilitySeconds: 1, fenceLeaseSeconds: 6 },
  workers: { perRegion: SKEWS.length, secondsPerRequest: SKEWED_JOB_SECONDS, clockSkewSeconds: SKEWS },
  longOnly: true,
  inject: async () => undefined,
  proof: (ctx) => {
    const met = skewedMeetings(ctx.workerEvents);
    const ahead = met.filter((m) => m.takerSkew > m.holderSkew);
    const behind = met.filter((m) => m.takerSkew < m.holderSkew);
    const outcomes = (list: readonly SkewedMeeting[]) => {
      const by = new Map<string, number>();
      for (const m of list) by.set(m.outcome, (by.get(m.outcome) ?? 0) + 1);
      return [...by].map(([outcome, n]) => `${n} ${outcome}`).join(', ');
    };
    return ahead.length
      ? [
          `${ahead.length} held copies handed to a worker whose clock was ahead of the holder's (5 or 10 min) while the holder still worked: ${outcomes(ahead)}`,
          ...(behind.length ? [`${behind.length} handed to a worker whose clock was behind the holder's: ${outcomes(behind)}`] : []),
        ]
      : [];
  },
};

/** A copy received by one worker while another worker, on another clock, still worked on it. */
interface SkewedMeeting {
  readonly messageId: string;
  readonly holderSkew: number;
  readonly takerSkew: number;
  /** What the taker did with it: refused IN_FLIGHT, taken over (processed), ... */
  readonly outcome: string;
}

/**
 * From the workers' events: every receive of a copy by a worker while another worker of another clock
 * worked on it (from that worker's last receive of it to its `processed`, `crashed` or lease lost), with
 * what the receiver then did.
 */
export function skewedMeetings(events: readonly WorkerEvent[]): SkewedMeeting[] {
  const skew = new Map<string, number>();
  const byCopy = new Map<string, WorkerEvent[]>();
  for (const e of events) {
    if (e.clockSkewSeconds !== undefined) skew.set(e.workerId, e.clockSkewSeconds);
    const list = byCopy.get(e.messageId) ?? [];
    list.push(e);
    byCopy.set(e.messageId, list);
  }
  const ended = (e: WorkerEvent) => e.kind === 'processed' || e.kind === 'crashed' || (e.kind === 'deferred' && e.reason === 'lease lost');
  const meetings: SkewedMeeting[] = [];
  for (const [messageId, list] of byCopy) {
    for (const end of list.filter(ended)) {
      const from = list.filter((e) => e.kind === 'received' && e.workerId === end.workerId && e.at <= end.at).at(-1);
      if (!from) continue;
      for (const taken of list.filter((e) => e.kind === 'received' && e.workerId !== end.workerId && e.at >= from.at && e.at <= end.at)) {
        const holderSkew = skew.get(end.workerId);
        const takerSkew = skew.get(taken.workerId);
        if (holderSkew === undefined || takerSkew === undefined || holderSkew === takerSkew) continue;
        const next = list.find((e) => e.workerId === taken.workerId && e.kind !== 'received' && e.at >= taken.at);
        const outcome = !next
          ? 'no outcome seen'
          : next.kind === 'deferred' && next.reason === 'IN_FLIGHT'
            ? 'refused IN_FLIGHT'
            : next.kind === 'processed'
              ? 'taken over and processed'
              : `${next.kind}${next.reason ? ` (${next.reason})` : ''}`;
        meetings.push({ messageId, holderSkew, takerSkew, outcome });
      }
    }
  }
  return meetings;
}

/** The mix each run drew, by run. */
const mixes = new WeakMap<ScenarioContext, Fault[]>();

/**
 * The combined nemesis: a seeded mix of two or three fault kinds at once (tools/chaos/nemesis.ts), armed
 * together for the fault window and held until every one of them has fired. Each name draws its own mix
 * from the seed; `combined-1` runs in the short suite too.
 */
export const combined = (n: number): Scenario => ({
  name: `combined-${n}`,
  injects: 'a random mix of two or three fault kinds at once, drawn from the catalogue (tools/chaos/nemesis.ts) by the seed',
  // Two outages at once still burn one receive each at most: shorter than a master visibility timeout (3 s).
  ...forms({}, { faultSeconds: 2.5 }),
  ...(n > 1 ? { longOnly: true } : {}),
  inject: async (ctx) => {
    const mix = drawMix(ctx.random('nemesis'));
    mixes.set(ctx, mix);
    ctx.drew(mix.map((f) => f.name).join(' + '));
    await runMix(ctx, mix);
  },
  proof: (ctx) => (mixes.get(ctx) ?? []).flatMap((f) => f.fired(ctx).map((e) => `${f.name}: ${e}`)),
  expect: (ctx) => (mixes.get(ctx) ?? []).filter((f) => f.fired(ctx).length === 0).map((f) => `the drawn fault "${f.name}" never fired`),
});

/** How many combined-N scenarios the long form runs (each its own mix); combined-1 is in the short suite too. */
export const COMBINED_RUNS = 4;

/**
 * Arms a mix of faults (tools/chaos/nemesis.ts) as the combined nemesis does: whole-load ones (crashes)
 * from the start, the others together for the fault window, each held on until it fired (at most another
 * window); every one off at the end.
 */
export async function runMix(ctx: ScenarioContext, mix: readonly Fault[]): Promise<void> {
  const load = mix.filter((f) => f.wholeLoad);
  const windowed = mix.filter((f) => !f.wholeLoad);
  const fired = (faults: readonly Fault[]) => () => faults.every((f) => f.fired(ctx).length > 0);
  try {
    for (const fault of load) await fault.arm(ctx);
    await ctx.at(ctx.form.faultAtMs);
    for (const fault of windowed) await fault.arm(ctx);
    ctx.note('faults on');
    // At the window's end the faults that fired are off; one another fault hid (no claim reaches a
    // refusing region while DynamoDB is down) stays on alone, at most another window: an outage held
    // on longer would burn a master message's three receives, past what the deployment survives.
    const end = ctx.form.faultAtMs + ctx.form.faultSeconds * 1000;
    await ctx.at(end);
    for (let at = end; ; at += 100) {
      for (const fault of windowed.filter((f) => f.fired(ctx).length > 0)) await fault.disarm(ctx);
      if (fired(windowed)() || at >= end + ctx.form.faultSeconds * 1000) break;
      await ctx.at(at + 100);
    }
    for (const fault of windowed) await fault.disarm(ctx);
    ctx.note('window faults off');
    // Crashes stay armed over the load, as in crashWhile, and on until each has happened once: drawn per
    // call, a crash can miss a short load (at most half the drain limit more).
    const loadEnd = (ctx.form.sendSeconds + ctx.form.faultSeconds) * 1000;
    for (let at = loadEnd; load.length && at < loadEnd + ctx.form.drainLimitSeconds * 500; at += 100) {
      await ctx.at(at);
      if (fired(load)()) break;
    }
  } finally {
    for (const fault of mix) await fault.disarm(ctx);
    ctx.note('faults off');
  }
}
