/**
 * An execution's history as steps a person reads: one line per state visit with its duration, input,
 * output, errors and retries. Works on GetExecutionHistory events (local endpoint) and on the events
 * of an Express state machine's CloudWatch log group (AWS), which carry the same types and details.
 */
import type { HistoryEvent } from '@aws-sdk/client-sfn';

export interface Step {
  readonly name: string;
  readonly type: string;
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

export function toSteps(events: readonly HistoryEvent[]): Step[] {
  const steps: Step[] = [];
  const open = new Map<string, Step[]>();
  let lastOpen: Step | undefined;
  for (const event of events) {
    const type = event.type ?? '';
    const d = details(event);
    const at = event.timestamp ? new Date(event.timestamp) : new Date(0);
    if (type.endsWith('StateEntered') && d.name) {
      const step: Step = {
        name: d.name,
        type: type.replace(/StateEntered$/, ''),
        enteredAt: at,
        ...(d.input !== undefined ? { input: d.input } : {}),
        errors: [],
        attempts: 0,
      };
      steps.push(step);
      open.set(d.name, [...(open.get(d.name) ?? []), step]);
      lastOpen = step;
    } else if (type.endsWith('StateExited') && d.name) {
      const step = open.get(d.name)?.shift();
      if (step) {
        step.exitedAt = at;
        if (d.output !== undefined) step.output = d.output;
      }
    } else if (type.endsWith('Scheduled')) {
      const task = steps.findLast((s) => s.type === 'Task' && !s.exitedAt);
      if (task) task.attempts++;
    } else if (type.endsWith('Failed') && d.error && !type.startsWith('Execution') && !type.startsWith('MapIteration')) {
      // Failure events do not name their state: the latest Task still running is the best guess
      // (exact outside Parallel branches that fail at the same moment).
      const task = steps.findLast((s) => s.type === 'Task' && !s.exitedAt) ?? lastOpen;
      task?.errors.push({ error: d.error, ...(d.cause ? { cause: d.cause } : {}) });
    }
  }
  return steps;
}

const clip = (text: string | undefined, width: number) => {
  if (text === undefined) return '';
  const flat = text.replace(/\s+/g, ' ');
  return width > 0 && flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
};

/** The step table; width 0 prints inputs and outputs whole. */
export function formatSteps(steps: readonly Step[], options: { width?: number; data?: boolean } = {}): string {
  const width = options.width ?? 100;
  const start = steps[0]?.enteredAt.getTime() ?? 0;
  const lines: string[] = [];
  for (const [i, step] of steps.entries()) {
    const offset = `+${step.enteredAt.getTime() - start}ms`.padStart(8);
    const duration = step.exitedAt ? `${step.exitedAt.getTime() - step.enteredAt.getTime()}ms` : 'no exit';
    const retries = step.attempts > 1 ? ` retries:${step.attempts - 1}` : '';
    lines.push(`${String(i + 1).padStart(3)} ${offset} ${step.type.padEnd(8)} ${step.name}  (${duration})${retries}`);
    for (const error of step.errors) lines.push(`             error: ${error.error}${error.cause ? `: ${clip(error.cause, width)}` : ''}`);
    if (options.data !== false) {
      if (step.input !== undefined) lines.push(`             in:  ${clip(step.input, width)}`);
      if (step.output !== undefined) lines.push(`             out: ${clip(step.output, width)}`);
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
    });
  }
  return [...byName.values()];
}

export function formatSummary(summary: readonly StepSummary[]): string {
  return summary
    .map(
      (s, i) =>
        `${String(i + 1).padStart(3)} ${s.type.padEnd(8)} ${s.name.padEnd(34)} ${s.visits > 1 ? `x${s.visits}`.padStart(4) : '    '}  ${`${s.maxMs}ms`.padStart(6)}${s.errors ? `  errors: ${s.errors}` : ''}`,
    )
    .join('\n');
}
