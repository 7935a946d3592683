/**
 * The exploration: a fault-free run, then every single fault at each attempt it reached, then pairs
 * (each single's run tells where a second fault can go), all on one stack, each run checked.
 */
import { checkRun, type CheckReport } from './checker.js';
import { taskStates, type TaskInfo } from './definition.js';
import { runCombination, type RunResult } from './run.js';
import { comboId, frontier, pairs, sampleStratified, singles, type Combination } from './space.js';
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
  /** Third faults at states only pairs reached (long form). */
  readonly tripleSpace: number;
  readonly ms: number;
}

export async function explore(options: ExploreOptions, replay?: (id: string) => Combination): Promise<Exploration> {
  const began = Date.now();
  const stack = await startExploreStack();
  const list = taskStates(stack.setup.definition);
  const tasks = new Map(list.map((t) => [t.name, t]));
  const results: Explored[] = [];
  const record = (combo: Combination, run: RunResult) => {
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
      return { tasks: list, results, pairSpace: 0, singleSpace: 0, tripleSpace: 0, ms: Date.now() - began };
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
    // The long form: a third fault where only a pair's run could reach (every reached Task gets faults).
    const triples = options.pairs === 'all' ? frontier(pairRuns, new Set(results.flatMap((r) => r.combo.map((f) => f.state)))).filter(matches) : [];
    for (const [i, combo] of triples.entries()) {
      record(combo, await runCombination(stack, tasks, combo));
      options.onProgress?.(i + 1, triples.length, 'third faults where only pairs reach');
    }
    return { tasks: list, results, pairSpace: space.length, singleSpace: single.length, tripleSpace: triples.length, ms: Date.now() - began };
  } finally {
    await stack.stop();
  }
}
