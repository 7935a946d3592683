/** A view of the graph a person can read: blocks for Map and Parallel, states never entered left out. */
import { describe, expect, it } from 'vitest';
import { allStates, layoutDefinition, type AslMachine, type GraphLayout } from '../../../tools/console/graph.js';
import { blockSummary, graphViewParam, layoutView, levelEdges, unknownOpen, type StateRun } from '../../../tools/console/graph-view.js';
import { testDefinition } from '../../support/definition-refs.js';

const definition = testDefinition() as AslMachine;
const stateCount = allStates(definition).length;

/** What a batch of 8 that failed over from one of 3 regions enters (the history model's summaries). */
const run = (outcome: StateRun['outcome'], visits = 1, retries = 0): StateRun => ({ outcome, visits, retries });
const failover: Record<string, StateRun> = {
  'Claim requests': run('succeeded'),
  'Put claim': run('succeeded', 8),
  'Tried before?': run('succeeded', 8),
  Claimed: run('succeeded', 8),
  'Read queue depths': run('succeeded'),
  'Choose regions': run('succeeded'),
  'Forward to regions': run('succeeded'),
  'To a region?': run('succeeded', 3),
  Forward: run('caught', 3, 1),
  'Region refused': run('succeeded'),
  Failover: run('succeeded'),
  'Anything pending?': run('succeeded', 2),
  Settle: run('succeeded', 3),
  'Settle path': run('succeeded', 8),
  'Mark dispatched': run('succeeded', 8),
  Dispatched: run('succeeded', 8),
  'Report outcomes': run('succeeded'),
};

const names = (layout: GraphLayout) => layout.nodes.map((n) => n.name);
const node = (layout: GraphLayout, name: string) => layout.nodes.find((n) => n.name === name);
const edges = (layout: GraphLayout) => layout.edges.map((e) => `${e.from} -> ${e.to}${e.skipped ? ` (via ${e.skipped.join(', ')})` : ''}`);

/** No two boxes of one level overlap, each box sits inside its container, each edge joins its boxes. */
function expectDrawable(layout: GraphLayout) {
  const byName = new Map(layout.nodes.map((n) => [n.name, n]));
  for (const a of layout.nodes) {
    const p = a.parent ? byName.get(a.parent) : undefined;
    if (p) expect(a.x >= p.x && a.y >= p.y && a.x + a.w <= p.x + p.w + 0.2 && a.y + a.h <= p.y + p.h + 0.2, `${a.name} inside ${p.name}`).toBe(true);
    for (const b of layout.nodes) {
      if (a === b || a.parent !== b.parent) continue;
      expect(a.x + a.w <= b.x + 0.2 || b.x + b.w <= a.x + 0.2 || a.y + a.h <= b.y + 0.2 || b.y + b.h <= a.y + 0.2, `${a.name} / ${b.name}`).toBe(true);
    }
  }
  for (const e of layout.edges.filter((x) => !x.back)) {
    const [a, b] = [byName.get(e.from), byName.get(e.to)];
    expect(a && b, `${e.from} -> ${e.to} joins two boxes drawn`).toBeTruthy();
    expect(e.points[0]).toEqual([(a?.x ?? 0) + (a?.w ?? 0) / 2, (a?.y ?? 0) + (a?.h ?? 0)].map((v) => Math.round(v * 10) / 10));
    expect(e.points.at(-1)).toEqual([(b?.x ?? 0) + (b?.w ?? 0) / 2, b?.y ?? 0].map((v) => Math.round(v * 10) / 10));
  }
}

