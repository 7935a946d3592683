/**
 * Faults that answer ambiguously, injected at the wire through fault proxies (tools/local/faults/proxy.ts):
 * a write that landed and whose answer was lost, a send accepted and then unanswered, a function that
 * failed after its side effect. Each must end with the message in at most one region (or released for
 * a retry that prefers the same region), never lost, never dead-lettered while it may be in a queue.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { executionOutputSchema, flattenOutcomes, type Outcome } from '../../core/outcomes.js';
import type { Envelope, ExecutionInput } from '../../core/placement.js';
import type { TaskFunctions } from '../../tools/local/dispatch.js';
import { isStateEvent, type DefinitionRunner, type LambdaHandler } from '../../tools/local/emulators/asl-runner.js';
import { STATE } from '../../workflows/dispatch.js';
import { copiesByRequest, runDispatch } from '../support/dispatch-run.js';
import { claimRecord, drain, drainRegions, envelope, executionInput, useLocalDispatch, withTaskFunctions } from '../support/local-aws.js';
import { clearRegionHealth } from '../support/region-health.js';

const local = useLocalDispatch({ faults: true });

afterEach(async () => {
  local.aws.faults.dynamodb.rules.clear();
  for (const proxy of Object.values(local.aws.faults.sqs)) proxy.rules.clear();
  await drainRegions(local.aws);
  await drain(local.aws.sqs('us-east-1'), local.aws.resources.dispatchDeadLetterQueueUrl);
  await clearRegionHealth(local.aws);
});

const run = (input: ExecutionInput, runner: DefinitionRunner = local.runner) => runDispatch(runner, input);

const copies = () => copiesByRequest(local.aws);

/** Copies with their dispatch tokens, per region. */
async function tokensIn(region: string): Promise<string[]> {
  const queue = local.aws.resources.regions.find((r) => r.region === region)?.queueUrl as string;
  return (await drain(local.aws.sqs(region), queue)).map((m) => m.MessageAttributes?.dispatch_token?.StringValue ?? '');
}

const only = (messages: Envelope[], outcomes: Outcome[]) => expect(outcomes).toHaveLength(messages.length);

type Handlers = TaskFunctions;

const withHandlers = (wrap: (real: TaskFunctions) => Partial<TaskFunctions>, use: (runner: DefinitionRunner) => Promise<void>) =>
  withTaskFunctions(local.aws, wrap, use);

const died = (message: string) => Object.assign(new Error(message), { name: 'Runtime.ExitError' });

describe('a claim write that landed but whose answer was lost', () => {
  it('is recognised as this execution\'s own claim: the message is dispatched once, not reported a duplicate and lost', async () => {
    // The first claim write is applied by DynamoDB, then answered 500; Step Functions retries it.
    local.aws.faults.dynamodb.rules.once(['PutItem', 'UpdateItem'], { mode: 'lose-answer', then: 'error' });
    const messages = [envelope('req-claim-answer-lost')];
    const { record, outcomes } = await run(executionInput(messages));
    only(messages, outcomes);

    expect(local.aws.faults.dynamodb.stats.faults({ mode: 'lose-answer' })[0]?.applied).toBe(true);
    expect(outcomes[0]?.outcome).toBe('dispatched');
    expect([...(await copies()).entries()]).toEqual([['req-claim-answer-lost', [outcomes[0]?.region]]]);
    const item = await claimRecord(local.aws, 'req-claim-answer-lost');
    expect(item?.status?.S).toBe('DISPATCHED');
    expect(item?.owner?.S).toBe(record.executionArn);
    // The retry met the landed write, and the record told it so.
    expect(record.events.some((e) => e.type === 'StateEntered' && e.state.name === 'Claim landed before')).toBe(true);
  });

  it('makes a second run under the same name see "busy", not "mine", while the first run holds the claim', async () => {
    // The first run dies after claiming (its select step fails for good): its claim stays, leased.
    let selectCalls = 0;
    const failFirstSelect = (real: Handlers) => ({
      select: async (event: never, context: never) => {
        if (++selectCalls === 1) throw died('the container died');
        return real.select(event, context);
      },
    });
    await withHandlers(failFirstSelect, async (runner) => {
      const messages = [envelope('req-same-name-rerun')];
      const input = executionInput(messages);
      const first = await runner.run(input, { name: input.executionName });
      expect(first.status).toBe('FAILED');
      expect((await claimRecord(local.aws, 'req-same-name-rerun'))?.owner?.S).toBe(first.executionArn);

      // The same name and input again, as the SDK sends them when a StartSyncExecution answer is lost.
      const { outcomes } = await run(input, runner);
      expect(outcomes[0]?.outcome).toBe('retry');
      expect(outcomes[0]?.reason).toContain(`claimed by ${first.executionArn}`);
      expect(await copies()).toEqual(new Map());
    });
  });
});

