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
import { isStateEvent, type ExecutionRecord } from '../../../../tools/local/emulators/asl-runner.js';
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
/** The region of the Forward iteration a StateEntered event is in: its input's `region` (workflows/forward-branch.ts). */
const regionOfInput = (input: string | undefined) => {
  try {
    return (JSON.parse(input ?? 'null') as { region?: unknown } | null)?.region;
  } catch {
    return undefined;
  }
};
const enteredIn = (type: string, name: string, region: string) =>
  events.find((e) => e.type === type && nameOf(e) === name && regionOfInput((e.stateEnteredEventDetails as { input?: string } | undefined)?.input) === region);
/** The StateEntered event a StateExited event closes: the nearest earlier entry of the same state whose chain it follows. */
const exitedOf = (entered: WireHistoryEvent) =>
  events.find((e) => e.type === entered.type.replace('Entered', 'Exited') && nameOf(e) === nameOf(entered) && enteredOf(e)?.id === entered.id);
/** The event's chain back to the nearest StateEntered. */
const enteredOf = (e: WireHistoryEvent): WireHistoryEvent | undefined => {
  for (let at: WireHistoryEvent | undefined = e; at; at = byId(at.previousEventId)) if (at.type.endsWith('StateEntered')) return at;
  return undefined;
};

describe('previousEventId, as Step Functions links events', () => {
  it('ran the failures it is about: the refusing region retried, the silent one sent once more by its own state, both caught', () => {
    expect(record.status, `${record.error}: ${record.cause}`).toBe('SUCCEEDED');
    const retried = record.events.filter((e) => e.type === 'StateRetried');
    expect(retried).toHaveLength(1);
    expect(isStateEvent(retried[0] as never, 'StateRetried', STATE.forward, 'us-west-2')).toBe(true);
    expect(record.events.some((e) => isStateEvent(e, 'StateEntered', STATE.forwardAgain, 'us-west-1'))).toBe(true);
    expect(record.events.some((e) => isStateEvent(e, 'StateEntered', STATE.forwardAgain, 'us-west-2'))).toBe(false);
  });

  it("links a Task's events to its own entry, and a retry to the failure it retries", () => {
    expect(events[0]).toMatchObject({ type: 'ExecutionStarted', previousEventId: 0 });
    // us-west-2 refuses: its Forward is retried in place. us-west-1 never answers: its Forward fails once and
    // the state that follows an unanswered attempt sends once more (one attempt each).
    for (const region of ['us-west-1']) {
      for (const name of [STATE.forward, STATE.forwardAgain]) {
        const entered = enteredIn('TaskStateEntered', name, region) as WireHistoryEvent;
        const own = events.filter((e) => e.type.startsWith('LambdaFunction') && enteredOf(e)?.id === entered.id);
        expect(own.map((e) => e.type), name).toEqual(['LambdaFunctionScheduled', 'LambdaFunctionStarted', 'LambdaFunctionFailed']);
        expect(own[0]?.previousEventId).toBe(entered.id);
      }
    }
    for (const region of ['us-west-2']) {
      const entered = enteredIn('TaskStateEntered', STATE.forward, region) as WireHistoryEvent;
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
      const exited = exitedOf(entered);
      expect(exited?.previousEventId).toBe(own[5]?.id);
    }
  });

  it('links every iteration to its MapStateStarted: one Forward iteration per region with work, each starting at its first state', () => {
    const forwardStarted = events.find((e) => e.type === 'MapStateStarted' && byId(e.previousEventId)?.type === 'MapStateEntered' && nameOf(byId(e.previousEventId)) === STATE.forwardAll) as WireHistoryEvent;
    const groups = events.filter((e) => e.type === 'MapIterationStarted' && (e.mapIterationStartedEventDetails as { name: string }).name === STATE.forwardAll);
    // Six messages over three equal regions: a group each, and none to dead-letter again.
    expect(groups).toHaveLength(3);
    expect(groups.every((e) => e.previousEventId === forwardStarted.id)).toBe(true);
    const firsts = groups.map((g) => events.find((e) => e.previousEventId === g.id));
    expect(firsts.map(nameOf)).toEqual(['To a region?', 'To a region?', 'To a region?']);
    expect(firsts.map((e) => regionOfInput((e?.stateEnteredEventDetails as { input?: string } | undefined)?.input)).sort()).toEqual(['us-east-1', 'us-west-1', 'us-west-2']);

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
  const step = (name: string, region?: string) => steps.filter((s) => s.name === name && (region === undefined || regionOfInput(s.input) === region));

  it('puts each error and retry on the state where it happened, though both regions failed at once', () => {
    const west2 = step(STATE.forward, 'us-west-2');
    const west1 = step(STATE.forward, 'us-west-1');
    expect(west2).toHaveLength(1);
    expect(west1).toHaveLength(1);
    expect(west2[0]?.errors.map((e) => e.error)).toEqual(['RegionUnavailable', 'RegionUnavailable']);
    expect(west2[0]?.attempts).toBe(2);
    expect(west1[0]?.errors.map((e) => e.error)).toEqual(['RegionUnconfirmed']);
    expect(west1[0]?.attempts).toBe(1);
    const west1Again = step(STATE.forwardAgain, 'us-west-1');
    expect(west1Again).toHaveLength(1);
    expect(west1Again[0]?.errors.map((e) => e.error)).toEqual(['RegionUnconfirmed']);
    expect(west1Again[0]?.attempts).toBe(1);
    expect(step(STATE.forward, 'us-east-1')).toHaveLength(1);
    for (const s of [...step(STATE.forward, 'us-east-1'), ...step(STATE.snapshot), ...step(STATE.select)]) {
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
    const west2 = step(STATE.forward, 'us-west-2')[0] as Step;
    expect(west2.parentEventId).toBe(forward.eventId);
    expect(west2.depth).toBe(1);
    // Each region's Forward is in an iteration of its own.
    expect(new Set(step(STATE.forward).map((s) => s.iteration)).size).toBe(3);
    const settle = step(STATE.settle, 'us-east-1')[0] as Step;
    const marks = steps.filter((s) => s.name === STATE.markDispatched && s.parentEventId === settle.eventId);
    expect(marks.length).toBeGreaterThan(0);
    expect(marks.every((s) => s.depth === 2 && regionOfInput(s.input) === 'us-east-1')).toBe(true);
  });
});