describe('the dispatch definition as blocks', () => {
  it('draws the bare definition with every Map as one block: the top level only, each block saying what it holds', () => {
    const layout = layoutView(definition, { open: [], hide: false });
    expect(names(layout)).toEqual(['Claim requests', 'Read queue depths', 'No depth readings', 'Choose regions', 'Forward to regions', 'Report outcomes']);
    expect(layout.hidden).toBe(stateCount - 6);
    expect(layout.stateCount).toBe(stateCount);
    const claim = node(layout, 'Claim requests');
    expect(claim).toMatchObject({ collapsed: true, container: false, summary: { outcome: 'not-entered', text: '17 states inside' } });
    expect(node(layout, 'Forward to regions')?.summary?.text).toBe('28 states inside');
    expect(layout.branches).toEqual([]);
    expectDrawable(layout);
  });

  it('opens a block in place: its states drawn inside it, a block inside it still closed', () => {
    const layout = layoutView(definition, { open: ['Forward to regions'], hide: false });
    const forward = node(layout, 'Forward to regions');
    expect(forward).toMatchObject({ container: true });
    expect(forward?.collapsed).toBeUndefined();
    for (const name of ['To a region?', 'Forward', 'Failover', 'Settle']) expect(node(layout, name)?.parent, name).toBe('Forward to regions');
    expect(node(layout, 'Settle')).toMatchObject({ collapsed: true });
    expect(node(layout, 'Mark dispatched')).toBeUndefined();
    expect(node(layout, 'Put claim')).toBeUndefined();
    expectDrawable(layout);
  });

  it('opened all, draws what the whole definition draws', () => {
    const all = layoutView(definition, { open: 'all', hide: false });
    const whole = layoutDefinition(definition);
    expect(all.nodes).toEqual(whole.nodes);
    expect(all.edges).toEqual(whole.edges);
    expect(all.hidden).toBe(0);
  });
});

describe('one execution: blocks summed up, states never entered left out', () => {
  it('at its default view draws a handful of boxes: the blocks and the top-level states it entered', () => {
    const layout = layoutView(definition, { open: [], states: failover, hide: true });
    expect(names(layout)).toEqual(['Claim requests', 'Read queue depths', 'Choose regions', 'Forward to regions', 'Report outcomes']);
    expect(layout.nodes.length).toBeLessThanOrEqual(8);
    // Small enough to read at fit in a frame of 900 x 600: drawn at no less than its size.
    expect(layout.width).toBeLessThanOrEqual(900);
    expect(layout.height).toBeLessThanOrEqual(600);
    expect(edges(layout)).toEqual(
      expect.arrayContaining(['Claim requests -> Read queue depths', 'Read queue depths -> Choose regions', 'Choose regions -> Forward to regions', 'Forward to regions -> Report outcomes']),
    );
    expect(layout.edges).toHaveLength(4);
  });

  it('sums each block up: iterations, the states inside that did not succeed, coloured by the worst', () => {
    const layout = layoutView(definition, { open: [], states: failover, hide: true });
    expect(node(layout, 'Claim requests')?.summary).toMatchObject({ outcome: 'succeeded', runs: 8, text: '8 iterations · all succeeded', retries: 0 });
    // The Map itself succeeded; a Forward inside was caught: the block is coloured as caught.
    expect(node(layout, 'Forward to regions')?.summary).toMatchObject({
      outcome: 'caught',
      runs: 3,
      retries: 1,
      outcomes: { succeeded: 8, caught: 1 },
      text: '3 iterations · 1 state caught',
    });
    expect(node(layout, 'Forward to regions')?.summaryLines).toEqual(['3 iterations · 1 state', 'caught']);
  });

  it("with each Map's iterations by outcome (what the page reads from the visits), counts iterations, not states", () => {
    const states = {
      ...failover,
      'Claim requests': { ...run('succeeded'), iterations: { succeeded: 8 } },
      'Forward to regions': { ...run('succeeded'), iterations: { succeeded: 2, caught: 1 } },
      Settle: { ...run('succeeded', 3), iterations: { succeeded: 8 } },
    };
    const layout = layoutView(definition, { open: ['Forward to regions'], states, hide: true });
    expect(node(layout, 'Forward to regions')?.summary).toBeUndefined();
    const closed = layoutView(definition, { open: [], states, hide: true });
    expect(node(closed, 'Forward to regions')?.summary).toMatchObject({
      outcome: 'caught',
      runs: 3,
      retries: 1,
      iterations: { succeeded: 2, caught: 1 },
      text: '3 iterations: 1 caught, 2 succeeded',
    });
    expect(node(closed, 'Claim requests')?.summary).toMatchObject({ runs: 8, text: '8 iterations: all succeeded' });
    expect(node(layout, 'Settle')?.summary?.text).toBe('8 iterations: all succeeded');
    // One iteration says how it ended.
    const one = blockSummary('Forward to regions', definition.States?.['Forward to regions'] ?? {}, { 'Forward to regions': { ...run('retried'), iterations: { retried: 1 } } });
    expect(one.text).toBe('1 iteration: retried');
  });

  it('opened, draws only the states entered, with the definition\'s edges between them and no dashed edge', () => {
    const layout = layoutView(definition, { open: 'all', states: failover, hide: true });
    expect(new Set(names(layout))).toEqual(new Set(Object.keys(failover)));
    expect(layout.hidden).toBe(stateCount - Object.keys(failover).length);
    // Every state is reached through states entered: nothing is bridged.
    expect(layout.edges.filter((e) => e.skipped)).toEqual([]);
    expect(edges(layout)).toEqual(expect.arrayContaining(['Forward -> Region refused', 'Region refused -> Failover', 'Failover -> Settle', 'Anything pending? -> Settle']));
    expectDrawable(layout);
  });

  it('never colours a block that was not entered, and leaves it out when hiding', () => {
    const entered = { ...failover };
    delete entered['Claim requests'];
    for (const n of ['Put claim', 'Tried before?', 'Claimed']) delete entered[n];
    const shown = layoutView(definition, { open: [], states: entered, hide: false });
    expect(node(shown, 'Claim requests')?.summary).toMatchObject({ outcome: 'not-entered', runs: 0, text: 'not entered' });
    expect(node(layoutView(definition, { open: [], states: entered, hide: true }), 'Claim requests')).toBeUndefined();
  });
});

