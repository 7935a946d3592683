/** The console's pure parts: the graph laid out from a definition, and a history attached to states. */
import { describe, expect, it } from 'vitest';
import { buildHistoryModel, type ConsoleEvent } from '../../../tools/console/history-model.js';
import { layoutDefinition } from '../../../tools/console/graph.js';
import { testDefinition } from '../../support/definition-refs.js';

const definition = testDefinition();

type Machine = { States: Record<string, { Branches?: Machine[]; ItemProcessor?: Machine }> };
function stateNames(machine: Machine): string[] {
  return Object.entries(machine.States).flatMap(([name, s]) => [
    name,
    ...(s.Branches ?? []).flatMap(stateNames),
    ...(s.ItemProcessor ? stateNames(s.ItemProcessor) : []),
  ]);
}

describe('the graph of the dispatch definition', () => {
  const layout = layoutDefinition(definition);
  const byName = new Map(layout.nodes.map((n) => [n.name, n]));

  it('has one node per state, at every nesting level', () => {
    const names = stateNames(definition as unknown as Machine);
    expect(layout.nodes).toHaveLength(names.length);
    expect(new Set(layout.nodes.map((n) => n.name))).toEqual(new Set(names));
    // One generic Forward iteration inside the Map over the region groups, whatever the region count; no Parallel.
    expect(byName.get('Forward to regions')?.container).toBe(true);
    for (const name of ['Forward', 'Forward again', 'Failover', 'Settle']) expect(byName.get(name)?.parent, name).toBe('Forward to regions');
    expect(byName.get('Mark dispatched')?.parent).toBe('Settle');
    expect(layout.branches).toEqual([]);
  });

  it('puts every state inside its Map or Parallel, and no two boxes of one level on each other', () => {
    for (const n of layout.nodes) {
      if (!n.parent) continue;
      const p = byName.get(n.parent);
      expect(p, n.name).toBeDefined();
      if (!p) continue;
      expect(n.x >= p.x - 0.2 && n.y >= p.y - 0.2 && n.x + n.w <= p.x + p.w + 0.2 && n.y + n.h <= p.y + p.h + 0.2, `${n.name} inside ${p.name}`).toBe(true);
    }
    const levels = new Map<string, typeof layout.nodes>();
    for (const n of layout.nodes) levels.set(n.parent ?? '', [...(levels.get(n.parent ?? '') ?? []), n]);
    for (const nodes of levels.values()) {
      for (const a of nodes) {
        for (const b of nodes) {
          if (a === b) continue;
          const apart = a.x + a.w <= b.x + 0.2 || b.x + b.w <= a.x + 0.2 || a.y + a.h <= b.y + 0.2 || b.y + b.h <= a.y + 0.2;
          expect(apart, `${a.name} / ${b.name}`).toBe(true);
        }
      }
    }
  });

  it('draws an edge for every Next, Default, Choice and Catch, from its source to its target', () => {
    const expected = new Set<string>();
    const visit = (m: { States: Record<string, Record<string, unknown>> }) => {
      for (const [name, s] of Object.entries(m.States)) {
        const targets = [s.Next, s.Default, ...((s.Choices as Array<{ Next: string }>) ?? []).map((c) => c.Next), ...((s.Catch as Array<{ Next: string }>) ?? []).map((c) => c.Next)];
        for (const t of targets) if (typeof t === 'string') expected.add(`${name} -> ${t}`);
        for (const b of (s.Branches as never[]) ?? []) visit(b);
        if (s.ItemProcessor) visit(s.ItemProcessor as never);
      }
    };
    visit(definition as never);
    expect(new Set(layout.edges.map((e) => `${e.from} -> ${e.to}`))).toEqual(expected);
    for (const e of layout.edges.filter((x) => !x.back)) {
      const [a, b] = [byName.get(e.from), byName.get(e.to)];
      const first: [number, number] = e.points[0] ?? [0, 0];
      const last: [number, number] = e.points.at(-1) ?? [0, 0];
      const near = (p: [number, number], x: number, y: number) => Math.abs(p[0] - x) <= 0.1 && Math.abs(p[1] - y) <= 0.1;
      expect(near(first, (a?.x ?? 0) + (a?.w ?? 0) / 2, (a?.y ?? 0) + (a?.h ?? 0)), `${e.from} bottom`).toBe(true);
      expect(near(last, (b?.x ?? 0) + (b?.w ?? 0) / 2, b?.y ?? 0), `${e.to} top`).toBe(true);
    }
  });
});

