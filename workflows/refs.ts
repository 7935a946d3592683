/**
 * What the dispatch definition calls: the resources it is a function of, and the forward function's
 * Task, which the forward branch and its failover share.
 */
import { TASK_TIMEOUTS } from '../core/topology.js';
import { task } from './asl.js';

export interface RetryPolicy {
  readonly intervalSeconds: number;
  readonly maxAttempts: number;
  readonly backoffRate: number;
}

export interface DispatchRefs {
  /** Regions in configured order: one Forward branch each. */
  readonly regions: readonly string[];
  /** Lambda function ARNs. */
  readonly functions: {
    readonly snapshot: string;
    readonly select: string;
    readonly forward: string;
  };
  /** The idempotency table (home region). */
  readonly tableName: string;
  /** The dispatch DLQ (home region) for messages no region would take. */
  readonly deadLetterQueueUrl: string;
  /** Retry of a failing region (same region) before failing over or giving up; defaults 1 s, 1 attempt, x2, full jitter. */
  readonly regionRetry?: RetryPolicy;
}

export const DEFAULT_REGION_RETRY: RetryPolicy = { intervalSeconds: 1, maxAttempts: 1, backoffRate: 2 };

/** A Task calling the forward function (primary or failover mode: its Parameters say which). */
export const forwardTask = (refs: DispatchRefs) => task(refs.functions.forward, TASK_TIMEOUTS.forwardSeconds);