describe('edges where states are left out', () => {
  const pass = (next?: string) => (next ? { Type: 'Pass', Next: next } : { Type: 'Pass', End: true });
  // A -> H1 -> H2 -> C, A -> B -> C, and D reached only through H3.
  const machine: AslMachine = {
    StartAt: 'A',
    States: {
      A: { Type: 'Choice', Choices: [{ Next: 'H1' }, { Next: 'B' }], Default: 'H3' } as never,
      H1: pass('H2'),
      H2: pass('C'),
      B: pass('C'),
      C: pass(),
      H3: pass('D'),
      D: pass(),
    },
  };

  it('bridges through the states left out only to a state nothing else reaches, naming the states skipped', () => {
    const edgesOf = levelEdges(machine, new Set(['A', 'B', 'C', 'D']));
    expect(edgesOf.get('A')).toEqual([
      { to: 'B', kinds: ['choice'] },
      { to: 'D', kinds: ['default'], skipped: ['H3'] },
    ]);
    expect(edgesOf.get('B')).toEqual([{ to: 'C', kinds: ['next'] }]);
  });

  it('bridges over a longer run of states left out, and from a start left out draws no edge into the first state', () => {
    expect(levelEdges(machine, new Set(['A', 'C'])).get('A')).toEqual([{ to: 'C', kinds: ['choice'], skipped: ['H1', 'H2'] }]);
    const fromHiddenStart = levelEdges(machine, new Set(['B', 'C']));
    expect(fromHiddenStart.get('B')).toEqual([{ to: 'C', kinds: ['next'] }]);
  });

  it('lays the dashed edge out like any other, from its source to its target', () => {
    const states = { A: run('succeeded'), C: run('succeeded'), D: run('succeeded') };
    const layout = layoutView(machine, { open: [], states, hide: true });
    expect(names(layout).sort()).toEqual(['A', 'C', 'D']);
    expect(edges(layout).sort()).toEqual(['A -> C (via H1, H2)', 'A -> D (via H3)']);
    expectDrawable(layout);
  });
});

