/**
 * A view of the definition's graph that a person can read: Map and Parallel states drawn as one block
 * (what ran inside summed up) unless opened, and, for one execution, the states it never entered left
 * out. No AWS import, no DOM: GET /api/graph?view= lays the result out with graph.ts and the page draws it.
 *
 * Leaving states out keeps the graph truthful: every edge drawn is an edge of the definition between two
 * states drawn, and a dashed edge (its `skipped` names the states left out on its path) is added only
 * where a state drawn could not otherwise be reached from the start. In a complete history that never
 * happens (an execution only moves between states it entered); it does when the history lacks events.
 * A dashed edge for every path not taken would draw what did not happen.
 */
import { z } from 'zod';
import { allStates, innerMachines, layoutMachine, stateEdges, type AslMachine, type AslState, type BlockSummary, type EdgeKind, type GraphLayout, type LayoutMachine, type LayoutState } from './graph.js';
import type { StateOutcome } from './history-model.js';

/** The outcomes of a state that was entered, worst last (history-model.ts gives one per state). */
export const ENTERED_OUTCOMES = ['succeeded', 'running', 'retried', 'caught', 'failed'] as const satisfies readonly StateOutcome[];
type EnteredOutcome = (typeof ENTERED_OUTCOMES)[number];
const rank = (outcome: string) => ENTERED_OUTCOMES.indexOf(outcome as EnteredOutcome);

/** What one execution did to a state (history-model.ts StateSummary, the part a view needs). */
export interface StateRun {
  readonly outcome: EnteredOutcome;
  readonly visits: number;
  readonly retries?: number;
  /**
   * A Map: its iterations (over all its visits) by outcome, an iteration's outcome the worst of the
   * states it entered, as the page reads them from each visit's iteration (history-model.ts Visit).
   */
  readonly iterations?: Readonly<Partial<Record<EnteredOutcome, number>>>;
}

/** A block's summary; a Map's with its iterations by outcome when the view gives them. */
export type ViewBlockSummary = BlockSummary & { readonly iterations?: StateRun['iterations'] };

export interface GraphView {
  /** The Map and Parallel states drawn open, or 'all'; every other one is drawn as a block. */
  readonly open: readonly string[] | 'all';
  /** The states one execution entered; absent for the bare definition. */
  readonly states?: Readonly<Record<string, StateRun>>;
  /** Leave out the states never entered (needs `states`). */
  readonly hide: boolean;
}

const stateName = z.string().min(1, 'must not be empty').max(80, 'must be at most 80 characters (a state name)');
export const graphViewSchema = z
  .strictObject({
    open: z.union([z.literal('all'), z.array(stateName).max(1000)], { error: 'must be "all" or a list of Map and Parallel state names' }).default([]),
    states: z
      .record(
        stateName,
        z.strictObject({
          outcome: z.enum(ENTERED_OUTCOMES, { error: `must be one of ${ENTERED_OUTCOMES.join(', ')}` }),
          visits: z.number().int().min(0),
          retries: z.number().int().min(0).optional(),
          iterations: z
            .record(z.string().pipe(z.enum(ENTERED_OUTCOMES)), z.number().int().min(0), {
              error: (issue) => (issue.code === 'invalid_key' ? `must be an outcome: one of ${ENTERED_OUTCOMES.join(', ')}` : undefined),
            })
            .optional(),
        }),
      )
      .optional(),
    hide: z.boolean({ error: 'must be true or false' }).default(false),
  })
  .refine((v) => !v.hide || v.states !== undefined, { message: 'needs states: what the execution entered', path: ['hide'] });

/** The `view` query parameter: the view as JSON. */
export const graphViewParam = z
  .string()
  .max(16_000, 'must be at most 16000 characters')
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be JSON: {"open": [names] or "all", "states": {name: {"outcome", "visits"}}, "hide": true}' });
      return z.NEVER;
    }
  })
  .pipe(graphViewSchema);

const isOpen = (view: GraphView, name: string) => view.open === 'all' || view.open.includes(name);

/** The names in `open` that are no Map or Parallel state of the definition. */
export function unknownOpen(definition: AslMachine, view: GraphView): string[] {
  if (view.open === 'all') return [];
  const blocks = new Set(allStates(definition).filter((s) => innerMachines(s.state).length).map((s) => s.name));
  return view.open.filter((name) => !blocks.has(name));
}

