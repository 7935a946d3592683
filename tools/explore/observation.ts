/**
 * What one explored run leaves behind, as plain data: the messages taken, each execution's outcomes,
 * every Task attempt (with what the injected fault did), every copy in the queues, the records, and
 * what the workers did through the fence. The checker (tools/explore/checker.ts) reads only this.
 */
import type { FaultId } from './faults.js';

export type AttemptRole = 'forward' | 'failover' | 'dead-letter' | 'other';

export interface SentCopy {
  readonly region: string;
  readonly requestId: string;
  readonly token: string;
}

export interface AttemptLog {
  /** Order among the run's attempts. */
  readonly seq: number;
  /** 0: the first delivery; 1: the next delivery. */
  readonly execution: number;
  readonly state: string;
  readonly item: string;
  readonly attempt: number;
  readonly role: AttemptRole;
  /** Messages the attempt works on: a send's pending placements, a write's request_id. */
  readonly holds: readonly string[];
  /** The fault injected into this attempt, if any. */
  readonly fault?: FaultId;
  /** Messages whose send (or write) in this attempt went unanswered: it may have been applied. */
  readonly unanswered: readonly string[];
  /** Copies the attempt's function reported sending (or unconfirmed), when it ran. */
  readonly sent: readonly SentCopy[];
  /** True when the function's answer was lost after it ran (hook fault after the handler). */
  readonly answerLost: boolean;
}

export interface Outcome {
  readonly messageId: string;
  readonly requestId?: string;
  readonly outcome: 'dispatched' | 'duplicate' | 'dead-lettered' | 'retry';
  readonly region?: string;
  readonly failedOver?: boolean;
  readonly reason?: string;
}

export interface ExecutionView {
  readonly index: number;
  readonly name: string;
  readonly status: string;
  /** One per message of that execution (a failed execution: every message retried). */
  readonly outcomes: readonly Outcome[];
}

export interface CopyView {
  readonly queue: 'region' | 'dlq';
  readonly region?: string;
  readonly messageId: string;
  readonly requestId: string;
  readonly token?: string;
  /** The execution that sent it (message attribute). */
  readonly execution?: string;
  readonly reason?: string;
}

/** What the checker reads of an idempotency record: the chaos checker's view (tools/chaos/observe.ts recordView). */
import type { RecordView } from '../chaos/checker.js';
export type { RecordView };

export interface WorkView {
  readonly requestId: string;
  readonly token: string;
  readonly workerId: string;
  /** accepted then completed; refused with the fence's reason; or an error. */
  readonly result: 'completed' | 'accepted' | 'refused' | 'error';
  readonly reason?: string;
}

export interface Evidence {
  /** Sends a proxy let through and whose answer it withheld (applied), by region and token. */
  readonly storedUnanswered: readonly SentCopy[];
  /** Dead-letter sends applied without an answer, by request_id. */
  readonly deadLettersUnanswered: readonly string[];
}

export interface RunView {
  readonly combo: string;
  readonly messages: ReadonlyArray<{ readonly messageId: string; readonly requestId: string }>;
  readonly executions: readonly ExecutionView[];
  readonly attempts: readonly AttemptLog[];
  readonly copies: readonly CopyView[];
  /** Records after the workers. */
  readonly records: readonly RecordView[];
  readonly work: readonly WorkView[];
  readonly evidence: Evidence;
}
