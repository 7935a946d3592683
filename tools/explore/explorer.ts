/**
 * The exploration: a fault-free run, then every single fault at each attempt it reached, then pairs
 * (each single's run tells where a second fault can go), all on one stack, each run checked.
 */
import { checkRun, type CheckReport } from './checker.js';
import { taskStates, type TaskInfo } from './definition.js';
import { runCombination, type RunResult } from './run.js';
import { comboId, covers, frontier, pairs, sampleStratified, siteOf, singles, type Combination } from './space.js';
import { startExploreStack } from './stack.js';

export interface ExploreOptions {
  /** Pairs to run: all of them, or a seeded sample of this many. */
  readonly pairs: 'all' | number;
  readonly seed: number;
  /** Only combinations with a fault in a state whose name contains this. */
  readonly only?: string;
  /** Run exactly these combinations (ids as printed) instead of exploring. */
  readonly ids?: readonly string[];
  readonly onProgress?: (done: number, total: number, phase: string) => void;
}

export interface Explored extends CheckReport {
  readonly id: string;
  readonly combo: Combination;
}

export interface Exploration {
  readonly tasks: readonly TaskInfo[];
  readonly results: readonly Explored[];
  /** Pairs the space holds (before sampling). */
  readonly pairSpace: number;
  readonly singleSpace: number;
  /** Combinations of 3, 4, ... faults at states only runs of one fault fewer reached (long form). */
  readonly deeperSpace: readonly number[];
  /** Task states some run entered, on either delivery. */
  readonly reached: ReadonlySet<string>;
  /** Sites given a fault by some combination: a state, per region group inside the Forward map (space.ts siteOf). */
  readonly sites: ReadonlySet<string>;
  readonly ms: number;
}

/** The deepest combination the long form builds (a deeper one only when a state is still unreached). */
const MAX_FAULTS = 6;

export async function explore(options: ExploreOptions, replay?: (id: string) => Combination): Promise<Exploration> {
  const began = Date.now();
  const stack = await startExploreStack();
  const list = taskStates(stack.setup.definition);
  const tasks = new Map(list.map((t) => [t.name, t]));
  const results: Explored[] = [];
  const reached = new Set<string>();
  // Sites (a state, per region group inside the Forward map) some combination put a fault at.
  const faulted = new Set<string>();
  const record = (combo: Combination, run: RunResult) => {
    for (const point of run.points) reached.add(point.state);
    for (const point of run.points) if (combo.some((f) => covers(f, point.state, point.item, point.attempt, point.execution))) faulted.add(siteOf(point));
    results.push({ id: comboId(combo), combo, ...checkRun(run.view) });
    return run;
  };
  const matches = (combo: Combination) => !options.only || combo.some((f) => f.state.includes(options.only as string));
  try {
    if (options.ids?.length && replay) {
      for (const [i, id] of options.ids.entries()) {
        const combo = replay(id);
        record(combo, await runCombination(stack, tasks, combo));
        options.onProgress?.(i + 1, options.ids.length, 'replay');
      }
      return { tasks: list, results, pairSpace: 0, singleSpace: 0, deeperSpace: [], reached, sites: faulted, ms: Date.now() - began };
    }
    const baseline = record([], await runCombination(stack, tasks, []));
    const single = singles(baseline.points).filter(matches);
    const singleRuns: Array<{ combo: Combination } & RunResult> = [];
    for (const [i, combo] of single.entries()) {
      singleRuns.push({ combo, ...record(combo, await runCombination(stack, tasks, combo)) });
      options.onProgress?.(i + 1, single.length, 'single faults');
    }
    const space = pairs(singleRuns).filter(matches);
    const chosen = options.pairs === 'all' ? space : sampleStratified(space, options.pairs, options.seed);
    const pairRuns: Array<{ combo: Combination } & RunResult> = [];
    for (const [i, combo] of chosen.entries()) {
      pairRuns.push({ combo, ...record(combo, await runCombination(stack, tasks, combo)) });
      options.onProgress?.(i + 1, chosen.length, 'pairs of faults');
    }
    // The long form: one fault more wherever only runs of that many faults reached, level by level, until
    // every reached Task (on either delivery) has had every fault (the dead-letter path, its retry branch).
    const deeper: number[] = [];
    if (options.pairs === 'all') {
      let level = 2;
      let previous: Array<{ combo: Combination } & RunResult> = pairRuns;
      while (level < MAX_FAULTS) {
        const next = frontier(previous, faulted, level).filter(matches);
        if (!next.length) break;
        deeper.push(next.length);
        const runs: Array<{ combo: Combination } & RunResult> = [];
        for (const [i, combo] of next.entries()) {
          runs.push({ combo, ...record(combo, await runCombination(stack, tasks, combo)) });
          options.onProgress?.(i + 1, next.length, `${level + 1} faults where only ${level} reach`);
        }
        previous = runs;
        level++;
      }
    }
    return { tasks: list, results, pairSpace: space.length, singleSpace: single.length, deeperSpace: deeper, reached, sites: faulted, ms: Date.now() - began };
  } finally {
    await stack.stop();
  }
}