const worst = (outcomes: readonly string[]) => outcomes.reduce<string | undefined>((w, o) => (w === undefined || rank(o) > rank(w) ? o : w), undefined);
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const statesIn = (machine: AslMachine) => allStates(machine).map((s) => s.name);

/** "1 caught, 2 succeeded": worst first. */
function tally(counts: Record<string, number>, unit?: [string, string]): string {
  return Object.entries(counts)
    .sort(([a], [b]) => rank(b) - rank(a))
    .map(([outcome, n]) => (unit ? `${plural(n, unit[0], unit[1])} ${outcome === 'not-entered' ? 'not entered' : outcome}` : `${n} ${outcome === 'not-entered' ? 'not entered' : outcome}`))
    .join(', ');
}

/**
 * What a Map or Parallel state drawn as one block says: how many iterations or branches ran, and their
 * outcomes (Parallel: each branch by its worst state; Map: each iteration by its worst state when the
 * view gives them, else the entries of its first state and the states inside that did not succeed).
 */
export function blockSummary(name: string, state: AslState, states?: GraphView['states']): ViewBlockSummary {
  const machines = innerMachines(state);
  const inside = machines.flatMap(statesIn);
  const retries = inside.reduce((s, n) => s + (states?.[n]?.retries ?? 0), 0);
  if (!states) {
    const text = state.Type === 'Parallel' ? `${plural(machines.length, 'branch', 'branches')} · ${plural(inside.length, 'state')}` : `${plural(inside.length, 'state')} inside`;
    return { outcome: 'not-entered', runs: 0, ...(state.Type === 'Parallel' ? { branches: machines.length } : {}), outcomes: {}, retries: 0, text };
  }
  const entered = inside.filter((n) => states[n]);
  const outcome = worst([...(states[name] ? [states[name].outcome] : []), ...entered.map((n) => states[n]?.outcome as string)]) ?? 'not-entered';
  if (state.Type === 'Parallel') {
    const outcomes: Record<string, number> = {};
    let runs = 0;
    for (const branch of machines) {
      const ran = statesIn(branch).filter((n) => states[n]);
      if (ran.length) runs++;
      const o = worst(ran.map((n) => states[n]?.outcome as string)) ?? 'not-entered';
      outcomes[o] = (outcomes[o] ?? 0) + 1;
    }
    const text = outcome === 'not-entered' ? 'not entered' : `${runs === machines.length ? plural(runs, 'branch', 'branches') : `${runs} of ${machines.length} branches ran`} · ${tally(outcomes)}`;
    return { outcome, runs, branches: machines.length, outcomes, retries, text };
  }
  const outcomes: Record<string, number> = {};
  for (const n of entered) outcomes[states[n]?.outcome as string] = (outcomes[states[n]?.outcome as string] ?? 0) + 1;
  const iterations = states[name]?.iterations;
  if (iterations && outcome !== 'not-entered') {
    const counts = Object.entries(iterations).filter(([, n]) => n > 0);
    const runs = counts.reduce((sum, [, n]) => sum + n, 0);
    const [only] = counts;
    const how = counts.length === 1 && only ? (runs === 1 ? only[0] : `all ${only[0]}`) : tally(Object.fromEntries(counts));
    return { outcome, runs, outcomes, iterations, retries, text: `${plural(runs, 'iteration')}${runs ? `: ${how}` : ''}` };
  }
  const first = machines[0]?.StartAt;
  const runs = first ? (states[first]?.visits ?? 0) : 0;
  const troubles = Object.fromEntries(Object.entries(outcomes).filter(([o]) => o !== 'succeeded'));
  const text =
    outcome === 'not-entered'
      ? 'not entered'
      : `${plural(runs, 'iteration')}${entered.length ? ` · ${Object.keys(troubles).length ? tally(troubles, ['state', 'states']) : 'all succeeded'}` : ''}`;
  return { outcome, runs, outcomes, retries, text };
}

/**
 * Edges of one machine level between the states drawn: the definition's own, plus a dashed edge through
 * states left out wherever a state drawn could not otherwise be reached from the level's start.
 */
