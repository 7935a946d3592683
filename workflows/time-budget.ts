/**
 * The time budget of invariant 9 (docs/architecture.md), by construction:
 *   worst-case execution < execution timeout < intake timeout < claim lease < master visibility timeout.
 *
 * `analyzeTimeBudget` derives the worst case from an ASL (JSONPath) definition: the longest path from
 * StartAt to an end, every Retry exhausted and every attempt running to its TimeoutSeconds. What cannot be
 * bounded (a cycle, a Task without TimeoutSeconds, a Wait on a path or timestamp) is refused, all problems
 * at once, with the states named. `checkTimeBudget` checks the ordering of the timeouts around it.
 *
 * Semantics (AWS Step Functions developer guide, "Handling errors in Step Functions workflows"; ASL spec,
 * "Errors"): a state's error is matched against its retriers in order and the FIRST match applies; each
 * retrier counts its own retries across the whole state execution (MaxAttempts, default 3; 0 = never
 * retried), its k-th delay is IntervalSeconds (default 1) x BackoffRate (default 2.0)^k capped by
 * MaxDelaySeconds, and JitterStrategy FULL only shortens delays. Inline Map runs at most 40 iterations
 * at once ("Using Map state in Inline mode"). Pure: no AWS SDK.
 */
import { z } from 'zod';

export interface TimeBudgetOptions {
  /** Most items any Map state iterates over (the intake sends at most 10 messages per execution). */
  readonly maxItems: number;
  /** Added to every Task attempt, for time TimeoutSeconds does not count (scheduling); default 0. */
  readonly attemptOverheadSeconds?: number;
}

export type StateType = 'Task' | 'Pass' | 'Choice' | 'Wait' | 'Succeed' | 'Fail' | 'Map' | 'Parallel';

/** How the worst path leaves a state: its Next, one of its Catchers, a Choice rule or the Choice Default. */
export type Exit = 'Next' | 'Catch' | 'Choice' | 'Default';

export interface BudgetStep {
  readonly state: string;
  readonly type: StateType;
  /** Worst time in this state: attempts x attemptSeconds + retryDelaySeconds. */
  readonly seconds: number;
  /** 1 + every retry the state's retriers allow. */
  readonly attempts: number;
  /** One attempt: TimeoutSeconds (Task), waves x iteration (Map), worst branch (Parallel), Seconds (Wait). */
  readonly attemptSeconds: number;
  readonly retryDelaySeconds: number;
  /** Map: rounds of at most MaxConcurrency iterations. */
  readonly waves?: number;
  /** Parallel: index (from 0) of the worst branch. */
  readonly branch?: number;
  /** Map: the worst iteration's path; Parallel: the worst branch's path. */
  readonly inner?: BudgetPath;
  /** Where the worst path goes next; absent at an end. */
  readonly next?: { readonly state: string; readonly via: Exit };
}

export interface BudgetPath {
  readonly seconds: number;
  readonly steps: readonly BudgetStep[];
}

export interface TimeBudget {
  readonly worstCaseSeconds: number;
  /** The worst path from StartAt, nested for Map and Parallel. */
  readonly steps: readonly BudgetStep[];
  /** The definition's own TimeoutSeconds, when it has one. */
  readonly timeoutSeconds?: number;
  readonly maxItems: number;
}

/** A definition that cannot be bounded, or timeouts out of order: `problems` holds one sentence each. */
export class TimeBudgetError extends Error {
  override readonly name = 'TimeBudgetError';
  constructor(
    readonly problems: readonly string[],
    headline = 'time budget violated',
  ) {
    super(`${headline}:\n${problems.map((p) => `- ${p}`).join('\n')}`);
  }
}

/** The fields of a definition the analysis reads; anything else (Parameters, ResultPath...) is ignored. */
export interface AslDefinition {
  readonly StartAt: string;
  readonly States: Readonly<Record<string, unknown>>;
  readonly TimeoutSeconds?: number;
}

/** Inline Map's own ceiling on concurrent iterations, whatever MaxConcurrency says (0 = "no limit"). */
export const INLINE_MAP_MAX_CONCURRENCY = 40;

/** Express executions end at 5 minutes. */
export const EXPRESS_MAX_SECONDS = 300;

// ---- ASL shapes (only the fields that bear on time) ----

