/**
 * Invariant 10 (docs/architecture.md): once any attempt for a message went unanswered, that message is
 * never failed over or dead-lettered in the same execution, whatever a later attempt answers. Step
 * Functions hands a Catch only the LAST attempt's error, so a send stored-then-unanswered followed by a
 * refused retry must not reach the failover. And a failover that ran is never run again.
 * Faults at the wire (fault proxies in front of each region's SQS), plus a Lambda service error after
 * the failover function ran. Also: a region drained to capacity 0 is still a failover target of last
 * resort before the DLQ.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { clearCapacity, writeCapacity } from '../../aws/capacity.js';
import { isSqsText } from '../../core/sqs-text.js';
import type { ExecutionInput } from '../../core/placement.js';
import { clearSnapshotCache } from '../../functions/snapshot.js';
import { isStateEvent, type DefinitionRunner, type EventLog, type LambdaHandler } from '../../tools/local/emulators/asl-runner.js';
import { STATE } from '../../workflows/dispatch.js';
import { copiesByRequest, runDispatch } from '../support/dispatch-run.js';
import { claimRecord, drain, drainRegions, envelope, executionInput, useLocalDispatch, withTaskFunctions } from '../support/local-aws.js';
import { clearRegionHealth } from '../support/region-health.js';

const local = useLocalDispatch({ faults: true });
const table = () => ({ client: local.aws.dynamo, tableName: local.aws.resources.tableName });
const regions = () => local.aws.resources.regions.map((r) => r.region);
const WEST2 = 'us-west-2';

afterEach(async () => {
  local.aws.faults.dynamodb.rules.clear();
  for (const proxy of Object.values(local.aws.faults.sqs)) proxy.rules.clear();
  for (const region of regions()) await clearCapacity(table(), region);
  await drainRegions(local.aws);
  await drain(local.aws.sqs('us-east-1'), local.aws.resources.dispatchDeadLetterQueueUrl);
  await clearRegionHealth(local.aws);
  clearSnapshotCache();
});

/** Every message to us-west-2: the other regions drained (capacity 0), as an operator or a hook sets it. */
async function onlyWest2(): Promise<void> {
  for (const region of regions()) if (region !== WEST2) await writeCapacity(table(), region, 0, 'test');
  clearSnapshotCache();
}

const run = (input: ExecutionInput, runner: DefinitionRunner = local.runner) => runDispatch(runner, input);

const copies = () => copiesByRequest(local.aws);

async function deadLettered(): Promise<string[]> {
  const dead = await drain(local.aws.sqs('us-east-1'), local.aws.resources.dispatchDeadLetterQueueUrl);
  return dead.map((m) => m.MessageAttributes?.request_id?.StringValue ?? '?');
}

/** Did the execution enter state `name` in the Forward iteration of `region`? */
const entered = (record: { events: EventLog[] }, name: string, region: string) => record.events.some((e) => isStateEvent(e, 'StateEntered', name, region));