describe('a Parallel block', () => {
  const task = { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:000000000000:function:f', End: true };
  const parallel: AslMachine = {
    StartAt: 'P',
    States: {
      P: {
        Type: 'Parallel',
        Branches: [
          { StartAt: 'A', States: { A: task } },
          { StartAt: 'B', States: { B: task } },
          { StartAt: 'C', States: { C: task } },
        ],
        End: true,
      } as never,
    },
  };

  it('counts the branches that ran and their worst outcomes', () => {
    const states = { P: run('succeeded'), A: run('caught'), B: run('succeeded') };
    expect(blockSummary('P', parallel.States?.P ?? {}, states)).toMatchObject({
      outcome: 'caught',
      runs: 2,
      branches: 3,
      outcomes: { caught: 1, succeeded: 1, 'not-entered': 1 },
      text: '2 of 3 branches ran · 1 caught, 1 succeeded, 1 not entered',
    });
    expect(blockSummary('P', parallel.States?.P ?? {})).toMatchObject({ outcome: 'not-entered', text: '3 branches · 3 states' });
  });

  it('opened while hiding, leaves out the branch that never ran', () => {
    const layout = layoutView(parallel, { open: ['P'], states: { P: run('succeeded'), A: run('succeeded'), B: run('succeeded') }, hide: true });
    expect(names(layout).sort()).toEqual(['A', 'B', 'P']);
    expect(layout.branches).toHaveLength(2);
    expectDrawable(layout);
  });
});

describe('the view parameter', () => {
  const parse = (text: string) => graphViewParam.safeParse(text);
  const message = (text: string) => {
    const result = parse(text);
    return result.success ? undefined : `${result.error.issues[0]?.path.join('.')}: ${result.error.issues[0]?.message}`;
  };

  it('takes JSON, with defaults for what it leaves out', () => {
    expect(parse('{}')).toMatchObject({ success: true, data: { open: [], hide: false } });
    expect(parse('{"open":"all","hide":true,"states":{"A":{"outcome":"caught","visits":2}}}')).toMatchObject({ success: true, data: { open: 'all', hide: true } });
    expect(parse('{"states":{"M":{"outcome":"caught","visits":1,"iterations":{"caught":1,"succeeded":2}}}}')).toMatchObject({
      success: true,
      data: { states: { M: { iterations: { caught: 1, succeeded: 2 } } } },
    });
  });

  it('says what is wrong with a bad one', () => {
    expect(message('{open')).toMatch(/^: must be JSON/);
    expect(message('{"open":"some"}')).toBe('open: must be "all" or a list of Map and Parallel state names');
    expect(message('{"hide":true}')).toBe('hide: needs states: what the execution entered');
    expect(message('{"states":{"A":{"outcome":"fine","visits":1}}}')).toMatch(/^states\.A\.outcome: must be one of succeeded/);
    expect(message('{"states":{"M":{"outcome":"caught","visits":1,"iterations":{"fine":2}}}}')).toBe(
      'states.M.iterations.fine: must be an outcome: one of succeeded, running, retried, caught, failed',
    );
    expect(message('{"states":{"M":{"outcome":"caught","visits":1,"iterations":{"caught":-1}}}}')).toMatch(/^states\.M\.iterations\.caught: /);
    expect(message('{"colour":"red"}')).toMatch(/colour/);
  });

  it('knows which names in open are no Map or Parallel state', () => {
    expect(unknownOpen(definition, { open: ['Forward to regions', 'Forward', 'Nowhere'], hide: false })).toEqual(['Forward', 'Nowhere']);
    expect(unknownOpen(definition, { open: 'all', hide: false })).toEqual([]);
  });
});