const seconds = z.number().int().nonnegative();
const retrier = z.looseObject({
  ErrorEquals: z.array(z.string()).min(1),
  IntervalSeconds: z.number().int().positive().default(1),
  MaxAttempts: z.number().int().nonnegative().default(3),
  BackoffRate: z.number().min(1).default(2),
  MaxDelaySeconds: z.number().int().positive().optional(),
});
type Retrier = z.output<typeof retrier>;
const catcher = z.looseObject({ ErrorEquals: z.array(z.string()).min(1), Next: z.string() });
const machine = z.looseObject({ StartAt: z.string(), States: z.record(z.string(), z.unknown()) });
type Machine = z.output<typeof machine>;
const flow = { Next: z.string().optional(), End: z.boolean().optional() };
const errors = { Retry: z.array(retrier).default([]), Catch: z.array(catcher).default([]) };

const stateSchema = z.discriminatedUnion('Type', [
  z.looseObject({
    Type: z.literal('Task'),
    ...flow,
    ...errors,
    TimeoutSeconds: z.number().int().positive().optional(),
    TimeoutSecondsPath: z.string().optional(),
  }),
  z.looseObject({
    Type: z.literal('Map'),
    ...flow,
    ...errors,
    ItemProcessor: machine.extend({ ProcessorConfig: z.looseObject({ Mode: z.string().optional() }).optional() }).optional(),
    Iterator: machine.optional(),
    MaxConcurrency: seconds.optional(),
    MaxConcurrencyPath: z.string().optional(),
  }),
  z.looseObject({ Type: z.literal('Parallel'), ...flow, ...errors, Branches: z.array(machine).min(1) }),
  z.looseObject({
    Type: z.literal('Choice'),
    Choices: z.array(z.looseObject({ Next: z.string() })).min(1),
    Default: z.string().optional(),
  }),
  z.looseObject({
    Type: z.literal('Wait'),
    ...flow,
    Seconds: seconds.optional(),
    SecondsPath: z.string().optional(),
    Timestamp: z.string().optional(),
    TimestampPath: z.string().optional(),
  }),
  z.looseObject({ Type: z.literal('Pass'), ...flow }),
  z.looseObject({ Type: z.literal('Succeed') }),
  z.looseObject({ Type: z.literal('Fail') }),
]);
type AslState = z.output<typeof stateSchema>;

const optionsSchema = z.object({
  maxItems: z.number().int().positive(),
  attemptOverheadSeconds: z.number().nonnegative().default(0),
});

// ---- retries ----

/** Delays of one retrier's retries, in order; a capped or flat delay stops growing, so sum the rest at once. */
function retrierDelaySeconds(r: Retrier): number {
  const cap = r.MaxDelaySeconds ?? Infinity;
  let total = 0;
  for (let k = 0; k < r.MaxAttempts; k++) {
    const delay = Math.min(r.IntervalSeconds * r.BackoffRate ** k, cap);
    if (delay === cap || r.BackoffRate === 1) return total + delay * (r.MaxAttempts - k);
    total += delay;
  }
  return total;
}

/**
 * Every retrier that some error could reach is exhausted. A retrier whose every error name an earlier
 * retrier already matches (or that follows States.ALL) is never reached: the first match wins.
 */
function retryBudget(retriers: readonly Retrier[]): { retries: number; delaySeconds: number } {
  const matched = new Set<string>();
  let retries = 0;
  let delaySeconds = 0;
  for (const r of retriers) {
    const reachable = !matched.has('States.ALL') && r.ErrorEquals.some((e) => !matched.has(e));
    r.ErrorEquals.forEach((e) => matched.add(e));
    if (!reachable) continue;
    retries += r.MaxAttempts;
    delaySeconds += retrierDelaySeconds(r);
  }
  return { retries, delaySeconds };
}

// ---- the walk ----

interface Edge {
  readonly to: string;
  readonly via: Exit;
}
type Step = Omit<BudgetStep, 'next'>;

interface Context {
  readonly maxItems: number;
  readonly attemptOverheadSeconds: number;
  readonly problems: string[];
}

const NOTHING: BudgetPath = { seconds: 0, steps: [] };

/** `Task "Put claim" (in Map "Claim requests")`: a state named where it sits. */
function where(type: string, name: string, scope: readonly string[]): string {
  return `${type} "${name}"${scope.length ? ` (in ${scope.join(' > ')})` : ''}`;
}