describe('a send stored but unanswered, then refused on the retry', () => {
  it('is not failed over: released for a later delivery, its one copy in the region it was sent to', async () => {
    await onlyWest2();
    const west2 = local.aws.faults.sqs[WEST2];
    // The first send is stored by SQS and answered 500; every send after it is refused (throttled, 400).
    west2?.rules.once('SendMessageBatch', { mode: 'lose-answer', then: 'error' });
    west2?.rules.add({ actions: ['SendMessageBatch'], mode: 'error', error: 'throttle' });
    const messages = Array.from({ length: 4 }, (_, i) => envelope(`req-unanswered-refused-${i}`));
    const { record, outcomes } = await run(executionInput(messages));

    expect(west2?.stats.faults({ mode: 'lose-answer' })[0]?.applied).toBe(true);
    expect(entered(record, STATE.failover, WEST2)).toBe(false);
    expect(outcomes.map((o) => o.outcome)).toEqual(messages.map(() => 'retry'));
    expect(outcomes.some((o) => o.failedOver)).toBe(false);
    const found = await copies();
    for (const m of messages) expect(found.get(m.requestId), m.requestId).toEqual([WEST2]);
    expect(await deadLettered()).toEqual([]);
    for (const m of messages) {
      const item = await claimRecord(local.aws, m.requestId);
      expect(item?.status?.S).toBe('IN_PROGRESS');
      expect(item?.leaseUntil?.N).toBe('0');
      expect(item?.triedRegion?.S).toBe(WEST2);
    }
  });

  it('is not dead-lettered when every other region refuses too', async () => {
    await onlyWest2();
    for (const region of regions()) {
      if (region !== WEST2) local.aws.faults.sqs[region]?.rules.add({ actions: ['SendMessageBatch'], mode: 'error', error: 'throttle' });
    }
    const west2 = local.aws.faults.sqs[WEST2];
    west2?.rules.once('SendMessageBatch', { mode: 'lose-answer', then: 'reset' });
    west2?.rules.add({ actions: ['SendMessageBatch'], mode: 'error', error: 'throttle' });
    const messages = Array.from({ length: 3 }, (_, i) => envelope(`req-unanswered-all-refuse-${i}`));
    const { outcomes } = await run(executionInput(messages));

    expect(outcomes.map((o) => o.outcome)).toEqual(messages.map(() => 'retry'));
    expect(await deadLettered()).toEqual([]);
    const found = await copies();
    for (const m of messages) expect(found.get(m.requestId), m.requestId).toEqual([WEST2]);
    for (const m of messages) expect((await claimRecord(local.aws, m.requestId))?.status?.S).not.toBe('DEAD_LETTERED');
  });

  it('is dispatched where it was sent when the retry is taken: one region, never another', async () => {
    await onlyWest2();
    local.aws.faults.sqs[WEST2]?.rules.once('SendMessageBatch', { mode: 'lose-answer', then: 'error' });
    const messages = Array.from({ length: 3 }, (_, i) => envelope(`req-unanswered-then-taken-${i}`));
    const { record, outcomes } = await run(executionInput(messages));
    expect(entered(record, STATE.forwardAgain, WEST2)).toBe(true);
    expect(outcomes.map((o) => [o.outcome, o.region])).toEqual(messages.map(() => ['dispatched', WEST2]));
    const found = await copies();
    // The unanswered send's copy and the retry's: both in us-west-2, nowhere else.
    for (const m of messages) expect(found.get(m.requestId), m.requestId).toEqual([WEST2, WEST2]);
  });
});

describe('a dead-letter send stored but unanswered, then refused on the retry', () => {
  it('is not released as undeliverable: the next delivery goes to the DLQ again, never to a region', async () => {
    // Every region refuses: the message is dead-lettered. The DLQ stores the first send and answers 500,
    // then refuses (throttled) the retry.
    for (const region of regions()) local.aws.faults.sqs[region]?.rules.add({ actions: ['SendMessageBatch'], mode: 'error', error: 'throttle' });
    const home = local.aws.faults.sqs['us-east-1'];
    home?.rules.once('SendMessage', { mode: 'lose-answer', then: 'error' });
    home?.rules.add({ actions: ['SendMessage'], mode: 'error', error: 'throttle' });
    const messages = [envelope('req-dlq-unanswered-refused')];
    const { outcomes } = await run(executionInput(messages));
    expect(home?.stats.faults({ mode: 'lose-answer' })[0]?.applied).toBe(true);
    expect(outcomes[0]?.outcome).toBe('retry');
    const item = await claimRecord(local.aws, 'req-dlq-unanswered-refused');
    expect(item?.triedDeadLetter?.BOOL).toBe(true);

    // The regions answer again; the next delivery must not dispatch what may sit in the DLQ.
    for (const proxy of Object.values(local.aws.faults.sqs)) proxy.rules.clear();
    await clearRegionHealth(local.aws);
    const second = await run(executionInput(messages));
    expect(second.outcomes[0]?.outcome).toBe('dead-lettered');
    expect(await copies()).toEqual(new Map());
  });
});

/** The definition with the forward function wrapped; service integrations through the fault proxies. */
const withForward = (wrap: (real: LambdaHandler) => LambdaHandler, use: (runner: DefinitionRunner) => Promise<void>) =>
  withTaskFunctions(local.aws, (real) => ({ forward: wrap(real.forward) }), use);

