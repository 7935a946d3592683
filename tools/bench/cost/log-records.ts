/**
 * What an Express state machine writes to its CloudWatch log group, rendered from an execution's history
 * (tools/local/emulators/history.ts toHistoryEvents, the same events GetExecutionHistory returns): one JSON record per
 * history event of the types the log level includes, in the shape Step Functions writes
 * (tools/ops/express-logs.ts reads the same shape back):
 *
 *   {"id":"3","type":"TaskStateEntered","details":{"name":"...","input":"...","inputDetails":{...}},
 *    "previous_event_id":"2","event_timestamp":"1764671000123","execution_arn":"arn:...","redrive_count":"0"}
 *
 * Which event types each level logs: Step Functions developer guide, "Log levels" (cloudwatch-log-level).
 * Without execution data, the events carry no input, output or parameters (toHistoryEvents with
 * includeExecutionData: false renders them so). Pure: no I/O.
 */

export type LogLevel = 'ALL' | 'ERROR' | 'FATAL' | 'OFF';
export const LOG_LEVELS: readonly LogLevel[] = ['ALL', 'ERROR', 'FATAL', 'OFF'];

/** Event types logged at ERROR (and at ALL). Step Functions developer guide, "Log levels" table. */
export const ERROR_EVENT_TYPES: ReadonlySet<string> = new Set([
  'ExecutionAborted',
  'ExecutionFailed',
  'ExecutionTimedOut',
  'FailStateEntered',
  'LambdaFunctionFailed',
  'LambdaFunctionScheduleFailed',
  'LambdaFunctionStartFailed',
  'LambdaFunctionTimedOut',
  'MapIterationAborted',
  'MapIterationFailed',
  'MapStateAborted',
  'MapStateFailed',
  'ParallelStateAborted',
  'ParallelStateFailed',
  'TaskFailed',
  'TaskStartFailed',
  'TaskStateAborted',
  'TaskSubmitFailed',
  'TaskTimedOut',
  'WaitStateAborted',
]);

/** Event types logged at FATAL: the execution itself ended badly. */
export const FATAL_EVENT_TYPES: ReadonlySet<string> = new Set(['ExecutionAborted', 'ExecutionFailed', 'ExecutionTimedOut']);

export function logsEventType(level: LogLevel, type: string): boolean {
  if (level === 'ALL') return true;
  if (level === 'ERROR') return ERROR_EVENT_TYPES.has(type);
  if (level === 'FATAL') return FATAL_EVENT_TYPES.has(type);
  return false;
}

/** A history event as tools/local/emulators/history.ts renders it: id, previousEventId, timestamp (epoch seconds), type, one *EventDetails. */
export interface HistoryEventLike {
  readonly id: number;
  readonly previousEventId: number;
  readonly timestamp: number;
  readonly type: string;
  readonly [details: string]: unknown;
}

export interface LogRecord {
  readonly id: string;
  readonly type: string;
  readonly details: Record<string, unknown>;
  readonly previous_event_id: string;
  readonly event_timestamp: string;
  readonly execution_arn: string;
  readonly redrive_count: string;
}

/** The one `...EventDetails` object of a history event, or {} (e.g. LambdaFunctionStarted has none). */
function detailsOf(event: HistoryEventLike): Record<string, unknown> {
  for (const [key, value] of Object.entries(event)) {
    if (key.endsWith('EventDetails') && value && typeof value === 'object') return value as Record<string, unknown>;
  }
  return {};
}

export function toLogRecord(event: HistoryEventLike, executionArn: string): LogRecord {
  return {
    id: String(event.id),
    type: event.type,
    details: detailsOf(event),
    previous_event_id: String(event.previousEventId),
    event_timestamp: String(Math.round(event.timestamp * 1000)),
    execution_arn: executionArn,
    redrive_count: '0',
  };
}

/** The log records of one execution at a level (history rendered with or without execution data by the caller). */
export function logRecords(events: readonly HistoryEventLike[], executionArn: string, level: LogLevel): LogRecord[] {
  return events.filter((e) => logsEventType(level, e.type)).map((e) => toLogRecord(e, executionArn));
}

/**
 * CloudWatch Logs counts each event as its message's UTF-8 bytes plus 26 bytes (PutLogEvents batch
 * accounting, CloudWatch Logs API reference); the model bills ingestion on that figure.
 */
export const LOG_EVENT_OVERHEAD_BYTES = 26;

export interface LogBytes {
  readonly records: number;
  /** Message bytes (the JSON lines). */
  readonly messageBytes: number;
  /** Message bytes + 26 per record: what the model bills as ingested. */
  readonly ingestedBytes: number;
}

export function logBytes(records: readonly LogRecord[]): LogBytes {
  const messageBytes = records.reduce((sum, r) => sum + Buffer.byteLength(JSON.stringify(r)), 0);
  return { records: records.length, messageBytes, ingestedBytes: messageBytes + LOG_EVENT_OVERHEAD_BYTES * records.length };
}