/** The longest path from the machine's StartAt; problems are collected, not thrown, so all are reported. */
function longestPath(m: Machine, scope: readonly string[], ctx: Context): BudgetPath {
  const memo = new Map<string, BudgetPath>();
  const stack: string[] = [];

  const from = (name: string): BudgetPath => {
    const known = memo.get(name);
    if (known) return known;
    const loopStart = stack.indexOf(name);
    if (loopStart >= 0) {
      const loop = [...stack.slice(loopStart), name].map((s) => `"${s}"`).join(' -> ');
      ctx.problems.push(`cycle ${loop}${scope.length ? ` (in ${scope.join(' > ')})` : ''}: a loop makes the worst case unbounded`);
      return NOTHING;
    }
    stack.push(name);
    const { step, edges } = analyzeState(name, m.States[name], scope, ctx);
    let best: { path: BudgetPath; edge: Edge } | undefined;
    for (const edge of edges) {
      if (!(edge.to in m.States)) {
        ctx.problems.push(`${where(step.type, name, scope)} goes to "${edge.to}" (${edge.via}), which is not a state here`);
        continue;
      }
      const path = from(edge.to);
      if (!best || path.seconds > best.path.seconds) best = { path, edge };
    }
    stack.pop();
    const rest = best?.path ?? NOTHING;
    const head: BudgetStep = best ? { ...step, next: { state: best.edge.to, via: best.edge.via } } : step;
    const path = { seconds: step.seconds + rest.seconds, steps: [head, ...rest.steps] };
    memo.set(name, path);
    return path;
  };

  if (!(m.StartAt in m.States)) {
    ctx.problems.push(`StartAt "${m.StartAt}"${scope.length ? ` (in ${scope.join(' > ')})` : ''} is not a state`);
    return NOTHING;
  }
  return from(m.StartAt);
}

/** Next or End: a state that has neither leads nowhere (AWS rejects it too). */
function flowEdges(s: { Next?: string | undefined; End?: boolean | undefined }, at: string, ctx: Context): Edge[] {
  if (s.Next !== undefined) return [{ to: s.Next, via: 'Next' }];
  if (s.End !== true) ctx.problems.push(`${at} has neither Next nor End: true`);
  return [];
}

/** A state that runs an attempt and may retry it, then leaves by Next or by a Catcher after the same time. */
function withRetries(
  s: { Retry: readonly Retrier[]; Catch: readonly { Next: string }[]; Next?: string | undefined; End?: boolean | undefined },
  step: Pick<Step, 'state' | 'type' | 'attemptSeconds' | 'waves' | 'branch' | 'inner'>,
  at: string,
  ctx: Context,
): { step: Step; edges: Edge[] } {
  const { retries, delaySeconds } = retryBudget(s.Retry);
  const attempts = 1 + retries;
  return {
    step: { ...step, attempts, retryDelaySeconds: delaySeconds, seconds: attempts * step.attemptSeconds + delaySeconds },
    edges: [...flowEdges(s, at, ctx), ...s.Catch.map((c): Edge => ({ to: c.Next, via: 'Catch' }))],
  };
}

