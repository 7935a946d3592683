/**
 * Maps aws-local-stepfunctions' event log to Step Functions HistoryEvents as GetExecutionHistory
 * returns them on the wire (awsJson1_0: timestamps in epoch seconds, data fields as JSON strings).
 *
 * What the local log cannot give, and how it is filled:
 * - A Task's resolved Parameters and raw result are not logged, only the state's input and final
 *   output; the Task/LambdaFunction events carry those instead.
 * - previousEventId is simply the preceding event (AWS links to the causal predecessor).
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

/** The AWS-shaped history of one execution, oldest first. */
export function toHistoryEvents(source: HistorySource, options: HistoryOptions): WireHistoryEvent[] {
  const data = options.includeExecutionData ?? true;
  const resources = taskResources(options.definition);
  const out: WireHistoryEvent[] = [];
  const push = (timestampMs: number, type: string, details: Details = {}) => {
    const id = out.length + 1;
    out.push({ id, previousEventId: id - 1, timestamp: timestampMs / 1000, type, ...details });
  };
  const entered = (name: string, input: unknown) => ({
    stateEnteredEventDetails: { name, ...(data ? { input: json(input), inputDetails: { truncated: false } } : {}) },
  });
  const exited = (name: string, output: unknown) => ({
    stateExitedEventDetails: { name, ...(data ? { output: json(output), outputDetails: { truncated: false } } : {}) },
  });
  const caught = new Set<string>();
  const key = (name: string, index: number | undefined) => `${name}#${index ?? ''}`;
  const events = source.events;

  events.forEach((event, position) => {
    const t = event.timestamp;
    switch (event.type) {
      case 'ExecutionStarted':
        push(t, 'ExecutionStarted', {
          executionStartedEventDetails: {
            ...(data ? { input: json(event.input), inputDetails: { truncated: false } } : {}),
            roleArn: options.roleArn,
          },
        });
        break;
      case 'StateEntered': {
        const { name, type, input } = event.state;
        push(t, `${type}StateEntered`, entered(name, input));
        if (type === 'Task') {
          const kind = taskKind(resources.get(name), options.region);
          push(t, ...kind.scheduled(input, data));
          push(t, ...kind.started());
        } else if (type === 'Map') {
          // AWS reports the iteration count at the start; the local log only has it as it goes.
          const length = countIterations(events, position, name);
          push(t, 'MapStateStarted', { mapStateStartedEventDetails: { length } });
        } else if (type === 'Parallel') {
          push(t, 'ParallelStateStarted');
        }
        break;
      }
      case 'StateExited': {
        const { name, type, output } = event.state;
        // A caught state exits with the Catch's output: it must not be reported as a success.
        const wasCaught = caught.delete(key(name, event.index));
        if (!wasCaught && type === 'Task') push(t, ...taskKind(resources.get(name), options.region).succeeded(output, data));
        else if (!wasCaught && type === 'Map') push(t, 'MapStateSucceeded');
        else if (!wasCaught && type === 'Parallel') push(t, 'ParallelStateSucceeded');
        push(t, `${type}StateExited`, exited(name, output));
        break;
      }
      case 'StateFailed': {
        const { name, type } = event.state;
        if (type === 'Task') push(t, ...taskKind(resources.get(name), options.region).failed(event.Error, text(event.Cause)));
        else if (type === 'Map') push(t, 'MapStateFailed');
        else if (type === 'Parallel') push(t, 'ParallelStateFailed');
        // A Fail state (or a runtime error in Pass/Choice) shows only in ExecutionFailed, as on AWS.
        break;
      }
      case 'StateRetried': {
        const { name, type, input } = event.state;
        if (type === 'Task') {
          const kind = taskKind(resources.get(name), options.region);
          push(t, ...kind.scheduled(input, data));
          push(t, ...kind.started());
        }
        break;
      }
      case 'StateCaught':
        caught.add(key(event.state.name, event.index));
        break;
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        const detailsKey = `mapIteration${event.type.slice('MapIteration'.length)}EventDetails`;
        push(t, event.type, { [detailsKey]: { name: event.parentState.name, index: event.index } });
        break;
      }
      case 'ExecutionSucceeded':
        push(t, 'ExecutionSucceeded', {
          executionSucceededEventDetails: data ? { output: json(event.output), outputDetails: { truncated: false } } : {},
        });
        break;
      case 'ExecutionFailed':
        push(t, 'ExecutionFailed', { executionFailedEventDetails: { error: event.Error, cause: text(event.Cause) } });
        break;
      case 'ExecutionAborted':
        push(t, 'ExecutionAborted', { executionAbortedEventDetails: {} });
        break;
      case 'ExecutionTimeout':
        push(t, 'ExecutionTimedOut', {
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
  const last = events.at(-1)?.timestamp ?? Date.now();
  if (!closed && source.status === 'TIMED_OUT') {
    push(last, 'ExecutionTimedOut', { executionTimedOutEventDetails: { error: source.error ?? 'States.Timeout', cause: source.cause } });
  } else if (!closed && source.status === 'ABORTED') {
    push(last, 'ExecutionAborted', { executionAbortedEventDetails: {} });
  } else if (!closed && source.status === 'FAILED') {
    push(last, 'ExecutionFailed', { executionFailedEventDetails: { error: source.error, cause: source.cause } });
  }
  return out;
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
