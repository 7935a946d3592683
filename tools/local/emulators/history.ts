/**
 * Maps aws-local-stepfunctions' event log to Step Functions HistoryEvents as GetExecutionHistory
 * returns them on the wire (awsJson1_0: timestamps in epoch seconds, data fields as JSON strings).
 *
 * What the local log cannot give, and how it is filled:
 * - A Task's resolved Parameters and raw result are not logged, only the state's input and final
 *   output; the Task/LambdaFunction events carry those instead.
 * - The local log is one stream in which Map iterations and Parallel branches interleave; each event's
 *   previousEventId is rebuilt as AWS sets it, to its causal predecessor in its own iteration or branch
 *   (see toHistoryEvents), so that a reader who follows the links never mixes concurrent work.
 */
import type { EventLog } from './asl-runner.js';

export interface WireHistoryEvent {
  id: number;
  previousEventId: number;
  /** Epoch seconds, as the JSON protocol sends timestamps. */
  timestamp: number;
  type: string;
  [details: string]: unknown;
}

export interface HistorySource {
  readonly status: string;
  readonly events: readonly EventLog[];
  readonly error?: string;
  readonly cause?: string;
}

export interface HistoryOptions {
  /** The state machine definition, to find each Task's Resource. */
  readonly definition: object;
  readonly region: string;
  readonly roleArn: string;
  /** false omits input/output, as GetExecutionHistory's includeExecutionData=false does. */
  readonly includeExecutionData?: boolean;
}

interface StateNode {
  Type?: string;
  Resource?: string;
  States?: Record<string, StateNode>;
  Branches?: StateNode[];
  Iterator?: StateNode;
  ItemProcessor?: StateNode;
}

/** Task state name -> Resource, at every nesting level (state names are unique in a definition). */
export function taskResources(definition: object): Map<string, string> {
  const found = new Map<string, string>();
  const visit = (machine: StateNode | undefined) => {
    for (const [name, state] of Object.entries(machine?.States ?? {})) {
      if (state.Type === 'Task' && state.Resource) found.set(name, state.Resource);
      for (const branch of state.Branches ?? []) visit(branch);
      visit(state.Iterator);
      visit(state.ItemProcessor);
    }
  };
  visit(definition as StateNode);
  return found;
}

const json = (value: unknown) => JSON.stringify(value ?? null);
const text = (value: unknown) => (typeof value === 'string' ? value : json(value));

type Details = Record<string, unknown>;

/** Which events a Task emits on AWS: direct Lambda ARNs use LambdaFunction*, integrations Task*. */
function taskKind(resource: string | undefined, region: string) {
  const integration = resource ? /^arn:aws[\w-]*:states:::([\w-]+):([\w.-]+)$/.exec(resource) : null;
  if (integration) {
    const ids = { resourceType: integration[1], resource: integration[2] };
    return {
      scheduled: (input: unknown, data: boolean): [string, Details] => [
        'TaskScheduled',
        { taskScheduledEventDetails: { ...ids, region, parameters: data ? json(input) : '{}' } },
      ],
      started: (): [string, Details] => ['TaskStarted', { taskStartedEventDetails: ids }],
      succeeded: (output: unknown, data: boolean): [string, Details] => [
        'TaskSucceeded',
        { taskSucceededEventDetails: { ...ids, ...(data ? { output: json(output), outputDetails: { truncated: false } } : {}) } },
      ],
      failed: (error: string, cause: string): [string, Details] => ['TaskFailed', { taskFailedEventDetails: { ...ids, error, cause } }],
    };
  }
  return {
    scheduled: (input: unknown, data: boolean): [string, Details] => [
      'LambdaFunctionScheduled',
      { lambdaFunctionScheduledEventDetails: { resource, ...(data ? { input: json(input), inputDetails: { truncated: false } } : {}) } },
    ],
    started: (): [string, Details] => ['LambdaFunctionStarted', {}],
    succeeded: (output: unknown, data: boolean): [string, Details] => [
      'LambdaFunctionSucceeded',
      { lambdaFunctionSucceededEventDetails: data ? { output: json(output), outputDetails: { truncated: false } } : {} },
    ],
    failed: (error: string, cause: string): [string, Details] => [
      'LambdaFunctionFailed',
      { lambdaFunctionFailedEventDetails: { error, cause } },
    ],
  };
}