function analyzeState(name: string, raw: unknown, scope: readonly string[], ctx: Context): { step: Step; edges: Edge[] } {
  const type = typeof raw === 'object' && raw !== null && 'Type' in raw ? String(raw.Type) : '?';
  const parsed = stateSchema.safeParse(raw);
  const instant = (t: StateType): Step => ({ state: name, type: t, seconds: 0, attempts: 1, attemptSeconds: 0, retryDelaySeconds: 0 });
  if (!parsed.success) {
    ctx.problems.push(`${where(type, name, scope)} is not a state this analysis knows: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`);
    return { step: instant('Pass'), edges: [] };
  }
  const s: AslState = parsed.data;
  const at = where(s.Type, name, scope);

  switch (s.Type) {
    case 'Task': {
      if (s.TimeoutSeconds === undefined) {
        ctx.problems.push(
          `${at} has no TimeoutSeconds${s.TimeoutSecondsPath ? ' (TimeoutSecondsPath is only known at run time)' : ''}: ` +
            'one attempt is unbounded (the default is 99999999 s); give it a TimeoutSeconds',
        );
      }
      const attemptSeconds = (s.TimeoutSeconds ?? 0) + ctx.attemptOverheadSeconds;
      return withRetries(s, { state: name, type: 'Task', attemptSeconds }, at, ctx);
    }
    case 'Map': {
      const processor = s.ItemProcessor ?? s.Iterator;
      if (!processor) {
        ctx.problems.push(`${at} has neither ItemProcessor nor Iterator`);
        return withRetries(s, { state: name, type: 'Map', attemptSeconds: 0 }, at, ctx);
      }
      const mode = s.ItemProcessor?.ProcessorConfig?.Mode;
      if (mode !== undefined && mode !== 'INLINE') ctx.problems.push(`${at} runs in ${mode} mode: only INLINE Map is analyzed`);
      const inner = longestPath(processor, [...scope, `Map "${name}"`], ctx);
      // MaxConcurrencyPath is only known at run time: assume the worst, one item at a time.
      const asked = s.MaxConcurrencyPath !== undefined ? 1 : s.MaxConcurrency || INLINE_MAP_MAX_CONCURRENCY;
      const waves = Math.ceil(ctx.maxItems / Math.min(asked, INLINE_MAP_MAX_CONCURRENCY));
      return withRetries(s, { state: name, type: 'Map', attemptSeconds: waves * inner.seconds, waves, inner }, at, ctx);
    }
    case 'Parallel': {
      const branches = s.Branches.map((b, i) => longestPath(b, [...scope, `Parallel "${name}" branch ${i}`], ctx));
      let branch = 0;
      branches.forEach((b, i) => {
        if (b.seconds > (branches[branch]?.seconds ?? 0)) branch = i;
      });
      const inner = branches[branch] ?? NOTHING;
      return withRetries(s, { state: name, type: 'Parallel', attemptSeconds: inner.seconds, branch, inner }, at, ctx);
    }
    case 'Choice':
      return {
        step: instant('Choice'),
        edges: [
          ...s.Choices.map((c): Edge => ({ to: c.Next, via: 'Choice' })),
          ...(s.Default !== undefined ? [{ to: s.Default, via: 'Default' as const }] : []),
        ],
      };
    case 'Wait': {
      const dynamic = (['SecondsPath', 'Timestamp', 'TimestampPath'] as const).filter((f) => s[f] !== undefined);
      if (dynamic.length) ctx.problems.push(`${at} waits on ${dynamic.join(', ')}: unbounded; use Seconds`);
      else if (s.Seconds === undefined) ctx.problems.push(`${at} has no Seconds`);
      const wait = s.Seconds ?? 0;
      return { step: { ...instant('Wait'), seconds: wait, attemptSeconds: wait }, edges: flowEdges(s, at, ctx) };
    }
    case 'Pass':
      return { step: instant('Pass'), edges: flowEdges(s, at, ctx) };
    case 'Succeed':
    case 'Fail':
      return { step: instant(s.Type), edges: [] };
  }
}

/**
 * The worst-case duration of one execution of `definition`, with the path that takes it.
 * Throws a TimeBudgetError listing every state that makes the worst case unbounded.
 */
export function analyzeTimeBudget(definition: AslDefinition, options: TimeBudgetOptions): TimeBudget {
  const opts = optionsSchema.parse(options);
  const root = machine.extend({ TimeoutSeconds: z.number().int().positive().optional() }).safeParse(definition);
  if (!root.success) {
    throw new TimeBudgetError([z.prettifyError(root.error).replace(/\n/g, '; ')], 'not a state machine definition');
  }
  const ctx: Context = { ...opts, problems: [] };
  const path = longestPath(root.data, [], ctx);
  if (ctx.problems.length) {
    throw new TimeBudgetError([...new Set(ctx.problems)], 'cannot bound the worst-case duration of this state machine');
  }
  return {
    worstCaseSeconds: path.seconds,
    steps: path.steps,
    maxItems: opts.maxItems,
    ...(root.data.TimeoutSeconds !== undefined ? { timeoutSeconds: root.data.TimeoutSeconds } : {}),
  };
}

// ---- rendering ----

const num = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2).replace(/\.?0+$/, ''));

/** "3 x 2 s + 3 s delays", "1 wave x 21 s", "worst branch 2: 70 s". */
function describe(step: BudgetStep): string {
  let attempt: string;
  if (step.type === 'Map') attempt = `${step.waves} wave${step.waves === 1 ? '' : 's'} x ${num(step.inner?.seconds ?? 0)} s`;
  else if (step.type === 'Parallel') attempt = `worst branch ${step.branch}: ${num(step.attemptSeconds)} s`;
  else if (step.type === 'Task' || step.type === 'Wait') attempt = `${num(step.attemptSeconds)} s`;
  else attempt = '';
  const nested = step.type === 'Map' || step.type === 'Parallel';
  let text = attempt;
  if (step.attempts > 1 || step.type === 'Task') text = `${step.attempts} x ${nested ? `(${attempt})` : attempt}`;
  if (step.retryDelaySeconds > 0) text += ` + ${num(step.retryDelaySeconds)} s delays`;
  if (step.next && step.next.via !== 'Next') text += `${text ? '  ' : ''}[${step.next.via} -> ${step.next.state}]`;
  return text;
}