export function levelEdges(machine: AslMachine, shown: ReadonlySet<string>): Map<string, Array<{ to: string; kinds: EdgeKind[]; skipped?: string[] }>> {
  const states = machine.States ?? {};
  const direct = (name: string) => stateEdges(states[name] ?? {}).filter((e) => e.to in states);
  const edges = new Map([...shown].map((name) => [name, direct(name).filter((e) => shown.has(e.to))]));

  // The states drawn first reached from the start: the start itself, or those past the start left out.
  const roots: string[] = [];
  const start = machine.StartAt;
  if (start && start in states) {
    if (shown.has(start)) roots.push(start);
    else roots.push(...throughHidden(start, direct, shown).map((p) => p.to));
  }
  const reached = new Set<string>();
  const reach = (from: string[]) => {
    const todo = from.filter((n) => !reached.has(n));
    for (const n of todo) reached.add(n);
    while (todo.length) {
      for (const e of edges.get(todo.pop() as string) ?? []) {
        if (!reached.has(e.to)) {
          reached.add(e.to);
          todo.push(e.to);
        }
      }
    }
  };
  reach(roots);
  // Bridge to what is not reached, from what is, until nothing more can be.
  for (let grew = true; grew && reached.size < shown.size; ) {
    grew = false;
    for (const from of [...shown].filter((n) => reached.has(n))) {
      for (const first of direct(from).filter((e) => !shown.has(e.to))) {
        for (const path of throughHidden(first.to, direct, shown)) {
          if (reached.has(path.to)) continue;
          const list = edges.get(from) as Array<{ to: string; kinds: EdgeKind[]; skipped?: string[] }>;
          if (!list.some((e) => e.to === path.to)) list.push({ to: path.to, kinds: first.kinds, skipped: path.skipped });
          reach([path.to]);
          grew = true;
        }
      }
    }
  }
  return edges;
}

/** The states drawn first reached from `hidden` through states left out, each with the states on its way. */
function throughHidden(hidden: string, direct: (name: string) => Array<{ to: string }>, shown: ReadonlySet<string>): Array<{ to: string; skipped: string[] }> {
  const found: Array<{ to: string; skipped: string[] }> = [];
  const seen = new Set([hidden]);
  const queue: Array<{ name: string; path: string[] }> = [{ name: hidden, path: [hidden] }];
  while (queue.length) {
    const { name, path } = queue.shift() as { name: string; path: string[] };
    for (const { to } of direct(name)) {
      if (seen.has(to)) continue;
      seen.add(to);
      if (shown.has(to)) found.push({ to, skipped: path });
      else queue.push({ name: to, path: [...path, to] });
    }
  }
  return found;
}

/** The view as a LayoutMachine, and how many states it leaves out (inside blocks or never entered). */
export function viewMachine(definition: AslMachine, view: GraphView): { machine: LayoutMachine; hidden: number } {
  let drawn = 0;
  const level = (machine: AslMachine): LayoutMachine => {
    const states = machine.States ?? {};
    const shown = new Set(Object.keys(states).filter((n) => !view.hide || view.states?.[n]));
    const edges = levelEdges(machine, shown);
    const out: Record<string, LayoutState> = {};
    for (const name of shown) {
      const state = states[name] ?? {};
      const inner = innerMachines(state);
      const base = { type: state.Type ?? '?', edges: edges.get(name) ?? [] };
      drawn++;
      if (inner.length && !isOpen(view, name)) out[name] = { ...base, block: blockSummary(name, state, view.states) };
      else if (inner.length) {
        const machines = inner.map(level);
        // A branch with nothing drawn (it never ran) is left out with its states.
        const kept = view.hide && state.Type === 'Parallel' ? machines.filter((m) => Object.keys(m.states).length) : machines;
        out[name] = { ...base, machines: kept };
      } else out[name] = base;
    }
    return { ...(machine.StartAt !== undefined ? { startAt: machine.StartAt } : {}), states: out };
  };
  const machine = level(definition);
  return { machine, hidden: allStates(definition).length - drawn };
}

export interface ViewLayout extends GraphLayout {
  /** Every state of the definition, drawn or not. */
  readonly stateCount: number;
  /** States not drawn: inside blocks, or never entered. */
  readonly hidden: number;
}

/** The view laid out, ready to draw. */
export function layoutView(definition: AslMachine, view: GraphView): ViewLayout {
  const { machine, hidden } = viewMachine(definition, view);
  return { ...layoutMachine(machine), stateCount: allStates(definition).length, hidden };
}