describe('a send accepted by SQS whose answer was lost', () => {
  it('is retried in the same region, never failed over: a second copy there carries another token', async () => {
    // us-west-2 only: its first SendMessageBatch is applied, then the connection is reset.
    local.aws.faults.sqs['us-west-2']?.rules.once('SendMessageBatch', { mode: 'lose-answer', then: 'reset' });
    const messages = Array.from({ length: 9 }, (_, i) => envelope(`req-lost-send-${i}`));
    const { record, outcomes } = await run(executionInput(messages));
    only(messages, outcomes);
    expect(outcomes.every((o) => o.outcome === 'dispatched')).toBe(true);
    expect(outcomes.some((o) => o.failedOver)).toBe(false);
    // Sent once more to the same region, by the state that follows an unanswered attempt (never a retrier that also fails over).
    expect(record.events.filter((e) => isStateEvent(e, 'StateEntered', STATE.forwardAgain, 'us-west-2'))).toHaveLength(1);

    const west2 = outcomes.filter((o) => o.region === 'us-west-2').map((o) => o.requestId);
    expect(west2.length).toBeGreaterThan(0);
    const tokens = await tokensIn('us-west-2');
    // Each of those messages is there twice (the lost answer's copy and the retry's), each copy with its own token.
    expect(tokens).toHaveLength(2 * west2.length);
    expect(new Set(tokens).size).toBe(tokens.length);
    // And nowhere else.
    for (const [id, regions] of await copies()) expect(regions, id).toEqual([outcomes.find((o) => o.requestId === id)?.region]);
    const item = await claimRecord(local.aws, west2[0] as string);
    expect(item?.status?.S).toBe('DISPATCHED');
    expect(item?.tokens?.SS).toHaveLength(1);
  });

  it('keeps a region whose sends are never answered from the rest: released with the region it tried, then dispatched there on the retry', async () => {
    local.aws.faults.sqs['us-west-2']?.rules.add({ actions: ['SendMessageBatch'], mode: 'lose-answer', then: 'reset' });
    const messages = Array.from({ length: 9 }, (_, i) => envelope(`req-lost-always-${i}`));
    const input = executionInput(messages);
    const { outcomes } = await run(input);
    const retried = outcomes.filter((o) => o.outcome === 'retry');
    expect(retried.length).toBeGreaterThan(0);
    expect(outcomes.some((o) => o.failedOver)).toBe(false);
    for (const o of retried) {
      expect(o.reason).toMatch(/us-west-2: no answer from the forward/);
      const item = await claimRecord(local.aws, o.requestId as string);
      expect(item?.triedRegion?.S).toBe('us-west-2');
      expect(item?.leaseUntil?.N).toBe('0');
    }
    // Whatever us-west-2 took (twice: the first send and its retry) is there only; none went elsewhere.
    const before = await copies();
    for (const o of retried) expect(before.get(o.requestId as string)).toEqual(['us-west-2', 'us-west-2']);

    // The master queue delivers the retried messages again; us-west-2 answers now, and its health is reset.
    local.aws.faults.sqs['us-west-2']?.rules.clear();
    await clearRegionHealth(local.aws);
    const again = messages.filter((m) => retried.some((o) => o.messageId === m.messageId));
    const second = await run(executionInput(again));
    expect(second.outcomes.every((o) => o.outcome === 'dispatched' && o.region === 'us-west-2')).toBe(true);
  });
});

