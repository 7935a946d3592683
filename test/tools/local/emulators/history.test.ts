/**
 * tools/local/emulators/history.ts links each event to its causal predecessor (previousEventId), as Step Functions does,
 * and tools/cli/steps.ts follows those links: run on the real dispatch definition with two regions failing at
 * the same moment (us-west-2 refuses every send, us-west-1 never answers), each error, retry and send
 * once more shows on
 * the state where it happened, and the Claim map's concurrent iterations stay apart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toSteps, type Step } from '../../../../tools/cli/steps.js';
import { createDispatchRunner, type RunnerSetup } from '../../../../tools/local/dispatch.js';
import { toHistoryEvents, type WireHistoryEvent } from '../../../../tools/local/emulators/history.js';
import type { ExecutionRecord } from '../../../../tools/local/emulators/asl-runner.js';
import { STATE } from '../../../../workflows/dispatch.js';
import { envelope, executionInput, startLocalAws, type LocalAws } from '../../../support/local-aws.js';
import type { HistoryEvent } from '@aws-sdk/client-sfn';

let aws: LocalAws;
let setup: RunnerSetup;
let record: ExecutionRecord;
let events: WireHistoryEvent[];
let steps: Step[];

const MESSAGES = 6;

beforeAll(async () => {
  aws = await startLocalAws();
  // A send without an answer times out after 300 ms (instead of the deployment's seconds).
  setup = createDispatchRunner(aws.resources, aws.codeEndpoints, { retryIntervalMs: 5, settings: { sqsRequestTimeoutMs: 300, regionHealthSeconds: 0 } });
  aws.sqsServers['us-west-2']?.failActions(['SendMessageBatch'], 'reject');
  aws.sqsServers['us-west-1']?.failActions(['SendMessageBatch'], 'hang');
  record = await setup.runner.run(executionInput(Array.from({ length: MESSAGES }, (_, i) => envelope(`req-history-${i}`))));
  events = toHistoryEvents({ status: record.status, events: record.events }, { definition: setup.definition, region: 'us-east-1', roleArn: 'arn:aws:iam::000000000000:role/x' });
  // As the SDK hands them to the CLI: timestamps as Dates.
  steps = toSteps(events.map((e) => ({ ...e, timestamp: new Date(e.timestamp * 1000) })) as HistoryEvent[]);
});
afterAll(async () => {
  aws.sqsServers['us-west-1']?.failActions([]);
  setup?.close();
  await aws?.stop();
});

const byId = (id: number) => events.find((e) => e.id === id);
const nameOf = (e: WireHistoryEvent | undefined) =>
  (e?.stateEnteredEventDetails as { name?: string } | undefined)?.name ?? (e?.stateExitedEventDetails as { name?: string } | undefined)?.name;
/** The event's chain back to the nearest StateEntered. */
const enteredOf = (e: WireHistoryEvent): WireHistoryEvent | undefined => {
  for (let at: WireHistoryEvent | undefined = e; at; at = byId(at.previousEventId)) if (at.type.endsWith('StateEntered')) return at;
  return undefined;
};

