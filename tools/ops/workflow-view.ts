/**
 * The executions the local stack keeps that carried one request_id into the workflow: every master
 * message that did, and what the workflow did with each (a repeat in a later batch shows as a
 * duplicate). A repeat within one batch is dropped by the intake before any execution, without a
 * record of its own: nothing keeps it, and the view says so.
 */
import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { executionOutputSchema } from '../../core/outcomes.js';
import { listExecutions } from './executions.js';

export interface MasterMessageSeen {
  readonly messageId: string;
  readonly execution: string;
  readonly startDate?: string;
  /** What the workflow did with it (absent while running, or when the execution failed). */
  readonly outcome?: string;
  readonly region?: string;
  readonly failedOver?: boolean;
  readonly reason?: string;
}

export interface WorkflowView {
  /** Whether the executions could be read at all (not on a deployed stage). */
  readonly known: boolean;
  /** Executions read. */
  readonly executionsRead: number;
  /** Each master message that carried the request_id into an execution, oldest first. */
  readonly masterMessages: MasterMessageSeen[];
  readonly notKnown: string[];
}

/** The executions that carried this request_id, from their input and output (DescribeExecution). */
export async function workflowView(
  sfn: SFNClient,
  stateMachineArn: string,
  requestId: string,
  onProgress?: (read: number, total: number) => void,
): Promise<WorkflowView> {
  const executions = await listExecutions(sfn, stateMachineArn, 10_000);
  const seen: MasterMessageSeen[] = [];
  let read = 0;
  // Oldest first, so the story reads in order.
  for (const e of [...executions].reverse()) {
    if (!e.executionArn) continue;
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }));
    onProgress?.(++read, executions.length);
    let input: { messages?: Array<{ messageId?: string; requestId?: string }> };
    try {
      input = JSON.parse(described.input ?? '{}');
    } catch {
      continue;
    }
    const carried = (input.messages ?? []).filter((m) => m.requestId === requestId && m.messageId);
    if (!carried.length) continue;
    const output = described.output ? executionOutputSchema.safeParse(JSON.parse(described.output)) : undefined;
    const outcomes = output?.success ? [...output.data.skipped, ...output.data.forwarded.flat()] : [];
    for (const m of carried) {
      const outcome = outcomes.find((o) => o.messageId === m.messageId);
      seen.push({
        messageId: m.messageId as string,
        execution: e.name ?? '?',
        ...(e.startDate ? { startDate: e.startDate.toISOString() } : {}),
        ...(outcome ? { outcome: outcome.outcome } : described.status !== 'SUCCEEDED' ? { outcome: `(execution ${described.status})` } : {}),
        ...(outcome?.region ? { region: outcome.region } : {}),
        ...(outcome?.failedOver ? { failedOver: true } : {}),
        ...(outcome?.reason ? { reason: outcome.reason } : {}),
      });
    }
  }
  return {
    known: true,
    executionsRead: read,
    masterMessages: seen,
    notKnown: [
      'repeats within one batch: the intake drops them before any execution, without a record (only its "batch done" log line counts them)',
      'messages the intake dead-lettered as invalid (see the DLQ part)',
      `executions the local stack no longer keeps (it keeps the newest 1000; ${read} read)`,
    ],
  };
}

/** What a deployed stage says: its executions are in the log group only, which this does not read. */
export const NOT_ON_AWS: WorkflowView = {
  known: false,
  executionsRead: 0,
  masterMessages: [],
  notKnown: [
    'how many master messages carried this request_id: on a deployed stage the executions are in the state machine log group only (with execution data on non-production stages); this command does not read it',
  ],
};