/** A Lambda service error as Step Functions reports it when the invocation's answer is lost. */
const serviceError = () => Object.assign(new Error('Lambda service error after the function ran'), { name: 'Lambda.ServiceException' });

describe('a failover that ran and then failed', () => {
  it('is not run again: its messages are released, in at most the one region it sent them to', async () => {
    // us-west-2 refuses every send, so its messages fail over. The first failover sends, then its answer
    // is lost (a Lambda service error). After that every region refuses, as on a bad minute.
    await onlyWest2();
    local.aws.faults.sqs[WEST2]?.rules.add({ actions: ['SendMessageBatch'], mode: 'error', error: 'throttle' });
    let failovers = 0;
    const loseFirstFailoverAnswer = (real: LambdaHandler): LambdaHandler => async (event: never, context: never) => {
      const result = await real(event, context);
      if ((event as { exclude?: string[] }).exclude && ++failovers === 1) {
        for (const proxy of Object.values(local.aws.faults.sqs)) proxy.rules.add({ actions: ['SendMessageBatch'], mode: 'error', error: 'throttle' });
        throw serviceError();
      }
      return result;
    };
    await withForward(loseFirstFailoverAnswer, async (runner) => {
      const messages = Array.from({ length: 3 }, (_, i) => envelope(`req-failover-ran-${i}`));
      const { outcomes } = await run(executionInput(messages), runner);
      expect(failovers).toBe(1);
      expect(outcomes.map((o) => o.outcome)).toEqual(messages.map(() => 'retry'));
      expect(await deadLettered()).toEqual([]);
      const found = await copies();
      // The first failover placed each message once, in a drained region (the last resort): one copy each.
      for (const m of messages) expect(found.get(m.requestId)?.length ?? 0, m.requestId).toBeLessThanOrEqual(1);
      for (const m of messages) expect(found.get(m.requestId)?.[0], m.requestId).not.toBe(WEST2);
    });
  });
});

describe('a failover with every other region drained', () => {
  it('tries the drained regions as a last resort before the DLQ', async () => {
    await onlyWest2();
    local.aws.faults.sqs[WEST2]?.rules.add({ actions: ['SendMessageBatch'], mode: 'error', error: 'throttle' });
    const messages = Array.from({ length: 4 }, (_, i) => envelope(`req-drained-last-resort-${i}`));
    const { outcomes } = await run(executionInput(messages));
    expect(outcomes.map((o) => o.outcome)).toEqual(messages.map(() => 'dispatched'));
    for (const o of outcomes) {
      expect(o.failedOver).toBe(true);
      expect(o.region).not.toBe(WEST2);
    }
    expect(await deadLettered()).toEqual([]);
  });
});

describe('a dead-letter reason built from an error that quotes an emoji', () => {
  for (const offset of [0, 1]) {
    it(`is cut on a character, so the DLQ takes it (offset ${offset})`, async () => {
      // Every region refuses with a long message of emoji: the reason the failover builds from it is cut
      // to 500 characters, which lands inside a surrogate pair for one of the two offsets.
      const message = `${'x'.repeat(offset)}${'\u{1F600}'.repeat(300)}`;
      for (const proxy of Object.values(local.aws.faults.sqs)) {
        proxy.rules.add({ actions: ['SendMessageBatch'], mode: 'error', error: { status: 400, type: 'com.amazonaws.sqs#RequestThrottled', message } });
      }
      const messages = [envelope(`req-emoji-reason-${offset}`)];
      const { outcomes } = await run(executionInput(messages));
      expect(outcomes[0]?.outcome).toBe('dead-lettered');
      const dead = await drain(local.aws.sqs('us-east-1'), local.aws.resources.dispatchDeadLetterQueueUrl);
      expect(dead).toHaveLength(1);
      const reason = dead[0]?.MessageAttributes?.reason?.StringValue ?? '';
      expect(reason).toContain('\u{1F600}');
      expect(isSqsText(reason)).toBe(true);
    });
  }
});
