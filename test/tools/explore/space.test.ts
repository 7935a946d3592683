/**
 * The fault space: read from the definition (every Task at every depth, its attempts), combination ids
 * that replay, and pairs taken only from where a first fault's run went.
 */
import { describe, expect, it } from 'vitest';
import { taskStates } from '../../../tools/explore/definition.js';
import { kindsFor } from '../../../tools/explore/faults.js';
import { comboId, frontier, pairs, parseComboId, sample, singles, siteOf, type Point } from '../../../tools/explore/space.js';
import { dispatchDefinition, STATE } from '../../../workflows/dispatch.js';

const refs = {
  regions: ['us-east-1', 'us-west-2'],
  functions: { snapshot: 'arn:aws:lambda:us-east-1:000000000000:function:snapshot', select: 'arn:aws:lambda:us-east-1:000000000000:function:select', forward: 'arn:aws:lambda:us-east-1:000000000000:function:forward' },
  tableName: 'table',
  deadLetterQueueUrl: 'http://sqs.us-east-1.localhost/000000000000/dlq',
};

describe('the fault space', () => {
  it('finds every Task of the definition, inside Maps and Parallel branches, with its attempts', () => {
    const tasks = taskStates(dispatchDefinition(refs));
    const byName = new Map(tasks.map((t) => [t.name, t]));
    expect(byName.get(STATE.putClaim)).toMatchObject({ kind: 'dynamodb', action: 'UpdateItem', inMap: true });
    expect(byName.get(STATE.snapshot)).toMatchObject({ kind: 'lambda', inMap: false, maxAttempts: 1 });
    // The Forward iteration runs once per region with work: its Tasks are in a Map, their item is the region.
    expect(byName.get(STATE.forward)).toMatchObject({ kind: 'lambda', resource: refs.functions.forward, inMap: true });
    expect(byName.get(STATE.forward)?.maxAttempts).toBeGreaterThan(1);
    expect(byName.get(STATE.deadLetter)).toMatchObject({ kind: 'sqs', action: 'SendMessage', inMap: true });
    // Forward, Forward again and Failover: the same three Tasks at any number of regions (the runs reach them once per region).
    expect(tasks.filter((t) => t.resource === refs.functions.forward).map((t) => t.name).sort()).toEqual([STATE.failover, STATE.forward, STATE.forwardAgain].sort());
    expect(taskStates(dispatchDefinition({ ...refs, regions: ['us-east-1', 'us-west-2', 'us-west-1', 'eu-west-1'] }))).toEqual(tasks);
  });

  it('gives each kind of Task its own ways to fail', () => {
    expect(kindsFor({ kind: 'dynamodb' })).toContain('stored-5xx');
    expect(kindsFor({ kind: 'dynamodb' })).not.toContain('ran-crash');
    expect(kindsFor({ kind: 'lambda' })).not.toContain('send-stored-5xx');
    expect(kindsFor({ kind: 'lambda', sends: 'primary' })).toContain('send-refused-conn');
    expect(kindsFor({ kind: 'lambda', sends: 'failover' })).not.toContain('send-refused-conn');
  });

  it('replays a combination from its id', () => {
    const combo = [
      { state: 'Forward', item: 'us-west-2', attempt: 1, kind: 'send-stored-5xx' },
      { state: 'Mark dispatched', item: 'm1', attempt: '*', kind: 'refused-4xx' },
    ] as const;
    expect(parseComboId(comboId(combo))).toEqual(combo);
    expect(parseComboId('none')).toEqual([]);
    expect(() => parseComboId('Forward[us-west-2]#1=melted')).toThrow();
  });

  it('pairs a first fault only with the attempts its own run reached after it', () => {
    const point = (seq: number, state: string, attempt = 1): Point => ({ state, item: '-', attempt, role: { kind: 'lambda' }, maxAttempts: 2, seq, execution: 0 });
    const baseline = [point(1, 'A'), point(2, 'B')];
    const first = singles(baseline).find((c) => c[0]?.state === 'A' && c[0].attempt === 1 && c[0].kind === 'throttled');
    expect(first).toBeDefined();
    const run = { combo: first!, firstFaultSeq: 1, points: [point(1, 'A'), point(2, 'A', 2), point(3, 'B'), { ...point(4, 'C'), execution: 1 }] };
    const found = pairs([run]).map((c) => `${c[1]?.state}#${c[1]?.attempt}`);
    expect(new Set(found)).toEqual(new Set(['A#2', 'B#1', 'B#*']));
  });

  it('replays a fault on the next delivery from its id', () => {
    const combo = [
      { state: 'Forward', item: 'us-west-2', attempt: 1, kind: 'send-stored-5xx' },
      { state: 'Dead-letter', item: 'm0', attempt: 1, kind: 'stored-5xx', delivery: 1 },
    ] as const;
    expect(comboId(combo)).toContain('=stored-5xx@2');
    expect(parseComboId(comboId(combo))).toEqual(combo);
  });

  it('adds one fault more only at states that no shallower run gave a fault, on either delivery', () => {
    const point = (seq: number, state: string, execution = 0): Point => ({ state, item: 'm0', attempt: 1, role: { kind: 'sqs' }, maxAttempts: 1, seq, execution });
    const pair = [
      { state: 'A', item: '-', attempt: 1, kind: 'refused-4xx' },
      { state: 'B', item: '-', attempt: 1, kind: 'refused-4xx' },
    ] as const;
    const run = { combo: pair, firstFaultSeq: 1, points: [point(1, 'A'), point(2, 'B'), point(3, 'C'), point(4, 'D', 1)] };
    // C had faults already (a shallower run reached it); D is reached only by this run, on the next delivery.
    const next = frontier([run], new Set(['A', 'B', 'C']), 2);
    expect(next.length).toBeGreaterThan(0);
    expect(next.every((c) => c.length === 3 && c[2]?.state === 'D' && c[2]?.delivery === 1)).toBe(true);
    // Only runs of exactly `level` faults are extended.
    expect(frontier([run], new Set(['A', 'B', 'C']), 3)).toEqual([]);
  });

  it('counts a state of the Forward map as covered per region group: a fault in one region\'s Dead-letter does not cover another\'s', () => {
    const point = (seq: number, state: string, group?: string): Point => ({ state, item: 'm0', attempt: 1, role: { kind: 'sqs' }, maxAttempts: 1, seq, execution: 0, ...(group ? { group } : {}) });
    const pair = [
      { state: 'A', item: '-', attempt: 1, kind: 'refused-4xx' },
      { state: 'B', item: '-', attempt: 1, kind: 'refused-4xx' },
    ] as const;
    const run = { combo: pair, firstFaultSeq: 1, points: [point(1, 'A'), point(2, 'B'), point(3, 'Dead-letter', 'us-west-2')] };
    expect(siteOf(point(3, 'Dead-letter', 'us-west-2'))).not.toBe(siteOf(point(3, 'Dead-letter', 'us-east-1')));
    expect(frontier([run], new Set(['A', 'B', siteOf(point(0, 'Dead-letter', 'us-east-1'))]), 2).length).toBeGreaterThan(0);
    expect(frontier([run], new Set(['A', 'B', siteOf(point(0, 'Dead-letter', 'us-west-2'))]), 2)).toEqual([]);
  });

  it('samples the same combinations for the same seed', () => {
    const items = Array.from({ length: 100 }, (_, i) => i);
    expect(sample(items, 10, 7)).toEqual(sample(items, 10, 7));
    expect(sample(items, 10, 7)).not.toEqual(sample(items, 10, 8));
    expect(sample(items, 200, 7)).toHaveLength(100);
  });
});