/** A readable table of the worst path: one row per state, nested paths indented under their Map/Parallel. */
export function formatBudget(budget: TimeBudget): string {
  const rows: [string, string, string, string][] = [];
  const walk = (steps: readonly BudgetStep[], depth: number) => {
    for (const step of steps) {
      rows.push([`${'  '.repeat(depth)}${step.state}`, step.type, num(step.seconds), describe(step)]);
      if (step.inner) walk(step.inner.steps, depth + 1);
    }
  };
  walk(budget.steps, 0);
  const header: [string, string, string, string] = ['state', 'type', 'seconds', 'worst case'];
  const width = (i: 0 | 1 | 2) => Math.max(...[header, ...rows].map((r) => r[i].length));
  const line = (r: [string, string, string, string]) =>
    `${r[0].padEnd(width(0))}  ${r[1].padEnd(width(1))}  ${r[2].padStart(width(2))}  ${r[3]}`.trimEnd();
  const limit = budget.timeoutSeconds !== undefined ? ` (definition TimeoutSeconds ${budget.timeoutSeconds} s)` : '';
  return [
    `worst case ${num(budget.worstCaseSeconds)} s with ${budget.maxItems} items per Map${limit}`,
    line(header),
    ...rows.map(line),
  ].join('\n');
}

// ---- the ordering of the timeouts ----

export interface TimeBudgetInput {
  /** From analyzeTimeBudget. */
  readonly worstCaseSeconds: number;
  /** The state machine's TimeoutSeconds. */
  readonly executionTimeoutSeconds: number;
  /** The intake Lambda's timeout. */
  readonly intakeTimeoutSeconds: number;
  /** How long a claim (IN_PROGRESS record) is held before another execution may take it over. */
  readonly claimLeaseSeconds: number;
  /** The master queue's visibility timeout. */
  readonly masterVisibilitySeconds: number;
}

/**
 * One sentence per broken rule, naming both values and what to change; empty when
 * worst case < execution < intake < lease < visibility, lease >= intake + execution, execution <= 300 s.
 */
export function checkTimeBudget(t: TimeBudgetInput): string[] {
  const invalid = (Object.entries(t) as [keyof TimeBudgetInput, number][])
    .filter(([, v]) => !Number.isFinite(v) || v <= 0)
    .map(([k, v]) => `${k} is ${v}: every value of the time budget must be a positive number of seconds`);
  if (invalid.length) return invalid;

  const v: string[] = [];
  const { worstCaseSeconds: w, executionTimeoutSeconds: e, intakeTimeoutSeconds: i } = t;
  const { claimLeaseSeconds: l, masterVisibilitySeconds: m } = t;
  if (!(w < e)) {
    v.push(
      `the worst-case execution (${num(w)} s) is not shorter than the execution timeout (${num(e)} s): ` +
        `raise the state machine's TimeoutSeconds above ${num(w)} s, or cut TimeoutSeconds/Retry in the definition`,
    );
  }
  if (e > EXPRESS_MAX_SECONDS) {
    v.push(`the execution timeout (${num(e)} s) exceeds the Express limit (${EXPRESS_MAX_SECONDS} s): lower it`);
  }
  if (!(e < i)) {
    v.push(
      `the execution timeout (${num(e)} s) is not shorter than the intake timeout (${num(i)} s): the intake waits ` +
        `for the synchronous execution, so raise the intake Lambda's timeout above ${num(e)} s or lower the execution timeout`,
    );
  }
  if (!(i < l)) {
    v.push(
      `the intake timeout (${num(i)} s) is not shorter than the claim lease (${num(l)} s): raise the claim lease ` +
        `to at least ${num(i + e)} s (intake + execution timeout) or lower the intake timeout`,
    );
  } else if (l < i + e) {
    // A StartSyncExecution retried by the SDK (same name) can start a second execution as late as the
    // end of the intake's life; that execution's claims must still be covered by the lease.
    v.push(
      `the claim lease (${num(l)} s) is shorter than the intake timeout plus the execution timeout ` +
        `(${num(i)} + ${num(e)} = ${num(i + e)} s): an execution started by a retried call at the end of the intake's life ` +
        `would outlive its claims; raise the claim lease to at least ${num(i + e)} s`,
    );
  }
  if (!(l < m)) {
    v.push(
      `the claim lease (${num(l)} s) is not shorter than the master queue's visibility timeout (${num(m)} s): a ` +
        `redelivered message would find its claim still held and count as busy; raise the visibility timeout above ` +
        `${num(l)} s or shorten the lease`,
    );
  }
  return v;
}

/** checkTimeBudget for callers that want to throw. */
export function assertTimeBudget(t: TimeBudgetInput): void {
  const violations = checkTimeBudget(t);
  if (violations.length) throw new TimeBudgetError(violations);
}