/**
 * Where a state runs: at the top level, in an iteration of a Map (its states carry the iteration's index
 * in the local log), or in one branch of a Parallel. State names are unique in a definition, so a state's
 * name tells its container.
 */
export type Container = { readonly kind: 'map'; readonly name: string } | { readonly kind: 'branch'; readonly name: string; readonly branch: number };

/** State name -> the Map or Parallel branch it sits in directly (top-level states are absent). */
export function stateContainers(definition: object): Map<string, Container> {
  const found = new Map<string, Container>();
  const visit = (machine: StateNode | undefined, container: Container | undefined) => {
    for (const [name, state] of Object.entries(machine?.States ?? {})) {
      if (container) found.set(name, container);
      (state.Branches ?? []).forEach((branch, i) => visit(branch, { kind: 'branch', name, branch: i }));
      visit(state.Iterator ?? state.ItemProcessor, { kind: 'map', name });
    }
  };
  visit(definition as StateNode, undefined);
  return found;
}

/**
 * The AWS-shaped history of one execution, oldest first.
 *
 * previousEventId links each event to its causal predecessor, as Step Functions does (checked against
 * histories recorded on AWS), not to the event logged just before it, which under a Map or a Parallel is
 * often another iteration's or branch's:
 * - ExecutionStarted and the first state entered link to 0; each later state entered links to the exit
 *   of the state before it in the same scope (the top level, one Map iteration, one Parallel branch);
 * - a Task's scheduled event links to its state entered, started to scheduled, succeeded or failed to
 *   started; a retry's scheduled event links to the failure it retries; the state exited links to the
 *   task's success, or to its failure when a Catch took it;
 * - MapStateStarted and ParallelStateStarted link to their state entered; every MapIterationStarted to
 *   its Map's MapStateStarted; the first state of an iteration to its MapIterationStarted; the first state
 *   of every branch to the ParallelStateStarted; MapIterationSucceeded/Failed to the last event of that
 *   iteration; MapStateSucceeded to the last iteration that ended, MapStateFailed to the last event of
 *   the iteration that failed; ParallelStateSucceeded/Failed to the last event of the branch that ended
 *   last; the Map's or Parallel's state exited to that;
 * - ExecutionSucceeded/Failed/TimedOut/Aborted link to the last event of the top level.
 * A Map inside another Map's iterations (the Settle map of each Forward iteration) is told apart by
 * iterationKeys: each run of it, and each of its iterations, has its own scope.
 */
