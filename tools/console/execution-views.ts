/**
 * What the execution page shows beside its graph, computed from the history model (history-model.ts):
 * - the event history as table rows: the step (state) each event belongs to, the Task's resource, the Map
 *   iteration, the time since the execution started, and the event's details, each size-capped;
 * - the timeline: one bar per state entered, from entered to exited, Map iterations as rows of their
 *   own under their Map, and each attempt of a Task (its retries) as a segment of its bar;
 * - the execution's input, output, error and cause, pretty and size-capped.
 * Times are ms since the execution started. No AWS import.
 */
import type { ConsoleEvent, HistoryModel, StateOutcome, Visit } from './history-model.js';

/** What a table row shows of each detail field (the whole value is in the state's panel and the input/output tab). */
export const ROW_FIELD_CAP = 4096;
/** What the Input & output tab shows before "N more bytes" (its copy button copies the whole text). */
export const IO_CAP = 64 * 1024;

export interface CappedText {
  readonly text: string;
  /** The whole text's size in UTF-8 bytes. */
  readonly bytes: number;
  /** Bytes left out (0 when the whole text is shown). */
  readonly moreBytes: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The first `maxBytes` UTF-8 bytes of `text`, never cutting a character in two. */
export function capText(text: string, maxBytes: number): CappedText {
  const encoded = encoder.encode(text);
  if (encoded.length <= maxBytes) return { text, bytes: encoded.length, moreBytes: 0 };
  let end = Math.max(0, maxBytes);
  // Back off continuation bytes (10xxxxxx): the cut falls before the character they belong to.
  while (end > 0 && ((encoded[end] as number) & 0xc0) === 0x80) end -= 1;
  return { text: decoder.decode(encoded.subarray(0, end)), bytes: encoded.length, moreBytes: encoded.length - end };
}

/** Text holding a JSON object or array, indented; any other text as it is. */
export function prettyJson(text: string): string {
  const trimmed = text.trimStart();
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) return text;
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

const cappedPretty = (text: string, maxBytes: number) => capText(prettyJson(text), maxBytes);

// ---- The event history table ----

/** What the table filters events by (beside "failed events only"). */
export type EventGroup = 'execution' | 'state' | 'task' | 'container' | 'other';

export interface EventField extends CappedText {
  readonly name: string;
}

export interface EventRow {
  readonly id: number;
  readonly previousEventId?: number;
  readonly type: string;
  readonly group: EventGroup;
  /** A failure of any kind: a Task's, a Map's or an iteration's, the execution's, a timeout or an abort. */
  readonly failed: boolean;
  /** Epoch ms. */
  readonly timestamp: number;
  readonly elapsedMs: number;
  /** The state whose visit the event belongs to. */
  readonly step?: string;
  /** The Task's resource: a Lambda function's ARN, or an integration (dynamodb:updateItem). */
  readonly resource?: string;
  /** The Map iterations it ran in, outermost first ("Forward to regions #1 › Settle #0"). */
  readonly iteration?: string;
  readonly fields: EventField[];
}

const TASK_EVENT = /^(Task|LambdaFunction|Activity)(Scheduled|ScheduleFailed|Started|StartFailed|Submitted|SubmitFailed|Succeeded|Failed|TimedOut)$/;
const FAILED_EVENT = /(Failed|TimedOut|Aborted)$/;

function groupOf(type: string): EventGroup {
  if (type.startsWith('Execution')) return 'execution';
  if (/State(Entered|Exited)$/.test(type)) return 'state';
  if (TASK_EVENT.test(type)) return 'task';
  if (/^(Map|Parallel)/.test(type)) return 'container';
  return 'other';
}

/** A Task event's resource as the table names it. */
function resourceOf(event: ConsoleEvent): string | undefined {
  const d = event.details ?? {};
  if (typeof d.resource !== 'string') return undefined;
  return typeof d.resourceType === 'string' ? `${d.resourceType}:${d.resource}` : d.resource;
}

function fieldsOf(details: Readonly<Record<string, unknown>> | undefined, cap: number): EventField[] {
  return Object.entries(details ?? {}).map(([name, value]) => {
    const text = typeof value === 'string' ? prettyJson(value) : JSON.stringify(value, null, 2) ?? String(value);
    return { name, ...capText(text, cap) };
  });
}

/** Each visit's Map iterations, outermost first, as labels ("Settle #0"). */
function iterationPaths(model: HistoryModel): Map<number, string[]> {
  const byId = new Map(model.visits.map((v) => [v.id, v]));
  const paths = new Map<number, string[]>();
  const pathOf = (visit: Visit): string[] => {
    const known = paths.get(visit.id);
    if (known) return known;
    const parent = visit.parent === undefined ? undefined : byId.get(visit.parent);
    const path = parent ? [...pathOf(parent), ...(visit.iteration !== undefined ? [`${parent.name} #${visit.iteration}`] : [])] : [];
    paths.set(visit.id, path);
    return path;
  };
  for (const visit of model.visits) pathOf(visit);
  return paths;
}

/** One row per event, in the history's order. `startMs` is the execution's start (epoch ms). */
export function eventRows(events: readonly ConsoleEvent[], model: HistoryModel, startMs: number, cap = ROW_FIELD_CAP): EventRow[] {
  const owner = new Map<number, Visit>();
  for (const visit of model.visits) for (const id of visit.events) owner.set(id, visit);
  const byId = new Map(events.map((e) => [e.id, e]));
  const paths = iterationPaths(model);
  const resources = new Map<number, string>();
  for (const visit of model.visits) {
    const found = visit.events.map((id) => byId.get(id)).find((e) => e && resourceOf(e));
    if (found) resources.set(visit.id, resourceOf(found) as string);
  }
  return events.map((event) => {
    const visit = owner.get(event.id);
    const path = visit ? [...(paths.get(visit.id) ?? [])] : [];
    // An iteration's own events name it: the Map's iterations they start or end.
    if (visit && /^MapIteration/.test(event.type) && typeof event.details?.index === 'number') path.push(`${visit.name} #${event.details.index}`);
    const resource = visit ? resources.get(visit.id) : undefined;
    return {
      id: event.id,
      ...(event.previousEventId !== undefined ? { previousEventId: event.previousEventId } : {}),
      type: event.type,
      group: groupOf(event.type),
      failed: FAILED_EVENT.test(event.type),
      timestamp: event.timestamp,
      elapsedMs: event.timestamp - startMs,
      ...(visit ? { step: visit.name } : {}),
      ...(resource ? { resource } : {}),
      ...(path.length ? { iteration: path.join(' › ') } : {}),
      fields: fieldsOf(event.details, cap),
    };
  });
}

// ---- The timeline ----

export interface Attempt {
  readonly startMs: number;
  readonly endMs: number;
  readonly outcome: 'succeeded' | 'failed' | 'running';
  readonly error?: string;
}

export interface TimelineBar {
  /** Unique among the bars: `v<visit id>`, or `v<Map visit id>#<index>` for an iteration. */
  readonly key: string;
  readonly kind: 'state' | 'iteration';
  /** The state's name, or the Map's for an iteration. */
  readonly name: string;
  /** The state's type (Task, Map, ...); absent for an iteration. */
  readonly type?: string;
  readonly iteration?: number;
  /** Nesting: 0 at the top level; a Map's iterations at its depth + 1, their states at + 2. */
  readonly depth: number;
  /** The bar this one is nested under (a Map, a Parallel, or an iteration). */
  readonly parentKey?: string;
  /** How many bars are nested directly under this one. */
  readonly children: number;
  readonly startMs: number;
  readonly endMs: number;
  /** false: not exited (still running, or stopped by the execution's end): the bar runs to the end. */
  readonly ended: boolean;
  readonly outcome: StateOutcome;
  /** A Task's attempts, in order: 1 + its retries. */
  readonly attempts: Attempt[];
  readonly retries: number;
}

export interface AxisTick {
  readonly ms: number;
  readonly label: string;
}

export interface Timeline {
  readonly totalMs: number;
  readonly axis: AxisTick[];
  readonly bars: TimelineBar[];
}

/** Ticks at a round step (1, 2 or 5 times a power of ten), at most `maxTicks` + 1 of them, in ms or in s. */
export function timeAxis(totalMs: number, maxTicks = 8): AxisTick[] {
  const total = Math.max(1, totalMs);
  const raw = total / maxTicks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) as number;
  const inSeconds = total >= 2000;
  const ticks: AxisTick[] = [];
  for (let i = 0; i * step <= total + 1e-9; i += 1) {
    const ms = Number((i * step).toPrecision(12));
    ticks.push({ ms, label: inSeconds ? `${Number((ms / 1000).toFixed(3))} s` : `${Number(ms.toFixed(3))} ms` });
  }
  return ticks;
}

