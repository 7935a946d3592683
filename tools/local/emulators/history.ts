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
 * Limit: the local engine gives a state nested in two Maps the index of the outer one only, so the
 * iterations of a Map inside another Map's iterations cannot be told apart (this project has none).
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
  const key = (name: string, index: number | undefined) => `${name}#${index ?? ''}`;

  // The last event of each scope: 'root', 'map:<Map>:<index>', 'branch:<Parallel>:<branch>:<index of an enclosing Map>'.
  const last = new Map<string, number>([['root', 0]]);
  const scopeOf = (name: string, index: number | undefined): string => {
    const container = containers.get(name);
    if (!container) return 'root';
    return container.kind === 'map' ? `map:${container.name}:${index ?? ''}` : `branch:${container.name}:${container.branch}:${index ?? ''}`;
  };
  const lastIn = (scope: string) => last.get(scope) ?? 0;
  // Per Map (by name; see the limit above): its MapStateStarted, the last iteration to end, and the
  // last event of the last iteration that failed.
  const mapStarted = new Map<string, number>();
  const iterationEnded = new Map<string, number>();
  const iterationFailedAfter = new Map<string, number>();
  // Per Parallel instance (name and enclosing index): the branch scopes to reset and read.
  const branchScopes = (name: string, index: number | undefined) => {
    const count = branchCount(options.definition, name);
    return Array.from({ length: count }, (_, b) => `branch:${name}:${b}:${index ?? ''}`);
  };
  const events = source.events;

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
        const scope = scopeOf(name, event.index);
        let id = push(t, lastIn(scope), `${type}StateEntered`, entered(name, input));
        if (type === 'Task') {
          const kind = taskKind(resources.get(name), options.region);
          id = push(t, id, ...kind.scheduled(input, data));
          id = push(t, id, ...kind.started());
        } else if (type === 'Map') {
          // AWS reports the iteration count at the start; the local log only has it as it goes.
          const length = countIterations(events, position, name);
          id = push(t, id, 'MapStateStarted', { mapStateStartedEventDetails: { length } });
          mapStarted.set(name, id);
          iterationEnded.delete(name);
          iterationFailedAfter.delete(name);
        } else if (type === 'Parallel') {
          id = push(t, id, 'ParallelStateStarted');
          for (const branch of branchScopes(name, event.index)) last.set(branch, id);
        }
        last.set(scope, id);
        break;
      }
      case 'StateExited': {
        const { name, type, output } = event.state;
        const scope = scopeOf(name, event.index);
        let previous = lastIn(scope);
        // A caught state exits with the Catch's output: it must not be reported as a success.
        const wasCaught = caught.delete(key(name, event.index));
        if (!wasCaught && type === 'Task') {
          previous = push(t, previous, ...taskKind(resources.get(name), options.region).succeeded(output, data));
        } else if (!wasCaught && type === 'Map') {
          previous = push(t, iterationEnded.get(name) ?? mapStarted.get(name) ?? previous, 'MapStateSucceeded');
        } else if (!wasCaught && type === 'Parallel') {
          previous = push(t, Math.max(previous, ...branchScopes(name, event.index).map(lastIn)), 'ParallelStateSucceeded');
        }
        last.set(scope, push(t, previous, `${type}StateExited`, exited(name, output)));
        break;
      }
      case 'StateFailed': {
        const { name, type } = event.state;
        const scope = scopeOf(name, event.index);
        let id: number | undefined;
        if (type === 'Task') {
          id = push(t, lastIn(scope), ...taskKind(resources.get(name), options.region).failed(event.Error, text(event.Cause)));
        } else if (type === 'Map') {
          id = push(t, iterationFailedAfter.get(name) ?? lastIn(scope), 'MapStateFailed');
        } else if (type === 'Parallel') {
          id = push(t, Math.max(lastIn(scope), ...branchScopes(name, event.index).map(lastIn)), 'ParallelStateFailed');
        }
        // A Fail state (or a runtime error in Pass/Choice) shows only in ExecutionFailed, as on AWS.
        if (id !== undefined) last.set(scope, id);
        break;
      }
      case 'StateRetried': {
        const { name, type, input } = event.state;
        if (type === 'Task') {
          const scope = scopeOf(name, event.index);
          const kind = taskKind(resources.get(name), options.region);
          // The retry follows the failure it retries (the scope's last event).
          const scheduled = push(t, lastIn(scope), ...kind.scheduled(input, data));
          last.set(scope, push(t, scheduled, ...kind.started()));
        }
        break;
      }
      case 'StateCaught':
        caught.add(key(event.state.name, event.index));
        break;
      case 'MapIterationStarted': {
        const name = event.parentState.name;
        const id = push(t, mapStarted.get(name) ?? 0, event.type, { mapIterationStartedEventDetails: { name, index: event.index } });
        last.set(`map:${name}:${event.index}`, id);
        break;
      }
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        const name = event.parentState.name;
        const inside = lastIn(`map:${name}:${event.index}`);
        const detailsKey = `mapIteration${event.type.slice('MapIteration'.length)}EventDetails`;
        const id = push(t, inside, event.type, { [detailsKey]: { name, index: event.index } });
        iterationEnded.set(name, id);
        if (event.type === 'MapIterationFailed') iterationFailedAfter.set(name, inside);
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
function countIterations(events: readonly EventLog[], from: number, name: string): number {
  let count = 0;
  for (let i = from + 1; i < events.length; i++) {
    const event = events[i];
    if (!event) break;
    if (event.type === 'MapIterationStarted' && event.parentState.name === name) count++;
    if ((event.type === 'StateExited' || event.type === 'StateFailed') && event.state.name === name) break;
  }
  return count;
}
