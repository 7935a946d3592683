/**
 * One structured logger per function (Powertools), its level from the function's config (LOG_LEVEL when
 * deployed), and the Lambda context (request id, cold start, function name, ARN, memory) added to every
 * record of an invocation by `withLambdaContext()`, Powertools' middy middleware.
 *
 * JSON on AWS, always: CloudWatch Logs Insights and the tests read it. For a person watching a local run,
 * LOG_FORMAT=text prints the same record as one compact line instead
 * (`12:01:02.345 INFO  intake  batch done  batchId=... dispatched=3 ...  [req 1a2b3c4d cold]`);
 * it is read at each record, so the local runtime may set it after the functions were imported.
 */
import { Logger, LogLevelThreshold, type LogItem } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { MiddlewareObj } from '@middy/core';

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';

export const LOG_FORMAT_ENV = 'LOG_FORMAT';
const textFormat = () => process.env[LOG_FORMAT_ENV]?.toLowerCase() === 'text';

/** Keys every record carries that the text line shows in its own places, or not at all. */
const STANDARD_KEYS = new Set([
  'level',
  'message',
  'timestamp',
  'service',
  'sampling_rate',
  'xray_trace_id',
  'cold_start',
  'function_name',
  'function_arn',
  'function_memory_size',
  'function_request_id',
  'function_version',
  'tenant_id',
]);

const value = (item: unknown): string => {
  if (typeof item === 'string') return /[\s"=]/.test(item) || item === '' ? JSON.stringify(item) : item;
  return JSON.stringify(item) ?? String(item);
};

/** One record as one line: time, level, service, message, then its own keys as key=value. */
export function textLine(attributes: Record<string, unknown>): string {
  const time = typeof attributes.timestamp === 'string' ? attributes.timestamp.slice(11, 23) : '';
  const level = String(attributes.level ?? '').padEnd(5);
  const service = String(attributes.service ?? '');
  const extra = Object.entries(attributes)
    .filter(([key, item]) => !STANDARD_KEYS.has(key) && item !== undefined)
    .map(([key, item]) => `${key}=${value(item)}`);
  const request = typeof attributes.function_request_id === 'string' ? attributes.function_request_id.slice(0, 8) : undefined;
  const context = request ? `  [req ${request}${attributes.cold_start === true ? ' cold' : ''}]` : '';
  return [time, level, service, String(attributes.message ?? ''), ...extra].filter((part) => part !== '').join('  ') + context;
}

class DispatchLogger extends Logger {
  /**
   * Powertools' middleware calls this before each invocation to redraw debug-log sampling. The level
   * here is the config's alone (no POWERTOOLS_LOGGER_SAMPLE_RATE), so there is nothing to redraw.
   */
  override refreshSampleRateCalculation(): void {}

  protected override printLog(logLevel: number, log: LogItem): void {
    if (!textFormat()) {
      super.printLog(logLevel, log);
      return;
    }
    log.prepareForPrint();
    const line = textLine(log.getAttributes());
    // The same streams Powertools uses: errors and warnings to stderr, the rest to stdout.
    (logLevel >= LogLevelThreshold.WARN ? process.stderr : process.stdout).write(`${line}\n`);
  }
}

/** A function's logger at the level its config names. */
export function logger(serviceName: string, level: LogLevel): Logger {
  return new DispatchLogger({ serviceName, logLevel: level });
}

/** Adds the invocation's Lambda context to every record of `log` (Powertools' middy middleware). */
export function withLambdaContext(log: Logger): MiddlewareObj {
  return injectLambdaContext(log) as MiddlewareObj;
}
