/**
 * On AWS, Express executions are not served by ListExecutions / GetExecutionHistory: their history is
 * in the state machine's CloudWatch log group (logging level ALL, execution data included). This reads
 * it back into the same HistoryEvent shape the local endpoint returns, so `executions` and `inspect`
 * serve both.
 */
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { z } from 'zod';

/** One log record of an Express execution (Step Functions' log format). */
const logRecordSchema = z.object({
  id: z.coerce.number(),
  type: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
  event_timestamp: z.coerce.number(),
  execution_arn: z.string(),
});

export interface ExpressExecution {
  readonly name: string;
  readonly executionArn: string;
  readonly startDate: Date;
  stopDate?: Date;
  status: string;
}

export const executionName = (arn: string) => arn.split(':').at(-2) ?? arn;

/** Log messages (JSON strings) -> history events of one execution, in order; foreign lines are skipped. */
export function logMessagesToHistory(messages: readonly string[], executionArn?: string): HistoryEvent[] {
  const records = messages
    .map((message) => {
      try {
        return logRecordSchema.safeParse(JSON.parse(message));
      } catch {
        return undefined;
      }
    })
    .flatMap((parsed) => (parsed?.success ? [parsed.data] : []))
    .filter((record) => !executionArn || record.execution_arn === executionArn)
    .sort((a, b) => a.id - b.id);
  // toSteps reads any `*EventDetails` field: the log's `details` carry the same names (name, input, error...).
  return records.map((r) => ({ id: r.id, type: r.type as HistoryEvent['type'], timestamp: new Date(r.event_timestamp), logEventDetails: r.details ?? {} }) as HistoryEvent);
}

/** Executions seen in log messages, newest first, with their status when they ended. */
export function executionsFromLogs(messages: readonly string[]): ExpressExecution[] {
  const byArn = new Map<string, ExpressExecution>();
  for (const message of messages) {
    let record;
    try {
      record = logRecordSchema.parse(JSON.parse(message));
    } catch {
      continue;
    }
    const at = new Date(record.event_timestamp);
    const execution = byArn.get(record.execution_arn) ?? {
      name: executionName(record.execution_arn),
      executionArn: record.execution_arn,
      startDate: at,
      status: 'RUNNING',
    };
    if (record.type === 'ExecutionSucceeded') execution.status = 'SUCCEEDED';
    if (record.type === 'ExecutionFailed') execution.status = 'FAILED';
    if (record.type === 'ExecutionTimedOut') execution.status = 'TIMED_OUT';
    if (record.type === 'ExecutionAborted') execution.status = 'ABORTED';
    if (/^Execution(Succeeded|Failed|TimedOut|Aborted)$/.test(record.type)) execution.stopDate = at;
    byArn.set(record.execution_arn, execution);
  }
  return [...byArn.values()].sort((a, b) => b.startDate.getTime() - a.startDate.getTime());
}

/** Log messages of the last `hours` hours matching a CloudWatch Logs JSON filter pattern. */
export async function readLogMessages(
  client: CloudWatchLogsClient,
  logGroupName: string,
  filterPattern: string,
  hours: number,
  limit = 10_000,
): Promise<string[]> {
  const messages: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(
      new FilterLogEventsCommand({
        logGroupName,
        filterPattern,
        startTime: Date.now() - hours * 3600_000,
        ...(nextToken ? { nextToken } : {}),
      }),
    );
    for (const event of page.events ?? []) if (event.message) messages.push(event.message);
    nextToken = page.nextToken;
  } while (nextToken && messages.length < limit);
  return messages;
}