/** A Task's attempts from its events: each scheduled event starts one, its success or failure ends it. */
function attemptsOf(visit: Visit, byId: ReadonlyMap<number, ConsoleEvent>, startMs: number, endMs: number, running: boolean): Attempt[] {
  const attempts: Attempt[] = [];
  let open: number | undefined;
  for (const id of visit.events) {
    const event = byId.get(id);
    if (!event || !TASK_EVENT.test(event.type)) continue;
    if (event.type.endsWith('Scheduled')) open = event.timestamp - startMs;
    else if (open !== undefined && /(Succeeded|Failed|TimedOut)$/.test(event.type)) {
      const failed = !event.type.endsWith('Succeeded');
      const error = typeof event.details?.error === 'string' ? event.details.error : failed ? event.type : undefined;
      attempts.push({ startMs: open, endMs: event.timestamp - startMs, outcome: failed ? 'failed' : 'succeeded', ...(error ? { error } : {}) });
      open = undefined;
    }
  }
  if (open !== undefined) attempts.push({ startMs: open, endMs: visit.exitedAt !== undefined ? visit.exitedAt - startMs : endMs, outcome: running ? 'running' : 'failed' });
  return attempts;
}

/**
 * The timeline of an execution that started at `startMs` and ended (or is looked at) at `endMs` (epoch
 * ms): states in the order they were entered, each Map's iterations by index under it, each iteration's
 * states under that.
 */
