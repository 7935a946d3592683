/**
 * An execution's history (GetExecutionHistory events, as the SDK returns them) turned into what the
 * console colours: each state's visits, with their attempts, errors, input and output, and each state's
 * outcome in this execution. No AWS import.
 *
 * Events are attached to states by their previousEventId chain only, never by position or timing:
 * - a *StateEntered event opens a visit of the state it names;
 * - a *StateExited or MapIteration* event names its state: it belongs to the visit whose StateEntered
 *   its chain leads back to (or to the state's only visit);
 * - a Task's events (TaskScheduled, LambdaFunctionFailed, ...) lead back, through that Task's own events,
 *   to its TaskStateEntered; a retry's Scheduled event follows the failure that caused it;
 * - a Map's or Parallel's own events lead back to an event of that state or of a state inside it.
 * An event whose chain leads nowhere consistent is reported as unattributed, not placed by a guess.
 */

export interface ConsoleEvent {
  readonly id: number;
  readonly previousEventId?: number;
  readonly type: string;
  /** Epoch ms. */
  readonly timestamp: number;
  /** The event's *EventDetails object, if it has one. */
  readonly details?: Readonly<Record<string, unknown>>;
}

export type StateOutcome = 'succeeded' | 'retried' | 'caught' | 'failed' | 'running' | 'not-entered';

export interface StateError {
  readonly eventId: number;
  readonly error: string;
  readonly cause?: string;
  /**
   * What the definition did with it: retried the state, caught it (and went on to `next`), neither
   * (failed), or not yet known (the execution is still running).
   */
  readonly handling: 'retried' | 'caught' | 'failed' | 'pending';
  readonly next?: string;
}

export interface Visit {
  /** The id of its StateEntered event. */
  readonly id: number;
  readonly name: string;
  readonly type: string;
  readonly enteredAt: number;
  exitedAt?: number;
  /** The Map or Parallel visit this one ran inside (by its previousEventId chain); absent at the top level. */
  readonly parent?: number;
  /** The Map iteration (its index) this one ran in, when its parent is a Map. */
  readonly iteration?: number;
  readonly input?: string;
  output?: string;
  /** Ids of the events attached to this visit, in order (the StateEntered first). */
  readonly events: number[];
  /** Times a Task was scheduled: 1 + its retries (0 for other states). */
  attempts: number;
  errors: StateError[];
  outcome: StateOutcome;
}

export interface StateSummary {
  readonly name: string;
  readonly outcome: StateOutcome;
  readonly visits: number;
  readonly retries: number;
  readonly errors: StateError[];
}

export interface HistoryModel {
  readonly visits: Visit[];
  readonly states: Record<string, StateSummary>;
  /** Events (other than the execution's own) whose chain leads to no state consistently. */
  readonly unattributed: number[];
  /** Transitions taken: a state entered whose previous event is another state's exit. */
  readonly transitions: Array<{ readonly from: string; readonly to: string; readonly count: number }>;
}

interface DefinitionState {
  Type?: string;
  Catch?: Array<{ ErrorEquals?: string[]; Next?: string }>;
  Branches?: DefinitionMachine[];
  Iterator?: DefinitionMachine;
  ItemProcessor?: DefinitionMachine;
}
interface DefinitionMachine {
  States?: Record<string, DefinitionState>;
}

const TASK_EVENT = /^(Task|LambdaFunction|Activity)(Scheduled|ScheduleFailed|Started|StartFailed|Submitted|SubmitFailed|Succeeded|Failed|TimedOut)$/;
const CONTAINER_EVENT = /^(Map|Parallel)State(Started|Succeeded|Failed|Aborted)$/;
const FAILURE = /(Failed|TimedOut)$/;
const SUCCESS = /Succeeded$/;

const detailsName = (event: ConsoleEvent) => (typeof event.details?.name === 'string' ? event.details.name : undefined);
const isEntered = (event: ConsoleEvent) => event.type.endsWith('StateEntered');
const isExited = (event: ConsoleEvent) => event.type.endsWith('StateExited');
const isIteration = (event: ConsoleEvent) => event.type.startsWith('MapIteration');