describe('a forward function that fails after sending', () => {
  it('is not failed over: its messages are released for a retry, in the region they were sent to only', async () => {
    // The primary forward to us-west-2 sends, then its runtime dies before it can answer.
    const crashAfterSending = (real: Handlers) => ({
      forward: async (event: never, context: never) => {
        const result = await real.forward(event, context);
        if ((event as { region?: string }).region === 'us-west-2') throw died('Runtime exited with error: signal: killed');
        return result;
      },
    });
    await withHandlers(crashAfterSending, async (runner) => {
      const messages = Array.from({ length: 9 }, (_, i) => envelope(`req-crash-after-send-${i}`));
      const { record, outcomes } = await run(executionInput(messages), runner);
      expect(record.events.some((e) => isStateEvent(e, 'StateEntered', STATE.failover, 'us-west-2'))).toBe(false);
      const retried = outcomes.filter((o) => o.outcome === 'retry');
      expect(retried.length).toBeGreaterThan(0);
      const found = await copies();
      for (const o of retried) {
        // Sent once, to us-west-2 only; the record remembers it so the retry goes there too.
        expect(found.get(o.requestId as string)).toEqual(['us-west-2']);
        expect((await claimRecord(local.aws, o.requestId as string))?.triedRegion?.S).toBe('us-west-2');
      }
      for (const o of outcomes.filter((x) => x.outcome === 'dispatched')) expect(found.get(o.requestId as string)).toEqual([o.region]);
    });
  });
});

describe('a live function that is gone (sst dev stopped)', () => {
  /**
   * What SST's live-mode stub answers when `sst dev` is not running: after 16 s without an answer from the
   * developer's machine it returns this as the invocation's *successful* result (platform/functions/bridge).
   */
  const bridgeAnswer: LambdaHandler = async () => ({ statusCode: '500', body: 'sst dev is not running (worker: 0123abcd)' });

  for (const role of ['snapshot', 'select', 'forward'] as const) {
    it(`${role}: its canned answer is never taken for a dispatch: nothing sent, nothing committed, the message retried`, async () => {
      await withHandlers(() => ({ [role]: bridgeAnswer }), async (runner) => {
        const messages = [envelope(`req-dev-gone-${role}`)];
        const input = executionInput(messages);
        const record = await runner.run(input, { name: input.executionName });
        if (record.status === 'SUCCEEDED') {
          const outcomes = flattenOutcomes(input.messages.map((m) => m.messageId), executionOutputSchema.parse(record.output));
          expect(outcomes.map((o) => o.outcome)).toEqual(['retry']);
        } else {
          // A failed execution: the intake reports the whole batch failed; SQS delivers it again.
          expect(record.status).toBe('FAILED');
        }
        expect((await claimRecord(local.aws, `req-dev-gone-${role}`))?.status?.S).not.toBe('DISPATCHED');
        expect(await copies()).toEqual(new Map());
      });
    });
  }
});

describe('a dead-lettered message delivered again', () => {
  it('is recognised by its DEAD_LETTERED record: not dispatched as well, not dead-lettered twice', async () => {
    for (const proxy of Object.values(local.aws.faults.sqs)) proxy.rules.add({ actions: ['SendMessageBatch'], mode: 'error', error: 'throttle' });
    const messages = [envelope('req-dead-then-again')];
    const input = executionInput(messages);
    const first = await run(input);
    expect(first.outcomes[0]?.outcome).toBe('dead-lettered');

    // The intake failed as a whole after that (a timeout, a crash): the same message comes back while
    // every region is healthy again.
    for (const proxy of Object.values(local.aws.faults.sqs)) proxy.rules.clear();
    await clearRegionHealth(local.aws);
    const second = await run(executionInput(messages));
    expect(second.outcomes[0]?.outcome).toBe('duplicate');
    expect(second.outcomes[0]?.reason).toMatch(/already dead-lettered/);
    expect(await copies()).toEqual(new Map());
    const dead = await drain(local.aws.sqs('us-east-1'), local.aws.resources.dispatchDeadLetterQueueUrl);
    expect(dead).toHaveLength(1);
    expect((await claimRecord(local.aws, 'req-dead-then-again'))?.status?.S).toBe('DEAD_LETTERED');
  });
});