export function toHistoryEvents(source: HistorySource, options: HistoryOptions): WireHistoryEvent[] {
  const data = options.includeExecutionData ?? true;
  const resources = taskResources(options.definition);
  const containers = stateContainers(options.definition);
  const out: WireHistoryEvent[] = [];
  const push = (timestampMs: number, previousEventId: number, type: string, details: Details = {}) => {
    const id = out.length + 1;
    out.push({ id, previousEventId, timestamp: timestampMs / 1000, type, ...details });
    return id;
  };
  const entered = (name: string, input: unknown) => ({
    stateEnteredEventDetails: { name, ...(data ? { input: json(input), inputDetails: { truncated: false } } : {}) },
  });
  const exited = (name: string, output: unknown) => ({
    stateExitedEventDetails: { name, ...(data ? { output: json(output), outputDetails: { truncated: false } } : {}) },
  });
  const caught = new Set<string>();
  const events = source.events;
  const iteration = iterationKeys(events, containers);
  const key = (name: string, position: number) => `${name}#${iteration.key[position] ?? ''}`;

  // The last event of each scope: 'root', 'map:<Map>:<iteration key>', 'branch:<Parallel>:<branch>:<iteration key of an enclosing Map>'.
  const last = new Map<string, number>([['root', 0]]);
  const scopeOf = (name: string, position: number): string => {
    const container = containers.get(name);
    if (!container) return 'root';
    const at = iteration.key[position] ?? '';
    return container.kind === 'map' ? `map:${container.name}:${at}` : `branch:${container.name}:${container.branch}:${at}`;
  };
  const lastIn = (scope: string) => last.get(scope) ?? 0;
  // Per run of a Map (its name and the iteration it runs in): its MapStateStarted, the last iteration to end, and the
  // last event of the last iteration that failed.
  const mapStarted = new Map<string, number>();
  const iterationEnded = new Map<string, number>();
  const iterationFailedAfter = new Map<string, number>();
  // Per Parallel instance (name and enclosing index): the branch scopes to reset and read.
  const branchScopes = (name: string, position: number) => {
    const count = branchCount(options.definition, name);
    return Array.from({ length: count }, (_, b) => `branch:${name}:${b}:${iteration.key[position] ?? ''}`);
  };

  events.forEach((event, position) => {
    const t = event.timestamp;
    switch (event.type) {
      case 'ExecutionStarted':
        push(t, 0, 'ExecutionStarted', {
          executionStartedEventDetails: {
            ...(data ? { input: json(event.input), inputDetails: { truncated: false } } : {}),
            roleArn: options.roleArn,
          },
        });
        break;
      case 'StateEntered': {
        const { name, type, input } = event.state;
        const scope = scopeOf(name, position);
        let id = push(t, lastIn(scope), `${type}StateEntered`, entered(name, input));
        if (type === 'Task') {
          const kind = taskKind(resources.get(name), options.region);
          id = push(t, id, ...kind.scheduled(input, data));
          id = push(t, id, ...kind.started());
        } else if (type === 'Map') {
          // AWS reports the iteration count at the start; the local log only has it as it goes.
          const length = countIterations(events, iteration.run, position);
          const run = iteration.run[position] ?? name;
          id = push(t, id, 'MapStateStarted', { mapStateStartedEventDetails: { length } });
          mapStarted.set(run, id);
          iterationEnded.delete(run);
          iterationFailedAfter.delete(run);
        } else if (type === 'Parallel') {
          id = push(t, id, 'ParallelStateStarted');
          for (const branch of branchScopes(name, position)) last.set(branch, id);
        }
        last.set(scope, id);
        break;
      }
      case 'StateExited': {
        const { name, type, output } = event.state;
        const scope = scopeOf(name, position);
        let previous = lastIn(scope);
        // A caught state exits with the Catch's output: it must not be reported as a success.
        const wasCaught = caught.delete(key(name, position));
        if (!wasCaught && type === 'Task') {
          previous = push(t, previous, ...taskKind(resources.get(name), options.region).succeeded(output, data));
        } else if (!wasCaught && type === 'Map') {
          const run = iteration.run[position] ?? name;
          previous = push(t, iterationEnded.get(run) ?? mapStarted.get(run) ?? previous, 'MapStateSucceeded');
        } else if (!wasCaught && type === 'Parallel') {
          previous = push(t, Math.max(previous, ...branchScopes(name, position).map(lastIn)), 'ParallelStateSucceeded');
        }
        last.set(scope, push(t, previous, `${type}StateExited`, exited(name, output)));
        break;
      }
      case 'StateFailed': {
        const { name, type } = event.state;
        const scope = scopeOf(name, position);
        let id: number | undefined;
        if (type === 'Task') {
          id = push(t, lastIn(scope), ...taskKind(resources.get(name), options.region).failed(event.Error, text(event.Cause)));
        } else if (type === 'Map') {
          id = push(t, iterationFailedAfter.get(iteration.run[position] ?? name) ?? lastIn(scope), 'MapStateFailed');
        } else if (type === 'Parallel') {
          id = push(t, Math.max(lastIn(scope), ...branchScopes(name, position).map(lastIn)), 'ParallelStateFailed');
        }
        // A Fail state (or a runtime error in Pass/Choice) shows only in ExecutionFailed, as on AWS.
        if (id !== undefined) last.set(scope, id);
        break;
      }
      case 'StateRetried': {
        const { name, type, input } = event.state;
        if (type === 'Task') {
          const scope = scopeOf(name, position);
          const kind = taskKind(resources.get(name), options.region);
          // The retry follows the failure it retries (the scope's last event).
          const scheduled = push(t, lastIn(scope), ...kind.scheduled(input, data));
          last.set(scope, push(t, scheduled, ...kind.started()));
        }
        break;
      }
      case 'StateCaught':
        caught.add(key(event.state.name, position));
        break;
      case 'MapIterationStarted': {
        const name = event.parentState.name;
        const id = push(t, mapStarted.get(iteration.run[position] ?? name) ?? 0, event.type, { mapIterationStartedEventDetails: { name, index: event.index } });
        last.set(`map:${name}:${iteration.key[position] ?? event.index}`, id);
        break;
      }
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        const name = event.parentState.name;
        const run = iteration.run[position] ?? name;
        const inside = lastIn(`map:${name}:${iteration.key[position] ?? event.index}`);
        const detailsKey = `mapIteration${event.type.slice('MapIteration'.length)}EventDetails`;
        const id = push(t, inside, event.type, { [detailsKey]: { name, index: event.index } });
        iterationEnded.set(run, id);
        if (event.type === 'MapIterationFailed') iterationFailedAfter.set(run, inside);
        break;
      }
      case 'ExecutionSucceeded':
        push(t, lastIn('root'), 'ExecutionSucceeded', {
          executionSucceededEventDetails: data ? { output: json(event.output), outputDetails: { truncated: false } } : {},
        });
        break;
      case 'ExecutionFailed':
        push(t, lastIn('root'), 'ExecutionFailed', { executionFailedEventDetails: { error: event.Error, cause: text(event.Cause) } });
        break;
      case 'ExecutionAborted':
        push(t, lastIn('root'), 'ExecutionAborted', { executionAbortedEventDetails: {} });
        break;
      case 'ExecutionTimeout':
        push(t, lastIn('root'), 'ExecutionTimedOut', {
          executionTimedOutEventDetails: { error: source.error ?? 'States.Timeout', ...(source.cause ? { cause: source.cause } : {}) },
        });
        break;
      // ParallelBranch* have no AWS counterpart.
      default:
        break;
    }
  });

  // A closing event may be missing from the log (a runner failure, or a log cut short).
  const closed = out.at(-1)?.type.startsWith('Execution') && out.at(-1)?.type !== 'ExecutionStarted';
  const end = events.at(-1)?.timestamp ?? Date.now();
  if (!closed && source.status === 'TIMED_OUT') {
    push(end, lastIn('root'), 'ExecutionTimedOut', { executionTimedOutEventDetails: { error: source.error ?? 'States.Timeout', cause: source.cause } });
  } else if (!closed && source.status === 'ABORTED') {
    push(end, lastIn('root'), 'ExecutionAborted', { executionAbortedEventDetails: {} });
  } else if (!closed && source.status === 'FAILED') {
    push(end, lastIn('root'), 'ExecutionFailed', { executionFailedEventDetails: { error: source.error, cause: source.cause } });
  }
  return out;
}

