/**
 * Step Functions' Express execution log records (logging level ALL, execution data included), made from
 * an execution's history events, and delivered to a log group as Step Functions delivers them: so that
 * the deployed-stage path of reading executions (tools/ops/express-logs.ts) can be fed from the local
 * stack's executions and read back over the wire (logs-endpoint.ts).
 *
 * The record, as Step Functions writes it: every value a string except `details`, which holds the
 * event's `*EventDetails` structure as GetExecutionHistory returns it (input/output as JSON text,
 * inputDetails.truncated a boolean), `{}` for an event without details; a state entered first in its
 * scope has previous_event_id "0".
 * test/fixtures/express-log-records.jsonl was recorded this way from local-stack executions.
 */
import { createHash } from 'node:crypto';
import { CreateLogStreamCommand, PutLogEventsCommand, type CloudWatchLogsClient, type InputLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { z } from 'zod';

/** One record, its keys in the order Step Functions writes them. */
export const expressLogRecordSchema = z.object({
  details: z.record(z.string(), z.unknown()),
  redrive_count: z.string().regex(/^\d+$/),
  id: z.string().regex(/^\d+$/),
  type: z.string().min(1),
  previous_event_id: z.string().regex(/^\d+$/),
  event_timestamp: z.string().regex(/^\d+$/),
  execution_arn: z.string().startsWith('arn:'),
});
export type ExpressLogRecord = z.infer<typeof expressLogRecordSchema>;

/** The details of a history event: its one `*EventDetails` member (or none). */
function detailsOf(event: HistoryEvent): Record<string, unknown> {
  for (const [key, value] of Object.entries(event)) {
    if (key.endsWith('EventDetails') && value && typeof value === 'object') return { ...(value as Record<string, unknown>) };
  }
  return {};
}

const millis = (timestamp: HistoryEvent['timestamp']) => new Date(timestamp as Date | string | number).getTime();

/** One execution's history (GetExecutionHistory's events) as its Express log records, in id order. */
export function toExpressLogRecords(executionArn: string, events: readonly HistoryEvent[], redriveCount = 0): ExpressLogRecord[] {
  return [...events]
    .sort((a, b) => (a.id ?? 0) - (b.id ?? 0))
    .map((event) => ({
      details: detailsOf(event),
      redrive_count: String(redriveCount),
      id: String(event.id ?? 0),
      type: String(event.type),
      previous_event_id: String(event.previousEventId ?? 0),
      event_timestamp: String(millis(event.timestamp)),
      execution_arn: executionArn,
    }));
}

/** Records from JSON lines (blank lines skipped); a line that is not a record says which line and why. */
export function parseExpressLogRecords(text: string): ExpressLogRecord[] {
  return text.split('\n').flatMap((line, i) => {
    if (!line.trim()) return [];
    const parsed = expressLogRecordSchema.safeParse(JSON.parse(line));
    if (!parsed.success) throw new Error(`line ${i + 1} is not an Express log record: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    return [parsed.data];
  });
}

/** The same records moved in time by `deltaMs` (recorded records brought into a query's window). */
export function shiftRecords(records: readonly ExpressLogRecord[], deltaMs: number): ExpressLogRecord[] {
  return records.map((r) => ({ ...r, event_timestamp: String(Number(r.event_timestamp) + deltaMs) }));
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Step Functions' stream name: states/<state machine>/<UTC minute>/<8 hex digits>. */
export function expressLogStreamName(stateMachineName: string, at: number): string {
  const d = new Date(at);
  const minute = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}-${pad(d.getUTCHours())}-${pad(d.getUTCMinutes())}`;
  const suffix = createHash('sha256').update(`${stateMachineName}/${minute}`).digest('hex').slice(0, 8);
  return `states/${stateMachineName}/${minute}/${suffix}`;
}

/** The state machine's name in an Express execution ARN (arn:...:express:<machine>:<name>:<id>). */
export const stateMachineOf = (executionArn: string) => executionArn.split(':')[6] ?? 'state-machine';

// PutLogEvents' limits: 10,000 events and 1,048,576 bytes (each message's UTF-8 bytes plus 26) per call.
const MAX_BATCH_EVENTS = 10_000;
const MAX_BATCH_BYTES = 1_048_576;
const EVENT_OVERHEAD = 26;

/** The records as log events per stream, each stream's events in time order (as PutLogEvents requires). */
export function logEventsByStream(records: readonly ExpressLogRecord[]): Map<string, InputLogEvent[]> {
  const streams = new Map<string, InputLogEvent[]>();
  const ordered = [...records].sort((a, b) => Number(a.event_timestamp) - Number(b.event_timestamp));
  for (const record of ordered) {
    const timestamp = Number(record.event_timestamp);
    const stream = expressLogStreamName(stateMachineOf(record.execution_arn), timestamp);
    streams.set(stream, [...(streams.get(stream) ?? []), { timestamp, message: JSON.stringify(record) }]);
  }
  return streams;
}

/** Splits one stream's events into PutLogEvents calls within the service's limits. */
function batches(events: readonly InputLogEvent[]): InputLogEvent[][] {
  const out: InputLogEvent[][] = [];
  let batch: InputLogEvent[] = [];
  let bytes = 0;
  for (const event of events) {
    const size = Buffer.byteLength(event.message ?? '') + EVENT_OVERHEAD;
    if (batch.length && (batch.length === MAX_BATCH_EVENTS || bytes + size > MAX_BATCH_BYTES)) {
      out.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(event);
    bytes += size;
  }
  if (batch.length) out.push(batch);
  return out;
}

/** Writes the records to an existing log group, stream by stream, as Step Functions delivers them. */
export async function publishExpressRecords(client: CloudWatchLogsClient, logGroupName: string, records: readonly ExpressLogRecord[]): Promise<void> {
  for (const [logStreamName, events] of logEventsByStream(records)) {
    // A stream of that minute may be there already (an earlier call): its events go on after.
    await client.send(new CreateLogStreamCommand({ logGroupName, logStreamName })).catch((error: unknown) => {
      if ((error as Error)?.name !== 'ResourceAlreadyExistsException') throw error;
    });
    for (const logEvents of batches(events)) await client.send(new PutLogEventsCommand({ logGroupName, logStreamName, logEvents }));
  }
}
