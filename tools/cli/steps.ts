/**
 * An execution's history as steps a person reads: one line per state visit with its duration, input,
 * output, errors and retries. Works on GetExecutionHistory events (local endpoint) and on the events
 * of an Express state machine's CloudWatch log group (AWS), which carry the same types and details.
 *
 * Every event is attached to the state visit it belongs to by following its previousEventId, as Step
 * Functions links them (a Task's failure follows its start, which follows its schedule, which follows
 * the state's entry; a retry's schedule follows the failure; the first state of a Map iteration follows
 * the MapIterationStarted, the first state of a Parallel branch the ParallelStateStarted). Nothing is
 * attached by position in the list, so concurrent Map iterations and Parallel branches never mix: an
 * error shows on the state where it happened even when two branches fail at the same moment.
 */
import type { HistoryEvent } from '@aws-sdk/client-sfn';

export interface Step {
  readonly name: string;
  readonly type: string;
  /** The id of the StateEntered event that opened this visit. */
  readonly eventId: number;
  /** The eventId of the Map or Parallel visit this one runs in (absent at the top level). */
  readonly parentEventId?: number;
  /** 0 at the top level, 1 inside a Map iteration or Parallel branch, and so on. */
  readonly depth: number;
  /** The index of the Map iteration this visit belongs to, when it is in one. */
  readonly iteration?: number;
  readonly enteredAt: Date;
  exitedAt?: Date;
  readonly input?: string;
  output?: string;
  /** Errors seen while in this state: retried ones and the last one (caught or fatal). */
  readonly errors: Array<{ error: string; cause?: string }>;
  /** Times a Task was scheduled: 1 + its retries. */
  attempts: number;
}

type Details = { name?: string; input?: string; output?: string; error?: string; cause?: string; index?: number };

function details(event: HistoryEvent): Details {
  for (const [key, value] of Object.entries(event)) {
    if (key.endsWith('EventDetails') && value && typeof value === 'object') return value as Details;
  }
  return {};
}

interface Visit {
  readonly step: Step;
  readonly parent?: Visit;
}

const nearest = (from: Visit | undefined, match: (visit: Visit) => boolean): Visit | undefined => {
  for (let v = from; v; v = v.parent) if (match(v)) return v;
  return undefined;
};

/** Events whose details carry an error to show on the visit they belong to. */
const ERROR_EVENT = /^(Task|LambdaFunction|Activity)(Failed|TimedOut|StartFailed|ScheduleFailed|SubmitFailed)$|^Evaluation(Failed)$/;

/**
 * The state visits of a history, in the order they were entered. Events without a previousEventId
 * (none from Step Functions or the local endpoint) are read as following the event listed before them.
 */
export function toSteps(events: readonly HistoryEvent[]): Step[] {
  const ordered = [...events].sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
  const steps: Step[] = [];
  // For each event id: the visit it belongs to (undefined: the execution itself), and its type and details.
  const visitOf = new Map<number, Visit | undefined>();
  const seen = new Map<number, { type: string; d: Details }>();
  ordered.forEach((event, position) => {
    const id = event.id ?? position + 1;
    const type = event.type ?? '';
    const d = details(event);
    const at = event.timestamp ? new Date(event.timestamp) : new Date(0);
    const previousId = event.previousEventId ?? (position > 0 ? (ordered[position - 1]?.id ?? position) : 0);
    const previous = seen.get(previousId);
    const before = visitOf.get(previousId);
    seen.set(id, { type, d });
    let visit: Visit | undefined = before;

    if (type.endsWith('StateEntered') && d.name) {
      // Where the new visit runs: in the container that started it, or beside the state it follows.
      let parent: Visit | undefined;
      let iteration: number | undefined;
      const previousType = previous?.type ?? '';
      if (previousType === 'MapIterationStarted') {
        parent = before;
        iteration = previous?.d.index;
      } else if (previousType === 'ParallelStateStarted') {
        parent = before;
      } else {
        parent = before?.parent;
        iteration = before?.step.iteration;
      }
      const step: Step = {
        name: d.name,
        type: type.replace(/StateEntered$/, ''),
        eventId: id,
        ...(parent ? { parentEventId: parent.step.eventId } : {}),
        depth: parent ? parent.step.depth + 1 : 0,
        ...(iteration !== undefined ? { iteration } : {}),
        enteredAt: at,
        ...(d.input !== undefined ? { input: d.input } : {}),
        errors: [],
        attempts: 0,
      };
      steps.push(step);
      visit = { step, ...(parent ? { parent } : {}) };
    } else if (type.endsWith('StateExited') && d.name) {
      visit = nearest(before, (v) => v.step.name === d.name);
      if (visit) {
        visit.step.exitedAt = at;
        if (d.output !== undefined) visit.step.output = d.output;
      }
    } else if (/^Map(Iteration\w+)$/.test(type) && d.name) {
      // An iteration's events belong to their Map (found by name: a sequential Map's next iteration
      // follows the last event of the one before).
      visit = nearest(before, (v) => v.step.name === d.name);
    } else if (/^(Map|Parallel)State(Succeeded|Failed|Aborted)$/.test(type)) {
      const kind = type.startsWith('Map') ? 'Map' : 'Parallel';
      const fromItself = /^(MapIteration|MapStateStarted|ParallelStateStarted)/.test(previous?.type ?? '');
      visit = fromItself ? before : nearest(before?.parent, (v) => v.step.type === kind);
    } else if (type.endsWith('Scheduled')) {
      if (before?.step.type === 'Task') before.step.attempts++;
    } else if (ERROR_EVENT.test(type) && d.error) {
      before?.step.errors.push({ error: d.error, ...(d.cause ? { cause: d.cause } : {}) });
    } else if (type.startsWith('Execution')) {
      visit = undefined;
    }
    visitOf.set(id, visit);
  });
  return steps;
}

