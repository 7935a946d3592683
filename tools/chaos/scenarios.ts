/**
 * Every chaos scenario of issue 8, the cases of issue 16 the harness can express, and the combined
 * nemesis (tools/chaos/nemesis.ts): what it injects, when, for how long, in a short form (the test suite
 * runs all of them, a few seconds each) and a long form (`npm run chaos`: more requests, longer faults).
 * Each is bounded in time and reproducible from a seed (tools/chaos/harness.ts derives every PRNG from it), and
 * each proves its fault fired from the fault proxies' stats or the hooks' counters: `proof` returns one
 * sentence per piece of evidence, none when the fault never happened (the scenario then fails).
 *
 * Faults stay within what the deployment survives by design, scaled to the local time scale
 * (tools/chaos/harness.ts TIME_SCALE): a master message is received at most 3 times before the master DLQ, so
 * an outage that fails every dispatch is kept under two master visibility timeouts, and one that fails
 * every worker acceptance under two regional visibility timeouts.
 */
import type { Random } from '../../core/random.js';
import { BAD_INPUT } from './bad-input.js';
import { COMBINED_RUNS, combined, drainedLastResort, dynamodbThrottlesUpdates, jobsOutliveLease, skewedWorkerClocks, storedThenRefused } from './cases.js';
import type { Scenario } from './harness.js';
import { fleetVanishes, stealingUnderFaults } from './stealing.js';
import type { PlannedMessage } from './load.js';
import {
  REMOTE,
  proxy,
  window,
  count,
  faults,
  forwardErrors,
  workerDeferrals,
  claims,
  windowed,
  sendFaults,
  refusedByDown,
  appliedLost,
  intakeCrashes,
  redeliveredBatches,
  releasedUndeliverable,
  dispatchDlqHolds,
  workerCrashes,
  crashWhile,
  forms,
} from './scenario-kit.js';
import { WINDOWS } from './windows.js';