export function timeline(events: readonly ConsoleEvent[], model: HistoryModel, startMs: number, endMs: number, executionStatus: string): Timeline {
  const running = executionStatus === 'RUNNING';
  const byId = new Map(events.map((e) => [e.id, e]));
  const end = endMs - startMs;
  const children = new Map<number | undefined, Visit[]>();
  for (const visit of model.visits) {
    const list = children.get(visit.parent);
    if (list) list.push(visit);
    else children.set(visit.parent, [visit]);
  }
  const bars: TimelineBar[] = [];

  /** A Map's iterations by index, from its MapIteration* events. */
  const iterationsOf = (map: Visit) => {
    const found = new Map<number, { start?: number; end?: number; failed: boolean }>();
    for (const id of map.events) {
      const event = byId.get(id);
      const index = event?.details?.index;
      if (!event || typeof index !== 'number' || !event.type.startsWith('MapIteration')) continue;
      const it = found.get(index) ?? { failed: false };
      if (event.type === 'MapIterationStarted') it.start = event.timestamp - startMs;
      else {
        it.end = event.timestamp - startMs;
        it.failed = event.type !== 'MapIterationSucceeded';
      }
      found.set(index, it);
    }
    return found;
  };

  const emit = (list: readonly Visit[], depth: number, parentKey: string | undefined) => {
    for (const visit of [...list].sort((a, b) => a.enteredAt - b.enteredAt || a.id - b.id)) {
      const key = `v${visit.id}`;
      const nested = children.get(visit.id) ?? [];
      const iterations = visit.type === 'Map' ? iterationsOf(visit) : new Map<number, { start?: number; end?: number; failed: boolean }>();
      for (const child of nested) if (child.iteration !== undefined && !iterations.has(child.iteration)) iterations.set(child.iteration, { failed: false });
      const loose = nested.filter((c) => c.iteration === undefined || visit.type !== 'Map');
      const attempts = visit.type === 'Task' ? attemptsOf(visit, byId, startMs, end, running) : [];
      bars.push({
        key,
        kind: 'state',
        name: visit.name,
        type: visit.type,
        depth,
        ...(parentKey ? { parentKey } : {}),
        children: (visit.type === 'Map' ? iterations.size : 0) + loose.length,
        startMs: visit.enteredAt - startMs,
        endMs: visit.exitedAt !== undefined ? visit.exitedAt - startMs : end,
        ended: visit.exitedAt !== undefined,
        outcome: visit.outcome,
        attempts,
        retries: Math.max(0, visit.attempts - 1),
      });
      if (visit.type === 'Map') {
        const byIteration = new Map<number, Visit[]>();
        for (const child of nested) if (child.iteration !== undefined) byIteration.set(child.iteration, [...(byIteration.get(child.iteration) ?? []), child]);
        for (const index of [...iterations.keys()].sort((a, b) => a - b)) {
          const it = iterations.get(index) as { start?: number; end?: number; failed: boolean };
          const inside = byIteration.get(index) ?? [];
          const first = Math.min(...inside.map((c) => c.enteredAt - startMs));
          const itKey = `${key}#${index}`;
          bars.push({
            key: itKey,
            kind: 'iteration',
            name: visit.name,
            iteration: index,
            depth: depth + 1,
            parentKey: key,
            children: inside.length,
            startMs: it.start ?? (Number.isFinite(first) ? first : visit.enteredAt - startMs),
            endMs: it.end ?? (visit.exitedAt !== undefined ? visit.exitedAt - startMs : end),
            ended: it.end !== undefined,
            outcome: it.end !== undefined ? (it.failed ? 'failed' : 'succeeded') : running ? 'running' : 'failed',
            attempts: [],
            retries: 0,
          });
          emit(inside, depth + 2, itKey);
        }
      }
      emit(loose, depth + 1, key);
    }
  };
  emit(children.get(undefined) ?? [], 0, undefined);

  const totalMs = Math.max(1, end, ...bars.map((b) => b.endMs));
  return { totalMs, axis: timeAxis(totalMs), bars };
}

// ---- Input and output ----

export interface ExecutionIo {
  readonly input?: CappedText;
  readonly output?: CappedText;
  readonly error?: string;
  readonly cause?: CappedText;
}

/** The execution's input, output and (for one that failed) error and cause, pretty and size-capped. */
export function executionIo(execution: { input?: string; output?: string; error?: string; cause?: string }, cap = IO_CAP): ExecutionIo {
  return {
    ...(execution.input !== undefined ? { input: cappedPretty(execution.input, cap) } : {}),
    ...(execution.output !== undefined ? { output: cappedPretty(execution.output, cap) } : {}),
    ...(execution.error !== undefined ? { error: execution.error } : {}),
    ...(execution.cause !== undefined ? { cause: cappedPretty(execution.cause, cap) } : {}),
  };
}