/** Flattens whitespace and cuts to `width` characters (0: whole), marking the cut. */
export const clip = (text: string | undefined, width: number) => {
  if (text === undefined) return '';
  const flat = text.replace(/\s+/g, ' ');
  return width > 0 && flat.length > width ? `${flat.slice(0, Math.max(0, width - 1))}…` : flat;
};

/**
 * The region of the Forward iteration a step ran in, from its input's `region` (every state of that
 * iteration carries it: workflows/forward-branch.ts), so that a line says which region a Forward was for.
 */
export function stepRegion(step: Pick<Step, 'input'>): string | undefined {
  if (step.input === undefined || !step.input.includes('"region"')) return undefined;
  try {
    const region = (JSON.parse(step.input) as { region?: unknown } | null)?.region;
    return typeof region === 'string' ? region : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The step table, one line per visit (indented by nesting, [i] for a Map iteration), each line cut to
 * `width` columns (0: nothing is cut; `wholeErrors`: errors are not cut); errors, inputs and outputs below
 * their visit.
 */
export function formatSteps(steps: readonly Step[], options: { width?: number; data?: boolean; wholeErrors?: boolean } = {}): string {
  const width = options.width ?? 80;
  const start = steps[0]?.enteredAt.getTime() ?? 0;
  const lines: string[] = [];
  const detail = (label: string, text: string) => {
    const prefix = `${' '.repeat(13)}${label}`;
    return `${prefix}${clip(text, width > 0 ? Math.max(10, width - prefix.length) : 0)}`;
  };
  for (const [i, step] of steps.entries()) {
    const offset = `+${step.enteredAt.getTime() - start}ms`.padStart(8);
    const duration = step.exitedAt ? `${step.exitedAt.getTime() - step.enteredAt.getTime()}ms` : 'no exit';
    const retries = step.attempts > 1 ? ` retries:${step.attempts - 1}` : '';
    const region = step.iteration !== undefined ? stepRegion(step) : undefined;
    const where = `${'  '.repeat(step.depth)}${step.iteration !== undefined ? `[${step.iteration}${region ? ` ${region}` : ''}] ` : ''}`;
    const tail = `  (${duration})${retries}`;
    const head = `${String(i + 1).padStart(3)} ${offset} ${step.type.padEnd(8)} ${where}`;
    // The name gives way first, so that the duration and retries stay in view.
    const room = width > 0 ? width - head.length - tail.length : Infinity;
    lines.push(`${head}${room < step.name.length ? clip(step.name, Math.max(8, room)) : step.name}${tail}`);
    for (const error of step.errors) {
      const text = `${error.error}${error.cause ? `: ${error.cause}` : ''}`;
      // Whole when asked (inspect piped): an error cut is a cause lost.
      lines.push(options.wholeErrors ? `${' '.repeat(13)}error: ${clip(text, 0)}` : detail('error: ', text));
    }
    if (options.data !== false) {
      if (step.input !== undefined) lines.push(detail('in:  ', step.input));
      if (step.output !== undefined) lines.push(detail('out: ', step.output));
    }
  }
  return lines.join('\n');
}

export interface StepSummary {
  readonly name: string;
  readonly type: string;
  readonly visits: number;
  readonly maxMs: number;
  readonly errors: number;
  /** Retries over every visit (schedules beyond the first). */
  readonly retries: number;
}

/** One line per state, in order of first visit: how often (Map iterations), the slowest visit, errors. */
export function summarizeSteps(steps: readonly Step[]): StepSummary[] {
  const byName = new Map<string, StepSummary>();
  for (const step of steps) {
    const ms = step.exitedAt ? step.exitedAt.getTime() - step.enteredAt.getTime() : 0;
    const seen = byName.get(step.name);
    byName.set(step.name, {
      name: step.name,
      type: step.type,
      visits: (seen?.visits ?? 0) + 1,
      maxMs: Math.max(seen?.maxMs ?? 0, ms),
      errors: (seen?.errors ?? 0) + step.errors.length,
      retries: (seen?.retries ?? 0) + Math.max(0, step.attempts - 1),
    });
  }
  return [...byName.values()];
}

/** The summary table; at most 80 columns (long state names are cut). */
export function formatSummary(summary: readonly StepSummary[]): string {
  return summary
    .map((s, i) => {
      const visits = s.visits > 1 ? `x${s.visits}`.padStart(4) : '    ';
      const errors = s.errors ? `  errors: ${s.errors}` : '';
      const retries = s.retries ? ` retries: ${s.retries}` : '';
      return `${String(i + 1).padStart(3)} ${s.type.padEnd(8)} ${clip(s.name, 32).padEnd(32)} ${visits}  ${`${s.maxMs}ms`.padStart(6)}${errors}${retries}`;
    })
    .join('\n');
}