/** The first Catch of a state that matches an error, as Step Functions picks it. */
export function catcherFor(state: DefinitionState | undefined, error: string): string | undefined {
  for (const catcher of state?.Catch ?? []) {
    const names = catcher.ErrorEquals ?? [];
    if (names.includes(error) || names.includes('States.ALL') || (names.includes('States.TaskFailed') && error !== 'States.Timeout')) {
      return catcher.Next;
    }
  }
  return undefined;
}

function definitionIndex(definition: DefinitionMachine) {
  const states = new Map<string, { state: DefinitionState; parent?: string }>();
  const visit = (machine: DefinitionMachine | undefined, parent?: string) => {
    for (const [name, state] of Object.entries(machine?.States ?? {})) {
      states.set(name, { state, ...(parent ? { parent } : {}) });
      for (const branch of state.Branches ?? []) visit(branch, name);
      visit(state.ItemProcessor ?? state.Iterator, name);
    }
  };
  visit(definition);
  return states;
}

export function buildHistoryModel(events: readonly ConsoleEvent[], definition: object, executionStatus: string): HistoryModel {
  const index = definitionIndex(definition as DefinitionMachine);
  const byId = new Map(events.map((e) => [e.id, e]));
  const previous = (event: ConsoleEvent) => (event.previousEventId ? byId.get(event.previousEventId) : undefined);
  const visits = new Map<number, Visit>();
  const visitsOf = new Map<string, Visit[]>();
  const ownerOf = new Map<number, Visit>();
  const unattributed: number[] = [];

  /** The visit of `name` that the chain from `event` leads back to, or that state's only visit. */
  const resolveNamed = (event: ConsoleEvent, name: string): Visit | undefined => {
    const seen = new Set<number>();
    for (let e: ConsoleEvent | undefined = event; e && !seen.has(e.id); e = previous(e)) {
      seen.add(e.id);
      if (isEntered(e) && detailsName(e) === name) return visits.get(e.id);
    }
    const only = visitsOf.get(name) ?? [];
    return only.length === 1 ? only[0] : undefined;
  };

  /** A Task's event: through that Task's own events back to its TaskStateEntered. */
  const taskOwner = (event: ConsoleEvent): Visit | undefined => {
    const seen = new Set<number>();
    for (let e = previous(event); e && !seen.has(e.id); e = previous(e)) {
      seen.add(e.id);
      if (TASK_EVENT.test(e.type)) continue;
      return e.type === 'TaskStateEntered' ? visits.get(e.id) : undefined;
    }
    return undefined;
  };

  /** A Map's or Parallel's own event: back to an event naming that state, or a state inside it. */
  const containerOwner = (event: ConsoleEvent): Visit | undefined => {
    const wanted = event.type.startsWith('Map') ? 'Map' : 'Parallel';
    const seen = new Set<number>();
    for (let e = previous(event); e && !seen.has(e.id); e = previous(e)) {
      seen.add(e.id);
      const name = isEntered(e) || isExited(e) || isIteration(e) ? detailsName(e) : undefined;
      if (!name) continue;
      let candidate: string | undefined = name;
      while (candidate && index.get(candidate)?.state.Type !== wanted) candidate = index.get(candidate)?.parent;
      return candidate ? resolveNamed(e, candidate) : undefined;
    }
    return undefined;
  };

  /**
   * Where a state entered after `before` runs: in the Map iteration or the Parallel that `before` starts,
   * or else beside the visit that logged `before` (the state it follows).
   */
  const scopeAfter = (before: ConsoleEvent | undefined): { parent?: number; iteration?: number } => {
    const owner = before ? ownerOf.get(before.id) : undefined;
    if (!before || !owner) return {};
    const index = before.details?.index;
    if (before.type === 'MapIterationStarted' && typeof index === 'number') return { parent: owner.id, iteration: index };
    if (before.type === 'ParallelStateStarted') return { parent: owner.id };
    return { ...(owner.parent !== undefined ? { parent: owner.parent } : {}), ...(owner.iteration !== undefined ? { iteration: owner.iteration } : {}) };
  };

  const transitions = new Map<string, { from: string; to: string; count: number }>();
  for (const event of events) {
    const name = detailsName(event);
    let owner: Visit | undefined;
    if (isEntered(event) && name) {
      const before = previous(event);
      const from = before && isExited(before) ? detailsName(before) : undefined;
      if (from) {
        const key = `${from}\u0000${name}`;
        transitions.set(key, { from, to: name, count: (transitions.get(key)?.count ?? 0) + 1 });
      }
      owner = {
        id: event.id,
        name,
        type: event.type.replace(/StateEntered$/, ''),
        enteredAt: event.timestamp,
        ...scopeAfter(before),
        ...(typeof event.details?.input === 'string' ? { input: event.details.input } : {}),
        events: [],
        attempts: 0,
        errors: [],
        outcome: 'running',
      };
      visits.set(event.id, owner);
      visitsOf.set(name, [...(visitsOf.get(name) ?? []), owner]);
    } else if ((isExited(event) || isIteration(event)) && name) {
      owner = resolveNamed(event, name);
      if (owner && isExited(event)) {
        owner.exitedAt = event.timestamp;
        if (typeof event.details?.output === 'string') owner.output = event.details.output;
      }
    } else if (TASK_EVENT.test(event.type)) {
      owner = taskOwner(event);
    } else if (CONTAINER_EVENT.test(event.type)) {
      owner = containerOwner(event);
    }
    if (!owner) {
      if (!event.type.startsWith('Execution')) unattributed.push(event.id);
      continue;
    }
    owner.events.push(event.id);
    ownerOf.set(event.id, owner);
  }

  // Per visit: attempts, errors and what the definition did with each, and the outcome.
  const running = executionStatus === 'RUNNING';
  for (const visit of visits.values()) {
    const own = visit.events.map((id) => byId.get(id) as ConsoleEvent);
    const results = own.filter((e) => (TASK_EVENT.test(e.type) || CONTAINER_EVENT.test(e.type)) && (FAILURE.test(e.type) || SUCCESS.test(e.type)));
    visit.attempts = own.filter((e) => /Scheduled$/.test(e.type)).length;
    const last = results.at(-1);
    const endedInFailure = Boolean(last && FAILURE.test(last.type));
    const exited = visit.exitedAt !== undefined;
    const failures = results.filter((e) => FAILURE.test(e.type));
    visit.errors = failures.map((e, i) => {
      const error = typeof e.details?.error === 'string' ? e.details.error : e.type;
      const cause = typeof e.details?.cause === 'string' ? e.details.cause : undefined;
      const final = endedInFailure && i === failures.length - 1;
      const next = final && exited ? catcherFor(index.get(visit.name)?.state, error) : undefined;
      return {
        eventId: e.id,
        error,
        ...(cause !== undefined ? { cause } : {}),
        handling: !final ? 'retried' : exited ? 'caught' : running ? 'pending' : 'failed',
        ...(next ? { next } : {}),
      };
    });
    visit.outcome = !exited
      ? running
        ? 'running'
        : 'failed'
      : endedInFailure
        ? 'caught'
        : failures.length
          ? 'retried'
          : 'succeeded';
  }

  const rankOf: Record<StateOutcome, number> = { failed: 5, caught: 4, retried: 3, running: 2, succeeded: 1, 'not-entered': 0 };
  const states: Record<string, StateSummary> = {};
  for (const [name, list] of visitsOf) {
    const outcome = list.reduce<StateOutcome>((worst, v) => (rankOf[v.outcome] > rankOf[worst] ? v.outcome : worst), 'succeeded');
    states[name] = {
      name,
      outcome,
      visits: list.length,
      retries: list.reduce((s, v) => s + Math.max(0, v.attempts - 1), 0),
      errors: list.flatMap((v) => v.errors),
    };
  }
  return { visits: [...visits.values()], states, unattributed, transitions: [...transitions.values()] };
}