describe('a history attached to states by previousEventId', () => {
  // Two Parallel branches whose events interleave, as on AWS: A fails, is retried, fails again and is
  // caught; B succeeds meanwhile. Only the previousEventId chain tells whose event is whose.
  const lambda = 'arn:aws:lambda:us-east-1:000000000000:function:f';
  const parallel = {
    StartAt: 'P',
    States: {
      P: {
        Type: 'Parallel',
        Branches: [
          {
            StartAt: 'A',
            States: {
              A: { Type: 'Task', Resource: lambda, Retry: [{ ErrorEquals: ['Boom'], MaxAttempts: 1 }], Catch: [{ ErrorEquals: ['Boom'], Next: 'A caught' }], End: true },
              'A caught': { Type: 'Pass', End: true },
            },
          },
          { StartAt: 'B', States: { B: { Type: 'Task', Resource: lambda, End: true } } },
        ],
        Next: 'Done',
      },
      Done: { Type: 'Pass', End: true },
      Unused: { Type: 'Pass', End: true },
    },
  };
  const e = (id: number, previousEventId: number, type: string, details?: Record<string, unknown>): ConsoleEvent => ({
    id,
    previousEventId,
    type,
    timestamp: 1_000 + id,
    ...(details ? { details } : {}),
  });
  const boom = { error: 'Boom', cause: 'it broke' };
  const events = [
    e(1, 0, 'ExecutionStarted', { input: '{}' }),
    e(2, 1, 'ParallelStateEntered', { name: 'P', input: '{}' }),
    e(3, 2, 'ParallelStateStarted'),
    e(4, 3, 'TaskStateEntered', { name: 'A', input: '{"a":1}' }),
    e(5, 3, 'TaskStateEntered', { name: 'B', input: '{"b":1}' }),
    e(6, 4, 'LambdaFunctionScheduled', { resource: lambda }),
    e(7, 5, 'LambdaFunctionScheduled', { resource: lambda }),
    e(8, 6, 'LambdaFunctionStarted'),
    e(9, 7, 'LambdaFunctionStarted'),
    e(10, 8, 'LambdaFunctionFailed', boom),
    e(11, 9, 'LambdaFunctionSucceeded', { output: '{}' }),
    e(12, 10, 'LambdaFunctionScheduled', { resource: lambda }),
    e(13, 11, 'TaskStateExited', { name: 'B', output: '{"b":2}' }),
    e(14, 12, 'LambdaFunctionStarted'),
    e(15, 14, 'LambdaFunctionFailed', boom),
    e(16, 15, 'TaskStateExited', { name: 'A', output: '{"a":2}' }),
    e(17, 16, 'PassStateEntered', { name: 'A caught', input: '{}' }),
    e(18, 17, 'PassStateExited', { name: 'A caught', output: '{}' }),
    e(19, 18, 'ParallelStateSucceeded'),
    e(20, 19, 'ParallelStateExited', { name: 'P', output: '[]' }),
    e(21, 20, 'PassStateEntered', { name: 'Done', input: '[]' }),
    e(22, 21, 'PassStateExited', { name: 'Done', output: '[]' }),
    e(23, 22, 'ExecutionSucceeded', { output: '[]' }),
  ];

  it('puts each retry and the catch on the state where they happened, whatever the order of events', () => {
    const model = buildHistoryModel(events, parallel, 'SUCCEEDED');
    expect(model.unattributed).toEqual([]);
    expect(model.states.A).toMatchObject({ outcome: 'caught', visits: 1, retries: 1 });
    expect(model.states.A?.errors).toEqual([
      { eventId: 10, error: 'Boom', cause: 'it broke', handling: 'retried' },
      { eventId: 15, error: 'Boom', cause: 'it broke', handling: 'caught', next: 'A caught' },
    ]);
    expect(model.states.B).toMatchObject({ outcome: 'succeeded', visits: 1, retries: 0, errors: [] });
    expect(model.visits.find((v) => v.name === 'B')?.events).toEqual([5, 7, 9, 11, 13]);
    expect(model.visits.find((v) => v.name === 'A')).toMatchObject({ attempts: 2, input: '{"a":1}', output: '{"a":2}', events: [4, 6, 8, 10, 12, 14, 15, 16] });
    expect(model.states.P).toMatchObject({ outcome: 'succeeded' });
    expect(model.visits.find((v) => v.name === 'P')?.events).toEqual([2, 3, 19, 20]);
    expect(model.states['A caught']?.outcome).toBe('succeeded');
    expect(model.states.Unused).toBeUndefined();
    expect(model.transitions).toEqual(
      expect.arrayContaining([
        { from: 'A', to: 'A caught', count: 1 },
        { from: 'P', to: 'Done', count: 1 },
      ]),
    );
  });

  it('reports an event whose chain leads to no state as unattributed, not placed by a guess', () => {
    // The first failure's link is cut: it, and the retry that follows from it, lead nowhere. They are not
    // given to the state logged before them (B).
    const cut = events.map((x) => (x.id === 10 ? { ...x, previousEventId: 0 } : x));
    const model = buildHistoryModel(cut, parallel, 'SUCCEEDED');
    expect(model.unattributed).toEqual([10, 12, 14, 15]);
    expect(model.states.B?.errors).toEqual([]);
  });

  it('tells a state that failed the execution from one still running', () => {
    const failed = events.slice(0, 15);
    expect(buildHistoryModel(failed, parallel, 'FAILED').states.A).toMatchObject({ outcome: 'failed' });
    expect(buildHistoryModel(failed, parallel, 'RUNNING').states.A).toMatchObject({ outcome: 'running' });
    expect(buildHistoryModel(failed, parallel, 'RUNNING').states.A?.errors.at(-1)?.handling).toBe('pending');
  });
});