describe('previousEventId, as Step Functions links events', () => {
  it('ran the failures it is about: the refusing region retried, the silent one sent once more by its own state, both caught', () => {
    expect(record.status, `${record.error}: ${record.cause}`).toBe('SUCCEEDED');
    const retried = record.events.filter((e) => e.type === 'StateRetried').map((e) => (e as { state: { name: string } }).state.name);
    expect(retried).toEqual([STATE.forward('us-west-2')]);
    const entered = record.events.filter((e) => e.type === 'StateEntered').map((e) => (e as { state: { name: string } }).state.name);
    expect(entered).toContain(STATE.forwardAgain('us-west-1'));
    expect(entered).not.toContain(STATE.forwardAgain('us-west-2'));
  });

  it("links a Task's events to its own entry, and a retry to the failure it retries", () => {
    expect(events[0]).toMatchObject({ type: 'ExecutionStarted', previousEventId: 0 });
    // us-west-2 refuses: its Forward is retried in place. us-west-1 never answers: its Forward fails once and
    // the state that follows an unanswered attempt sends once more (one attempt each).
    for (const region of ['us-west-1']) {
      for (const name of [STATE.forward(region), STATE.forwardAgain(region)]) {
        const entered = events.find((e) => e.type === 'TaskStateEntered' && nameOf(e) === name) as WireHistoryEvent;
        const own = events.filter((e) => e.type.startsWith('LambdaFunction') && enteredOf(e)?.id === entered.id);
        expect(own.map((e) => e.type), name).toEqual(['LambdaFunctionScheduled', 'LambdaFunctionStarted', 'LambdaFunctionFailed']);
        expect(own[0]?.previousEventId).toBe(entered.id);
      }
    }
    for (const region of ['us-west-2']) {
      const entered = events.find((e) => e.type === 'TaskStateEntered' && nameOf(e) === STATE.forward(region)) as WireHistoryEvent;
      const own = events.filter((e) => e.type.startsWith('LambdaFunction') && enteredOf(e)?.id === entered.id);
      expect(own.map((e) => e.type)).toEqual([
        'LambdaFunctionScheduled',
        'LambdaFunctionStarted',
        'LambdaFunctionFailed',
        'LambdaFunctionScheduled',
        'LambdaFunctionStarted',
        'LambdaFunctionFailed',
      ]);
      expect(own[0]?.previousEventId).toBe(entered.id);
      // The retry's schedule follows the failure, not whatever the other branch logged in between.
      expect(own[3]?.previousEventId).toBe(own[2]?.id);
      expect(own[2]?.previousEventId).toBe(own[1]?.id);
      const exited = events.find((e) => e.type === 'TaskStateExited' && nameOf(e) === STATE.forward(region));
      expect(exited?.previousEventId).toBe(own[5]?.id);
    }
  });

  it('links the first state of every branch to ParallelStateStarted, and every iteration to its MapStateStarted', () => {
    const parallel = events.find((e) => e.type === 'ParallelStateStarted') as WireHistoryEvent;
    const firsts = events.filter((e) => e.previousEventId === parallel.id);
    expect(firsts.map(nameOf).sort()).toEqual(['Anything for us-east-1?', 'Anything for us-west-1?', 'Anything for us-west-2?', 'Anything to dead-letter again?']);

    const claimStarted = events.find((e) => e.type === 'MapStateStarted') as WireHistoryEvent;
    const iterations = events.filter((e) => e.type === 'MapIterationStarted' && (e.mapIterationStartedEventDetails as { name: string }).name === STATE.claim);
    expect(iterations).toHaveLength(MESSAGES);
    expect(iterations.every((e) => e.previousEventId === claimStarted.id)).toBe(true);
    // Inside an iteration, each event follows one of the same iteration: its Put claim follows its MapIterationStarted.
    for (const iteration of iterations) {
      const first = events.find((e) => e.previousEventId === iteration.id);
      expect(nameOf(first)).toBe(STATE.putClaim);
    }
  });

  it('never links an event to a later one', () => {
    expect(events.every((e) => e.previousEventId < e.id)).toBe(true);
  });
});

describe('steps built by following the links', () => {
  const step = (name: string) => steps.filter((s) => s.name === name);

  it('puts each error and retry on the state where it happened, though both regions failed at once', () => {
    const west2 = step(STATE.forward('us-west-2'));
    const west1 = step(STATE.forward('us-west-1'));
    expect(west2).toHaveLength(1);
    expect(west1).toHaveLength(1);
    expect(west2[0]?.errors.map((e) => e.error)).toEqual(['RegionUnavailable', 'RegionUnavailable']);
    expect(west2[0]?.attempts).toBe(2);
    expect(west1[0]?.errors.map((e) => e.error)).toEqual(['RegionUnconfirmed']);
    expect(west1[0]?.attempts).toBe(1);
    const west1Again = step(STATE.forwardAgain('us-west-1'));
    expect(west1Again).toHaveLength(1);
    expect(west1Again[0]?.errors.map((e) => e.error)).toEqual(['RegionUnconfirmed']);
    expect(west1Again[0]?.attempts).toBe(1);
    for (const s of [...step(STATE.forward('us-east-1')), ...step(STATE.snapshot), ...step(STATE.select)]) {
      expect(s.errors).toEqual([]);
      expect(s.attempts).toBe(1);
    }
  });

  it('keeps concurrent Map iterations apart: one Put claim per iteration, each inside the Claim map', () => {
    const claim = step(STATE.claim)[0] as Step;
    const puts = step(STATE.putClaim);
    expect(puts.map((s) => s.iteration).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(puts.every((s) => s.parentEventId === claim.eventId && s.depth === 1)).toBe(true);
    // Every visit paired with its own exit.
    expect(steps.every((s) => s.exitedAt !== undefined)).toBe(true);
    const forward = step(STATE.forwardAll)[0] as Step;
    expect(step(STATE.forward('us-west-2'))[0]?.parentEventId).toBe(forward.eventId);
    const settle = step(STATE.settle('us-east-1'))[0] as Step;
    expect(step(STATE.markDispatched('us-east-1')).every((s) => s.parentEventId === settle.eventId && s.depth === 2)).toBe(true);
  });
});
