/**
 * Evidence for the checker from the fault proxies' logs: which copies a faulted request put in a queue
 * although its caller never heard so. A SendMessageBatch (or SendMessage) whose answer was lost
 * (lose-answer) or arrived late (delay) and that the target applied carries, in its body (proxies keep
 * it with `logBodies`), the request_id and dispatch_token of every entry, or the source_message_id of a
 * dead-letter copy, and the execution that sent it (its `execution` attribute). No AWS import: bodies are the AWS JSON protocol's.
 */
import type { AbandonedRecord, FaultRecord } from '../local/faults/stats.js';
import type { Evidence, SentCopy } from './checker.js';

interface Attribute {
  readonly StringValue?: string;
}
interface Entry {
  readonly MessageAttributes?: Readonly<Record<string, Attribute>>;
}
interface SendBody {
  readonly QueueUrl?: string;
  readonly Entries?: readonly Entry[];
  readonly MessageAttributes?: Readonly<Record<string, Attribute>>;
}

/** Where a queue URL points: a region's queue (by the queue's name, the last path segment), or a DLQ. */
export interface QueueMap {
  /** Regional queue name -> region. */
  readonly regional: ReadonlyMap<string, string>;
  /** Names of the dead-letter queues the dispatch sends to (the dispatch DLQ). */
  readonly deadLetter: ReadonlySet<string>;
}

const queueName = (url: string | undefined) => (url ?? '').split('/').filter(Boolean).at(-1) ?? '';

function parse(body: string | undefined): SendBody | undefined {
  if (!body) return undefined;
  try {
    const value = JSON.parse(body) as unknown;
    return value && typeof value === 'object' ? (value as SendBody) : undefined;
  } catch {
    return undefined;
  }
}

/** Faults after which the target may hold what the request sent. */
export const reachedTarget = (record: FaultRecord) => (record.mode === 'lose-answer' || record.mode === 'delay') && record.applied === true;

/** Unanswered sends and dead-letter sends found in one proxy's fault log and its log of abandoned requests. */
export function fromFaultLog(
  records: readonly FaultRecord[],
  queues: QueueMap,
  abandoned: readonly AbandonedRecord[] = [],
): Pick<Evidence, 'unansweredSends' | 'unansweredDeadLetters'> {
  const unansweredSends: SentCopy[] = [];
  const unansweredDeadLetters: Array<{ requestId?: string; sourceMessageId?: string }> = [];
  const applied = [...records.filter(reachedTarget), ...abandoned.filter((a) => a.applied)];
  for (const record of applied) {
    if (record.action !== 'SendMessageBatch' && record.action !== 'SendMessage') continue;
    const body = parse(record.body);
    if (!body) continue;
    const name = queueName(body.QueueUrl);
    const entries: readonly Entry[] = body.Entries ?? [{ MessageAttributes: body.MessageAttributes ?? {} }];
    for (const entry of entries) {
      const attributes = entry.MessageAttributes ?? {};
      const requestId = attributes.request_id?.StringValue;
      const token = attributes.dispatch_token?.StringValue;
      const execution = attributes.execution?.StringValue;
      const region = queues.regional.get(name);
      if (region && requestId && token) unansweredSends.push({ region, requestId, token, ...(execution ? { execution } : {}) });
      if (queues.deadLetter.has(name)) {
        const sourceMessageId = attributes.source_message_id?.StringValue;
        unansweredDeadLetters.push({ ...(requestId ? { requestId } : {}), ...(sourceMessageId ? { sourceMessageId } : {}) });
      }
    }
  }
  return { unansweredSends, unansweredDeadLetters };
}

export const queueNameOf = queueName;
