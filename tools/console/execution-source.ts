/**
 * Where the console reads the dispatch executions from (ops/executions.ts serves both):
 * - the local stack: its Step Functions endpoint (ListExecutions, DescribeExecution, GetExecutionHistory);
 * - a deployed stage: Express executions are not served by the Step Functions API there, so the list
 *   comes from one Logs Insights query over the state machine's log group, and each execution (its
 *   input, output and history) from its own log events. A stage's log group is read sparingly: the list
 *   at most every `listAgeMs`, a few executions at a time, and a finished one is read once.
 * The definition comes from DescribeStateMachine in both.
 */
import { DescribeExecutionCommand, DescribeStateMachineCommand, type HistoryEvent, type SFNClient } from '@aws-sdk/client-sfn';
import { executionHistory, listExecutions, readExecution, recentExecutions, type ExecutionDescription, type ExecutionRead, type ExecutionsDeps } from '../ops/executions.js';

export interface ExecutionSource {
  /** Newest first, up to `max`. */
  list(max: number): Promise<ReadonlyArray<{ readonly executionArn?: string | undefined }>>;
  describe(executionArn: string): Promise<ExecutionDescription & { readonly input?: string | undefined }>;
  history(executionArn: string): Promise<HistoryEvent[]>;
  definition(): Promise<object>;
  /** Reads of the list within this many ms share one. */
  readonly listAgeMs: number;
  /** Executions described at once. */
  readonly concurrency: number;
}

const describeStateMachine = async (sfn: SFNClient, stateMachineArn: string): Promise<object> =>
  JSON.parse((await sfn.send(new DescribeStateMachineCommand({ stateMachineArn }))).definition ?? '{}') as object;

/** The local stack's Step Functions endpoint, which keeps every execution it ran. */
export function endpointSource(sfn: SFNClient, stateMachineArn: string): ExecutionSource {
  return {
    list: (max) => listExecutions(sfn, stateMachineArn, max),
    describe: (executionArn) => sfn.send(new DescribeExecutionCommand({ executionArn })),
    history: (executionArn) => executionHistory(sfn, executionArn),
    definition: () => describeStateMachine(sfn, stateMachineArn),
    listAgeMs: 300,
    concurrency: 8,
  };
}

/** As the SDK names an execution that is not there, so that the console answers 404. */
class ExecutionDoesNotExist extends Error {
  override name = 'ExecutionDoesNotExist';
}

const ENDED = /^Execution(Succeeded|Failed|TimedOut|Aborted)$/;

/** The input an ExecutionStarted log record carries (logging level ALL, with execution data). */
const inputOf = (events: readonly HistoryEvent[]): string | undefined => {
  const details = (events.find((e) => e.type === 'ExecutionStarted') as { logEventDetails?: { input?: unknown } } | undefined)?.logEventDetails;
  return typeof details?.input === 'string' ? details.input : undefined;
};

/** A deployed stage's log group, read over the last `hours` hours. */
export function logGroupSource(target: ExecutionsDeps, hours: number, keep = 2000): ExecutionSource {
  if (!target.stateMachineArn) throw new Error('the stage outputs name no state machine');
  const stateMachineArn = target.stateMachineArn;
  // A finished execution's log events never change: read once, kept (the newest `keep`).
  const finished = new Map<string, Promise<ExecutionRead>>();
  const read = (executionArn: string): Promise<ExecutionRead> => {
    const kept = finished.get(executionArn);
    if (kept) return kept;
    const reading = readExecution(target, executionArn, { hours }).catch((error: Error) => {
      // ops/executions.ts says so in words when the log group holds no such execution.
      throw /^no execution named/.test(error.message) ? new ExecutionDoesNotExist(error.message) : error;
    });
    void reading.then(
      (r) => {
        if (!r.events.some((e) => ENDED.test(e.type ?? ''))) return;
        finished.set(executionArn, reading);
        if (finished.size > keep) finished.delete(finished.keys().next().value as string);
      },
      () => undefined,
    );
    return reading;
  };
  return {
    list: (max) => recentExecutions(target, { max, hours }),
    async describe(executionArn) {
      const r = await read(executionArn);
      return { ...r.execution, input: inputOf(r.events) };
    },
    history: async (executionArn) => (await read(executionArn)).events,
    definition: () => describeStateMachine(target.sfn(), stateMachineArn),
    listAgeMs: 15_000,
    concurrency: 4,
  };
}