/** How many branches the Parallel state of that name has. */
/** The nearest Map whose iterations hold `name` (through Parallel branches), if any. */
function enclosingMap(containers: ReadonlyMap<string, Container>, name: string): string | undefined {
  let container = containers.get(name);
  while (container?.kind === 'branch') container = containers.get(container.name);
  return container?.name;
}

/**
 * Which Map iteration each event belongs to, as a key ("3", or "3/1" for iteration 1 of a Map run inside
 * iteration 3 of another), and which run of a Map (`Settle@3`) each Map state and iteration event is.
 * The local engine gives a state inside two Maps the outer index only (an inner iteration's index is
 * overwritten as the event is passed up), and an inner MapIteration event its own index only; both are
 * recovered from the data: an inner iteration starts with its input, and each of its states enters with
 * the output of the one before (the first one with the iteration's input), which tells concurrent
 * iterations apart; the inner Map's run is the one whose input its iteration events carry. Two levels of
 * Map (this definition's Forward iterations and their Settle map); deeper nesting is not resolved.
 */
export function iterationKeys(events: readonly EventLog[], containers: ReadonlyMap<string, Container>): { key: Array<string | undefined>; run: Array<string | undefined> } {
  const key: Array<string | undefined> = [];
  const run: Array<string | undefined> = [];
  const outerOfRun = new Map<string, string>();
  const iterations = new Map<string, Map<number, { expect: string; current?: { name: string; input: string } }>>();
  const nested = (map: string) => enclosingMap(containers, map) !== undefined;
  const innerOf = (instance: string, name: string, input: string, entering: boolean): number | undefined => {
    const list = [...(iterations.get(instance) ?? new Map()).entries()];
    const found = entering
      ? list.find(([, it]) => !it.current && it.expect === input)
      : (list.find(([, it]) => it.current?.name === name && it.current.input === input) ?? list.find(([, it]) => it.current?.name === name));
    return found?.[0];
  };
  events.forEach((event, position) => {
    if (event.type === 'MapIterationStarted' || event.type === 'MapIterationSucceeded' || event.type === 'MapIterationFailed') {
      const map = event.parentState.name;
      if (!nested(map)) {
        run[position] = `${map}@`;
        key[position] = String(event.index);
        return;
      }
      const outer = outerOfRun.get(`${map}\u0000${json(event.parentState.input)}`) ?? '?';
      const instance = `${map}@${outer}`;
      run[position] = instance;
      key[position] = `${outer}/${event.index}`;
      if (event.type === 'MapIterationStarted') {
        const list = iterations.get(instance) ?? new Map();
        list.set(event.index, { expect: json((event as { input?: unknown }).input) });
        iterations.set(instance, list);
      }
      return;
    }
    if (!('state' in event)) return;
    const { name, type } = event.state;
    const map = enclosingMap(containers, name);
    if (map === undefined) key[position] = undefined;
    else if (!nested(map)) key[position] = event.index === undefined ? undefined : String(event.index);
    else {
      const outer = String(event.index ?? '?');
      const instance = `${map}@${outer}`;
      const input = json(event.state.input);
      const inner = innerOf(instance, name, input, event.type === 'StateEntered');
      key[position] = `${outer}/${inner ?? '?'}`;
      const it = inner === undefined ? undefined : iterations.get(instance)?.get(inner);
      if (it && event.type === 'StateEntered') it.current = { name, input };
      if (it && event.type === 'StateExited') {
        it.current = undefined;
        it.expect = json(event.state.output);
      }
    }
    if (type === 'Map') {
      run[position] = `${name}@${key[position] ?? ''}`;
      if (event.type === 'StateEntered' && key[position] !== undefined) outerOfRun.set(`${name}\u0000${json(event.state.input)}`, key[position] as string);
    }
  });
  return { key, run };
}

function branchCount(definition: object, name: string): number {
  let count = 0;
  const visit = (machine: StateNode | undefined) => {
    for (const [stateName, state] of Object.entries(machine?.States ?? {})) {
      if (stateName === name) count = state.Branches?.length ?? 0;
      for (const branch of state.Branches ?? []) visit(branch);
      visit(state.Iterator ?? state.ItemProcessor);
    }
  };
  visit(definition as StateNode);
  return count;
}

/** Iterations of the Map state entered at `from`, up to its exit or failure. */
function countIterations(events: readonly EventLog[], runs: ReadonlyArray<string | undefined>, from: number): number {
  const run = runs[from];
  let count = 0;
  for (let i = from + 1; i < events.length; i++) {
    const event = events[i];
    if (!event) break;
    if (event.type === 'MapIterationStarted' && runs[i] === run) count++;
    if ((event.type === 'StateExited' || event.type === 'StateFailed') && runs[i] === run) break;
  }
  return count;
}
