/**
 * The shape of the measured figures (tools/bench/cost/measured.json), written by tools/bench/cost/measure.ts and read
 * by the model (tools/bench/cost/model.ts). Types and names only.
 */
import type { LogBytes } from './log-records.js';

/** 2: the cells carry the functions' EMF lines (emfLogBytes, emfLogLines). */
export const MEASURED_SCHEMA = 2;

export const FUNCTIONS = ['intake', 'snapshot', 'select', 'forward'] as const;
export type FunctionName = (typeof FUNCTIONS)[number];
/** Log variants measured per execution. */
export const LOG_VARIANTS = ['allData', 'allNoData', 'errorData', 'errorNoData', 'fatal'] as const;
export type LogVariant = (typeof LOG_VARIANTS)[number];

export interface Averages {
  readonly [key: string]: number;
}

/** One execution size (messages) at one region count: means per execution over the samples. */
export interface MeasuredCell {
  readonly regions: number;
  readonly messages: number;
  readonly samples: number;
  /** Local execution durations (ms), one per sample: the model rounds each up as Express bills it. */
  readonly executionMs: readonly number[];
  /** Invocations per execution and handler time per execution (ms, all invocations), per function. */
  readonly lambda: Readonly<Record<string, { readonly invocations: number; readonly ms: number }>>;
  /** Calls per execution by `service.action` (SQS split home/remote region: `sqs.home.X`, `sqs.remote.X`). */
  readonly calls: Averages;
  /** Execution log per execution at each level/data variant. */
  readonly logs: Readonly<Record<LogVariant, LogBytes>>;
  /** The functions' own log output per execution (bytes, at LOG_LEVEL as deployed), per function. */
  readonly functionLogBytes: Averages;
  /** ...and its lines (each a log event: CloudWatch adds 26 bytes to each). */
  readonly functionLogLines: Averages;
  /**
   * The functions' EMF lines per execution (functions/metrics.ts: written to stdout on Lambda, so into
   * the functions' log groups), all functions together: bytes and lines. Absent in figures measured
   * before they were counted.
   */
  readonly emfLogBytes?: number;
  readonly emfLogLines?: number;
  /** Inputs of the Express memory estimate (Step Functions pricing page): definition, largest state payload, Map/Parallel steps. */
  readonly memory: { readonly definitionBytes: number; readonly maxPayloadBytes: number; readonly mapParallelSteps: number };
}

export interface ItemSizes {
  readonly count: number;
  readonly meanBytes: number;
  readonly maxBytes: number;
}

export interface Incident {
  readonly what: string;
  readonly executions: number;
  readonly messages: number;
  /** Per execution. */
  readonly logs: Readonly<Record<LogVariant, LogBytes>>;
  readonly calls: Averages;
}

export interface MeasuredFigures {
  readonly schema: number;
  readonly measuredAt: string;
  readonly command: string;
  readonly machine: {
    readonly cores: number;
    readonly cpu: string;
    readonly node: string;
    readonly platform: string;
    /** 1-minute load average before and after: other processes slow the local durations down. */
    readonly loadAverage?: readonly [number, number];
  };
  readonly code: { readonly commit: string | null; readonly changedSinceCommit: readonly string[]; readonly fingerprint: string };
  readonly setup: {
    readonly stage: string;
    readonly sizes: readonly number[];
    readonly regionCounts: readonly number[];
    readonly repeats: number;
    readonly functionLogLevel: string;
    readonly requests: string;
    readonly notes: readonly string[];
    /** The measured stack had high lanes (core/lanes.ts): its depth reads count both lanes of a region. */
    readonly lanes?: boolean;
  };
  readonly cells: readonly MeasuredCell[];
  /** Compressed / raw size of the execution log and the functions' logs (gzip), for storage. */
  readonly compression: { readonly executionLogData: number; readonly executionLogNoData: number; readonly functionLogs: number };
  readonly workers: { readonly messages: number; readonly perMessage: Averages };
  readonly items: { readonly dispatched: ItemSizes; readonly completed: ItemSizes };
  readonly payload: { readonly bodyBytes: number; readonly regionalMessageBytes: number };
  readonly incidents: readonly Incident[];
  readonly discardedRounds: number;
}