const SINGLE: readonly Scenario[] = [
  {
    name: 'region-refuses-sends',
    injects: 'us-west-2 answers every SendMessageBatch 400 RequestThrottled (known not delivered) for the fault window',
    ...forms(),
    inject: (ctx) =>
      window(
        ctx,
        () => proxy(ctx, 'us-west-2').rules.add({ name: 'refuse sends', actions: ['SendMessageBatch'], mode: 'error', error: 'throttle' }),
        () => proxy(ctx, 'us-west-2').rules.clear(),
        () => sendFaults(ctx, 'us-west-2', 'error') > 0,
      ),
    proof: (ctx) => {
      const refused = sendFaults(ctx, 'us-west-2', 'error');
      return refused
        ? [`${refused} SendMessageBatch calls to us-west-2 answered RequestThrottled`, ...count(forwardErrors(ctx, /RegionUnavailable.*us-west-2/), 'forwards to us-west-2 failed RegionUnavailable (then failed over)')]
        : [];
    },
  },
  {
    name: 'region-hangs',
    injects:
      'us-west-1 takes every send and worker receive and never answers (its depth reads still answer, so it keeps getting placements) for the fault window',
    ...forms(),
    inject: (ctx) =>
      window(
        ctx,
        () => proxy(ctx, 'us-west-1').rules.add({ name: 'hang', actions: ['SendMessageBatch', 'ReceiveMessage', 'DeleteMessage', 'ChangeMessageVisibility'], mode: 'hang' }),
        () => proxy(ctx, 'us-west-1').rules.clear(),
        () => sendFaults(ctx, 'us-west-1', 'hang') > 0,
      ),
    proof: (ctx) => {
      const sends = sendFaults(ctx, 'us-west-1', 'hang');
      return sends
        ? [`${sends} SendMessageBatch calls to us-west-1 held unanswered`, ...count(forwardErrors(ctx, /RegionUnconfirmed.*us-west-1/), 'forwards to us-west-1 ended without an answer (retried there, then released)')]
        : [];
    },
  },
  {
    name: 'region-slow',
    injects:
      "us-west-2 answers every SendMessageBatch 1 s late, after the forward's SQS timeout (400 ms) has fired: the sends land all the same, unconfirmed, for the fault window",
    ...forms(),
    workers: { perRegion: 1, secondsPerRequest: 0.25 },
    inject: (ctx) =>
      window(
        ctx,
        () => proxy(ctx, 'us-west-2').rules.add({ name: 'slow sends', actions: ['SendMessageBatch'], mode: 'delay', ms: 1000 }),
        () => proxy(ctx, 'us-west-2').rules.clear(),
        () => faults(proxy(ctx, 'us-west-2'), { action: 'SendMessageBatch', mode: 'delay' }).some((f) => f.applied),
      ),
    proof: (ctx, check) => {
      const late = faults(proxy(ctx, 'us-west-2'), { action: 'SendMessageBatch', mode: 'delay' }).filter((f) => f.applied).length;
      const abandoned = proxy(ctx, 'us-west-2').stats.abandoned({ action: 'SendMessageBatch' }).length;
      return late
        ? [
            `${late} SendMessageBatch calls to us-west-2 applied 1 s late`,
            ...count(abandoned, 'of them after their caller had given up'),
            ...count(windowed(check, WINDOWS.unconfirmedSend) + windowed(check, WINDOWS.ambiguousFailover), 'extra copies they left, each explained'),
          ]
        : [];
    },
  },
  {
    name: 'region-loses-answers',
    injects:
      'us-west-1 applies SendMessageBatch calls and resets the connection instead of answering (probability 0.6) for the fault window; one slow worker per region, so copies wait',
    ...forms({ probability: 0.6 }, { probability: 0.6 }),
    workers: { perRegion: 1, secondsPerRequest: 0.25 },
    inject: (ctx) =>
      window(
        ctx,
        () =>
          proxy(ctx, 'us-west-1').rules.add({
            name: 'lose answers',
            actions: ['SendMessageBatch'],
            mode: 'lose-answer',
            then: 'reset',
            probability: ctx.form.probability ?? 0.6,
            seed: Math.floor(ctx.random('lose answers')() * 2 ** 31),
          }),
        () => proxy(ctx, 'us-west-1').rules.clear(),
        () => sendFaults(ctx, 'us-west-1', 'lose-answer') > 0,
      ),
    proof: (ctx, check) => {
      const lost = sendFaults(ctx, 'us-west-1', 'lose-answer');
      return lost
        ? [
            `${lost} SendMessageBatch calls applied by us-west-1 with the answer lost`,
            ...count(windowed(check, WINDOWS.unconfirmedSend) + windowed(check, WINDOWS.ambiguousFailover), 'extra copies from those sends, each explained'),
          ]
        : [];
    },
  },
  {
    name: 'region-down-and-back',
    injects: "us-west-2's SQS endpoint goes down (connections refused) mid-run and comes back",
    ...forms(),
    inject: (ctx) =>
      window(
        ctx,
        () => proxy(ctx, 'us-west-2').setDown(true),
        () => proxy(ctx, 'us-west-2').setDown(false),
        () => refusedByDown(ctx, 'us-west-2') > 0,
      ),
    proof: (ctx) => {
      const refused = refusedByDown(ctx, 'us-west-2');
      return proxy(ctx, 'us-west-2').downPeriods().length && refused
        ? [`us-west-2 down ${proxy(ctx, 'us-west-2').downPeriods().length} time(s)`, `${refused} depth readings or forwards refused by it`]
        : [];
    },
  },
  {
    name: 'all-regions-down',
    injects:
      'every regional queue refuses sends for the fault window (us-west-2 and us-west-1 down, us-east-1 answering 400 to sends to its regional queue): messages go to the dispatch DLQ with reasons; then every region is back',
    ...forms(),
    inject: (ctx) => {
      const east = proxy(ctx, 'us-east-1');
      const queueUrl = ctx.stack.description.regions.find((r) => r.region === 'us-east-1')?.queueUrl ?? '';
      return window(
        ctx,
        async () => {
          east.rules.add({ name: 'refuse regional sends', actions: ['SendMessageBatch'], mode: 'error', error: 'throttle', when: (body) => (body as { QueueUrl?: string })?.QueueUrl === queueUrl });
          await Promise.all(REMOTE.map((r) => proxy(ctx, r).setDown(true)));
        },
        async () => {
          east.rules.clear();
          await Promise.all(REMOTE.map((r) => proxy(ctx, r).setDown(false)));
        },
        // Held until every region has refused and a request has reached the dispatch DLQ: on a busy machine
        // the first refusals may come late in the window, and their failover after it.
        async () => sendFaults(ctx, 'us-east-1', 'error') > 0 && REMOTE.some((r) => refusedByDown(ctx, r) > 0) && (await dispatchDlqHolds(ctx)),
      );
    },
    proof: (ctx, check) => {
      const eastRefused = sendFaults(ctx, 'us-east-1', 'error');
      const remoteRefused = REMOTE.map((r) => refusedByDown(ctx, r)).reduce((a, n) => a + n, 0);
      if (!eastRefused || !remoteRefused || !check.deadLetteredWithReason) return [];
      return [
        `${eastRefused} sends to the us-east-1 regional queue refused`,
        `us-west-2 and us-west-1 down: ${remoteRefused} depth readings or forwards refused`,
        `${check.deadLetteredWithReason} requests dead-lettered with a reason`,
      ];
    },
  },
  {
    name: 'dead-letter-answers-lost',
    injects:
      'every regional queue refuses sends (as in all-regions-down) and the dispatch DLQ applies every send but answers 500, for the fault window; then all is back',
    ...forms(),
    inject: (ctx) => {
      const east = proxy(ctx, 'us-east-1');
      const queueUrl = ctx.stack.description.regions.find((r) => r.region === 'us-east-1')?.queueUrl ?? '';
      const dlqUrl = ctx.stack.description.dispatchDeadLetterQueueUrl;
      return window(
        ctx,
        async () => {
          east.rules.add({ name: 'refuse regional sends', actions: ['SendMessageBatch'], mode: 'error', error: 'throttle', when: (body) => (body as { QueueUrl?: string })?.QueueUrl === queueUrl });
          east.rules.add({ name: 'lose DLQ answers', actions: ['SendMessage'], mode: 'lose-answer', then: 'error', when: (body) => (body as { QueueUrl?: string })?.QueueUrl === dlqUrl });
          await Promise.all(REMOTE.map((r) => proxy(ctx, r).setDown(true)));
        },
        async () => {
          east.rules.clear();
          await Promise.all(REMOTE.map((r) => proxy(ctx, r).setDown(false)));
        },
        // Held until a dead-letter send has lost its answer through every retry.
        () => releasedUndeliverable(ctx) > 0,
      );
    },
    proof: (ctx) => {
      const lost = appliedLost(proxy(ctx, 'us-east-1'), 'SendMessage');
      const released = releasedUndeliverable(ctx);
      return lost && released ? [`${lost} dead-letter sends applied with the answer lost`, `${released} messages then released to be dead-lettered again (retried later)`] : [];
    },
  },
  {
    name: 'dynamodb-down',
    injects: 'the DynamoDB endpoint goes down (connections refused) for the fault window: claims, marks, health and the fence all fail, then it is back',
    ...forms({}, { faultSeconds: 4 }),
    inject: (ctx) =>
      window(
        ctx,
        () => ctx.stack.faults.dynamodb.setDown(true),
        () => ctx.stack.faults.dynamodb.setDown(false),
        () => claims(ctx, 'error') > 0,
      ),
    proof: (ctx) => {
      const failed = claims(ctx, 'error');
      return ctx.stack.faults.dynamodb.downPeriods().length && failed
        ? [`${failed} claims that found the table unavailable`, ...count(workerDeferrals(ctx, /ECONNREFUSED/), 'worker acceptances that could not reach the table')]
        : [];
    },
  },
  {
    name: 'dynamodb-loses-answers',
    injects: 'DynamoDB applies writes (PutItem, UpdateItem, DeleteItem) and answers 500 instead (probability 0.3) for the fault window',
    ...forms({ probability: 0.3 }, { probability: 0.3 }),
    inject: (ctx) =>
      window(
        ctx,
        () =>
          ctx.stack.faults.dynamodb.rules.add({
            name: 'lose write answers',
            actions: ['PutItem', 'UpdateItem', 'DeleteItem'],
            mode: 'lose-answer',
            then: 'error',
            probability: ctx.form.probability ?? 0.3,
            seed: Math.floor(ctx.random('dynamodb answers')() * 2 ** 31),
          }),
        () => ctx.stack.faults.dynamodb.rules.clear(),
        () => appliedLost(ctx.stack.faults.dynamodb) > 0,
      ),
    proof: (ctx) => count(appliedLost(ctx.stack.faults.dynamodb), 'DynamoDB writes applied with the answer lost'),
  },
  {
    name: 'sfn-throttled',
    injects: 'StartSyncExecution answered 400 ThrottlingException (probability 0.8) for the fault window',
    ...forms({ probability: 0.8 }, { probability: 0.8, faultSeconds: 4 }),
    inject: (ctx) =>
      window(
        ctx,
        () =>
          ctx.stack.faults.stepFunctions.rules.add({
            name: 'throttle starts',
            actions: ['StartSyncExecution'],
            mode: 'error',
            error: 'throttle',
            probability: ctx.form.probability ?? 0.8,
            seed: Math.floor(ctx.random('sfn throttle')() * 2 ** 31),
          }),
        () => ctx.stack.faults.stepFunctions.rules.clear(),
        () => faults(ctx.stack.faults.stepFunctions, { action: 'StartSyncExecution', mode: 'error' }).length > 0,
      ),
    proof: (ctx) => count(faults(ctx.stack.faults.stepFunctions, { action: 'StartSyncExecution', mode: 'error' }).length, 'StartSyncExecution calls throttled'),
  },
  {
    name: 'sfn-answer-lost',
    injects: 'StartSyncExecution runs, then its answer is replaced by a 500 (probability 0.5): the SDK starts it again under the same name',
    ...forms({ probability: 0.5 }, { probability: 0.5 }),
    inject: (ctx) =>
      window(
        ctx,
        () =>
          ctx.stack.faults.stepFunctions.rules.add({
            name: 'lose execution answers',
            actions: ['StartSyncExecution'],
            mode: 'lose-answer',
            then: 'error',
            probability: ctx.form.probability ?? 0.5,
            seed: Math.floor(ctx.random('sfn answers')() * 2 ** 31),
          }),
        () => ctx.stack.faults.stepFunctions.rules.clear(),
        () => appliedLost(ctx.stack.faults.stepFunctions, 'StartSyncExecution') > 0,
      ),
    proof: (ctx) => {
      const names = new Map<string, number>();
      for (const e of ctx.stack.stepFunctions.executions()) names.set(e.name, (names.get(e.name) ?? 0) + 1);
      const lost = appliedLost(ctx.stack.faults.stepFunctions, 'StartSyncExecution');
      const rerun = [...names.values()].filter((n) => n > 1).length;
      return lost && rerun ? [`${lost} executions run with their answer lost`, `${rerun} execution names run more than once (the SDK retried)`] : [];
    },
  },
  {
    name: 'intake-crashes',
    injects:
      'the intake crashes on a batch of first deliveries (probability 0.3): before its work, mid-batch (its executions go on without it), or after it, before answering',
    ...forms({ probability: 0.3 }, { probability: 0.3 }),
    inject: (ctx) =>
      crashWhile(
        ctx,
        // First deliveries only: each message meets at most one crash (three in a row would send it to the master DLQ, by design).
        () => void (ctx.hooks.intakeCrash = { probability: ctx.form.probability ?? 0.3, random: ctx.random('intake crash'), firstDeliveriesOnly: true }),
        () => void (ctx.hooks.intakeCrash = undefined),
        () => intakeCrashes(ctx).length > 0,
      ),
    proof: (ctx) => {
      const crashed = intakeCrashes(ctx);
      const kinds = ['before', 'mid-batch', 'after'].map((k) => `${k} ${crashed.filter((c) => c.outcome === k).length}`).join(', ');
      return crashed.length ? [`${crashed.length} intake invocations crashed (${kinds})`, ...count(redeliveredBatches(ctx), 'batches delivered again afterwards')] : [];
    },
  },
  {
    name: 'forward-crashes',
    injects: 'the forward function crashes after it sent (probability 0.3): the workflow never hears what it sent; one slow worker per region, so copies wait',
    ...forms({ probability: 0.3 }, { probability: 0.3 }),
    workers: { perRegion: 1, secondsPerRequest: 0.25 },
    inject: (ctx) =>
      crashWhile(
        ctx,
        () => void (ctx.hooks.forwardCrash = { probability: ctx.form.probability ?? 0.3, random: ctx.random('forward crash') }),
        () => void (ctx.hooks.forwardCrash = undefined),
        () => ctx.hooks.crashes().forward > 0,
      ),
    proof: (ctx, check) =>
      ctx.hooks.crashes().forward
        ? [`${ctx.hooks.crashes().forward} forwards crashed after sending`, ...count(windowed(check, WINDOWS.forwardCrash), 'extra copies they left, each explained')]
        : [],
  },
  {
    name: 'worker-crashes',
    injects:
      'a worker dies while processing a copy (probability 0.2 per copy, once per copy): the copy comes back after the regional visibility timeout, its acceptance lease ends, and the same token is accepted again',
    ...forms({ probability: 0.2 }, { probability: 0.2 }),
    inject: (ctx) => {
      const random = ctx.random('worker crash');
      const crashed = new Set<string>();
      return crashWhile(
        ctx,
        () =>
          ctx.setWorkerCrash((copy) => {
            const id = copy.token ?? copy.messageId;
            if (crashed.has(id) || random() >= (ctx.form.probability ?? 0.2)) return false;
            crashed.add(id);
            return true;
          }),
        () => ctx.setWorkerCrash(undefined),
        () => workerCrashes(ctx) > 0,
      );
    },
    proof: (ctx, check) => {
      const crashed = workerCrashes(ctx);
      return crashed && check.reacceptedAfterCrash
        ? [`${crashed} workers died while processing`, `${check.reacceptedAfterCrash} copies accepted again with the same token after their worker died`]
        : [];
    },
  },
  {
    name: 'duplicate-storm',
    injects: 'one request_id sent many times (short 30, long 120) across many concurrent batches, among the normal load',
    ...forms({ copies: 30 }, { copies: 120 }),
    pollers: 4,
    extraLoad: (form, random: Random, prefix) => {
      const requestId = `${prefix}-storm`;
      const body = JSON.stringify({ request_id: requestId, model_name: 'gpt-l-7b', input_data_url: `s3://inference-inputs/chaos/${requestId}.json` });
      return Array.from({ length: form.copies ?? 30 }, (_, i): PlannedMessage => ({
        body,
        kind: i === 0 ? 'request' : 'repeat',
        requestId,
        atMs: Math.floor(random() * form.sendSeconds * 1000 * 0.5),
      }));
    },
    inject: async () => undefined,
    proof: (ctx) => {
      const storm = ctx.hooks.log.selects.flatMap((s) => s.claims).filter((c) => c.requestId?.endsWith('-storm'));
      const refused = storm.filter((c) => c.claim === 'duplicate' || c.claim === 'busy').length;
      return refused
        ? [`${refused} claims of the storm's request_id refused (duplicate or busy) over ${ctx.hooks.log.intakes.length} intake invocations`, `${storm.filter((c) => c.claim === 'claimed').length} claim(s) taken`]
        : [];
    },
  },
  {
    name: 'redelivery-storm',
    injects:
      'the master visibility timeout (1 s) is shorter than the work: every claim write is delayed 1.1 s, so messages are delivered again while their first delivery is still being dispatched',
    ...forms({}, { faultSeconds: 8 }),
    scale: { masterVisibilitySeconds: 1, claimLeaseSeconds: 3 },
    inject: (ctx) =>
      window(
        ctx,
        () =>
          ctx.stack.faults.dynamodb.rules.add({
            name: 'slow claims',
            actions: ['UpdateItem'],
            mode: 'delay',
            ms: 1100,
            // The claim write only (its condition takes an absent record).
            when: (body) => String((body as { ConditionExpression?: string })?.ConditionExpression ?? '').startsWith('attribute_not_exists(request_id)'),
          }),
        () => ctx.stack.faults.dynamodb.rules.clear(),
        () => redeliveredBatches(ctx) > 0,
      ),
    proof: (ctx) => {
      const redelivered = redeliveredBatches(ctx);
      const delayed = faults(ctx.stack.faults.dynamodb, { mode: 'delay' }).length;
      return delayed && redelivered
        ? [`${delayed} claim writes delayed`, `${redelivered} batches held messages delivered again during their first dispatch`, ...count(claims(ctx, 'busy') + claims(ctx, 'duplicate'), 'claims refused busy or duplicate')]
        : [];
    },
  },
  {
    name: 'bad-input-mixed',
    injects: `the bad-input corpus (${BAD_INPUT.length} bodies) mixed into a normal load`,
    ...forms(),
    extraLoad: (form, random: Random) =>
      BAD_INPUT.map((c): PlannedMessage => ({
        body: c.body,
        kind: 'malformed',
        caseName: c.name,
        expected: c.expected.result === 'dispatch' ? { result: 'dispatch', requestId: c.expected.requestId } : { result: 'dead-letter', reason: c.expected.reason },
        atMs: Math.floor(random() * form.sendSeconds * 1000),
        ...(c.sqsRefuses ? { sqsRefuses: c.sqsRefuses } : {}),
      })),
    inject: async () => undefined,
    proof: (_ctx, check) => {
      const deadLetterCases = BAD_INPUT.filter((c) => c.expected.result === 'dead-letter' && !c.sqsRefuses).length;
      return check.malformed > 0 && check.deadLetteredWithReason >= deadLetterCases
        ? [`${check.malformed} corpus bodies sent`, `${check.deadLetteredWithReason} dead-lettered with a reason (${deadLetterCases} expected)`]
        : [];
    },
  },
];

export const SCENARIOS: readonly Scenario[] = [
  ...SINGLE,
  storedThenRefused,
  drainedLastResort,
  dynamodbThrottlesUpdates,
  jobsOutliveLease,
  skewedWorkerClocks,
  fleetVanishes,
  stealingUnderFaults,
  ...Array.from({ length: COMBINED_RUNS }, (_, i) => combined(i + 1)),
];

export const SCENARIO_NAMES: readonly string[] = SCENARIOS.map((s) => s.name);
/** What the short suite runs (the test and `--short` without names): every scenario but the long-only ones. */
export const SHORT_SUITE: readonly Scenario[] = SCENARIOS.filter((s) => !s.longOnly);

export function scenario(name: string): Scenario {
  const found = SCENARIOS.find((s) => s.name === name);
  if (!found) throw new Error(`unknown scenario "${name}"; the scenarios are: ${SCENARIO_NAMES.join(', ')}`);
  return found;
}
