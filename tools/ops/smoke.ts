/**
 * `smoke`: a deploy that checks itself. Sends a handful of smoke requests (core/smoke.ts: the
 * dispatch_smoke attribute, valued with this run's id) through the master queue of a stage or the local
 * stack, takes their copies from the regional queues (ops/smoke-collector.ts: workers leave them), and
 * reads what the dispatch left: the records, the executions, the DLQs (ops/smoke-dlqs.ts), the alarms
 * (ops/smoke-alarms.ts). The verdicts are ops/smoke-checks.ts. Returns data; progress by callback.
 *
 * Bounded: the wait for records and copies ends at the timeout; the executions are read until then too
 * (on AWS their log events come after a delay); the DLQ reads after it are cut at DLQ_READ_SECONDS.
 */
import { randomUUID } from 'node:crypto';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { executionOutputSchema, flattenOutcomes } from '../../core/outcomes.js';
import { laneOf } from '../../core/lanes.js';
import { regionHealthKey } from '../../core/record.js';
import { SMOKE_ATTRIBUTE } from '../../core/smoke.js';
import { getRecord } from './dlq.js';
import { readExecution } from './executions.js';
import { makeRequest } from './requests.js';
import { readAlarms, type AlarmsRead } from './smoke-alarms.js';
import { passed, smokeChecks, vouchedByRecord, type ExecutionSeen, type RecordSeen, type SmokeCheck, type SmokeRequestReport, type DlqCount } from './smoke-checks.js';
import { startCollector, type CollectedQueue, type SmokeCopy } from './smoke-collector.js';
import { dlqDepths, searchDlqs, smokeDlqs, type DeadLetteredSmoke } from './smoke-dlqs.js';
import { takeSmokeLock } from './smoke-lock.js';
import { TargetError, type Target } from './target.js';

export const SMOKE_DEFAULTS = { count: 5, timeoutSeconds: 90, settleSeconds: 2, pollersPerQueue: 3 } as const;
/** The most smoke requests one run sends (one SendMessageBatch is 10; a handful is the point). */
export const MAX_SMOKE_COUNT = 50;
/** How long the executions' log events are waited for once the records and copies are in (AWS). */
export const EXECUTION_LOG_WAIT_SECONDS = 30;
/** How long the DLQ reads after the wait may take. */
export const DLQ_READ_SECONDS = 20;

export type SmokePhase = 'sending' | 'dispatching' | 'executions' | 'dlqs' | 'alarms';
export type SmokeProgress = (phase: SmokePhase, done: number, total: number) => void;

export interface SmokeOptions {
  readonly count?: number;
  readonly timeoutSeconds?: number;
  /** After every copy is taken, how long the regional queues are still read for a second copy. */
  readonly settleSeconds?: number;
  readonly pollersPerQueue?: number;
  /** Default: `<UTC time>-<random>`. */
  readonly runId?: string;
  readonly onProgress?: SmokeProgress;
}

export interface SmokeReport {
  readonly target: string;
  readonly runId: string;
  readonly ok: boolean;
  readonly timedOut: boolean;
  readonly timeoutSeconds: number;
  readonly checks: readonly SmokeCheck[];
  readonly requests: readonly SmokeRequestReport[];
  readonly dlqs: readonly DlqCount[];
  readonly alarms: AlarmsRead;
  /** Messages of others the regional reads received, held while they ran, and then made visible again. */
  readonly otherMessagesHandedBack: number;
  /** Of those, how many could not be made visible again: they come back after the hold (the timeout plus a minute). */
  readonly otherMessagesStillHidden: number;
}

export type SmokeDeps = Pick<
  Target,
  | 'kind'
  | 'description'
  | 'homeRegion'
  | 'masterQueueUrl'
  | 'masterDeadLetterQueueUrl'
  | 'masterHighDeadLetterQueueUrl'
  | 'dispatchDeadLetterQueueUrl'
  | 'tableName'
  | 'stateMachineArn'
  | 'logGroupName'
  | 'regions'
  | 'sqs'
  | 'dynamo'
  | 'sfn'
  | 'logs'
  | 'alarmTopicArns'
  | 'cloudwatch'
>;

export const newRunId = (now = new Date()) => `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomUUID().slice(0, 6)}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const describe = (error: unknown) => `${(error as Error)?.name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`;

/** The smoke requests: ordinary requests (core/request.ts) of normal priority, named after the run. */
function smokeBodies(runId: string, count: number): Array<{ requestId: string; body: string }> {
  return Array.from({ length: count }, (_, i) => {
    const requestId = `smoke-${runId}-${i + 1}`;
    const request = { ...makeRequest(i, { requestId, priority: 'normal', model: 'dispatch-smoke' }), metadata: { smoke_run: runId } };
    return { requestId, body: JSON.stringify(request) };
  });
}

async function send(target: SmokeDeps, runId: string, bodies: ReturnType<typeof smokeBodies>): Promise<SmokeRequestReport[]> {
  const client = target.sqs(target.homeRegion);
  const reports: SmokeRequestReport[] = [];
  for (let i = 0; i < bodies.length; i += 10) {
    const chunk = bodies.slice(i, i + 10);
    try {
      const answer = await client.send(
        new SendMessageBatchCommand({
          QueueUrl: target.masterQueueUrl,
          Entries: chunk.map((b, j) => ({
            Id: String(j),
            MessageBody: b.body,
            MessageAttributes: { [SMOKE_ATTRIBUTE]: { DataType: 'String', StringValue: runId } },
          })),
        }),
      );
      chunk.forEach((b, j) => {
        const ok = answer.Successful?.find((s) => s.Id === String(j));
        const failed = answer.Failed?.find((f) => f.Id === String(j));
        reports.push({
          requestId: b.requestId,
          ...(ok?.MessageId ? { masterMessageId: ok.MessageId } : { sendError: failed ? `${failed.Code}: ${failed.Message ?? ''}` : 'not sent' }),
          copies: [],
          deadLetters: [],
        });
      });
    } catch (error) {
      for (const b of chunk) reports.push({ requestId: b.requestId, sendError: describe(error), copies: [], deadLetters: [] });
    }
  }
  return reports;
}

async function readRecordSeen(target: SmokeDeps, requestId: string): Promise<RecordSeen | undefined> {
  const read = await getRecord(target.dynamo(), target.tableName, requestId);
  if (!read.found) return undefined;
  if ('invalid' in read) return { status: `unreadable record (${read.invalid})`, tokens: [] };
  const r = read.record;
  return {
    ...(r.status ? { status: r.status } : {}),
    ...(r.region ? { region: r.region } : {}),
    ...(r.token ? { token: r.token } : {}),
    tokens: r.tokens ?? [],
    ...(r.executionName ? { executionName: r.executionName } : {}),
    ...(r.messageId ? { messageId: r.messageId } : {}),
    ...(r.acceptedBy ? { acceptedBy: r.acceptedBy } : {}),
    ...(r.workStatus ? { workStatus: r.workStatus } : {}),
    ...(r.reason ? { reason: r.reason } : {}),
  };
}

/** An execution's status and each master message's outcome, or why it could not be read (yet). */
async function readOutcomes(target: SmokeDeps, name: string): Promise<{ status?: string; error?: string; outcomes: Map<string, Omit<ExecutionSeen, 'name' | 'status'>> }> {
  const outcomes = new Map<string, Omit<ExecutionSeen, 'name' | 'status'>>();
  try {
    const { execution } = await readExecution(target, name, { hours: 1 });
    if (execution.status !== 'SUCCEEDED') {
      return { ...(execution.status ? { status: execution.status } : {}), error: [execution.error, execution.cause].filter(Boolean).join(': ') || 'no error given', outcomes };
    }
    // A stage that logs no execution data: the status, and no outcome to read.
    if (execution.output === undefined) return { status: execution.status, outcomes };
    const output = executionOutputSchema.safeParse(JSON.parse(execution.output));
    if (!output.success) return { status: execution.status, error: 'its output is unreadable', outcomes };
    const all = [...output.data.skipped, ...output.data.forwarded.flat()];
    for (const o of flattenOutcomes(all.map((x) => x.messageId), output.data)) {
      outcomes.set(o.messageId, {
        outcome: o.outcome,
        ...(o.region ? { region: o.region } : {}),
        ...(o.failedOver ? { failedOver: true } : {}),
        ...(o.reason ? { reason: o.reason } : {}),
      });
    }
    return { status: execution.status, outcomes };
  } catch (error) {
    return { error: describe(error), outcomes };
  }
}

/** Regions with a health item (the forward marks a region whose sends failed), and the error it recorded. */
async function unhealthyRegions(target: SmokeDeps): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  await Promise.all(
    target.regions.map(async ({ region }) => {
      try {
        const { Item } = await target.dynamo().send(new GetItemCommand({ TableName: target.tableName, Key: { request_id: { S: regionHealthKey(region) } }, ConsistentRead: true }));
        if (Item) found[region] = Item.error?.S ?? 'no error recorded';
      } catch {
        // Advice only: the failover check says what it can without it.
      }
    }),
  );
  return found;
}

/** The regional queues the smoke copies go to: each region's lane for their priority (normal). */
function regionalQueues(target: SmokeDeps): CollectedQueue[] {
  return target.regions.map((r) => {
    const high = laneOf('normal') === 'high' && r.highQueueUrl;
    return { region: r.region, lane: high ? 'high' : 'normal', queueUrl: high ? (r.highQueueUrl as string) : r.queueUrl, client: target.sqs(r.region) };
  });
}

function requireParts(target: SmokeDeps): void {
  const missing = [
    !target.masterQueueUrl && 'the master queue URL',
    !target.tableName && 'the idempotency table',
    !target.stateMachineArn && 'the state machine',
    !target.regions.length && 'any regional queue',
  ].filter(Boolean);
  if (missing.length) throw new TargetError(`smoke needs a whole stage or local stack; ${target.description} names no ${missing.join(', ')}`);
}

export async function runSmoke(target: SmokeDeps, options: SmokeOptions = {}): Promise<SmokeReport> {
  requireParts(target);
  const count = options.count ?? SMOKE_DEFAULTS.count;
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_SMOKE_COUNT) throw new RangeError(`count must be a whole number from 1 to ${MAX_SMOKE_COUNT}, got ${count}`);
  const timeoutSeconds = options.timeoutSeconds ?? SMOKE_DEFAULTS.timeoutSeconds;
  if (!(timeoutSeconds > 0)) throw new RangeError(`timeout must be a number of seconds > 0, got ${timeoutSeconds}`);
  const runId = options.runId ?? newRunId();
  // (requireParts checked the table.) One run at a time: held past everything this run may wait for, so a run that dies lets it lapse.
  const settleSeconds = options.settleSeconds ?? SMOKE_DEFAULTS.settleSeconds;
  const lock = await takeSmokeLock(target.dynamo(), target.tableName as string, runId, timeoutSeconds + settleSeconds + EXECUTION_LOG_WAIT_SECONDS + DLQ_READ_SECONDS + 120);
  try {
    return await checkStage(target, { ...options, count, timeoutSeconds, runId });
  } finally {
    await lock.release();
  }
}

async function checkStage(target: SmokeDeps, options: SmokeOptions & { count: number; timeoutSeconds: number; runId: string }): Promise<SmokeReport> {
  const { count, timeoutSeconds, runId } = options;
  const progress: SmokeProgress = options.onProgress ?? (() => undefined);

  // Before: the DLQs' counts.
  const dlqRefs = smokeDlqs(target);
  const before = await dlqDepths(target, dlqRefs);

  // The regional reads start before the sends: they compete with the workers from the first receive.
  const copies = new Map<string, SmokeCopy[]>();
  const collector = startCollector(regionalQueues(target), {
    runId,
    // Others' messages stay hidden until the collector stops (released then), or after the run if it dies.
    holdSeconds: Math.min(43_200, Math.ceil(timeoutSeconds + (options.settleSeconds ?? SMOKE_DEFAULTS.settleSeconds) + 60)),
    pollersPerQueue: options.pollersPerQueue ?? SMOKE_DEFAULTS.pollersPerQueue,
    onCopy: (copy) => copies.set(copy.requestId, [...(copies.get(copy.requestId) ?? []), copy]),
  });

  const deadline = Date.now() + timeoutSeconds * 1000;
  const records = new Map<string, RecordSeen>();
  let requests: SmokeRequestReport[] = [];
  let timedOut = false;
  let stillHidden = 0;
  try {
    progress('sending', 0, count);
    requests = await send(target, runId, smokeBodies(runId, count));
    progress('sending', requests.filter((r) => !r.sendError).length, count);

    // Until each is DISPATCHED with its copy taken, or DEAD_LETTERED; or the timeout.
    const sent = requests.filter((r) => !r.sendError);
    const settled = (id: string) => {
      const status = records.get(id)?.status;
      return status === 'DEAD_LETTERED' || (status === 'DISPATCHED' && (copies.get(id)?.length ?? 0) > 0);
    };
    for (;;) {
      await Promise.all(
        sent.filter((r) => !settled(r.requestId)).map(async (r) => {
          try {
            const seen = await readRecordSeen(target, r.requestId);
            if (seen) records.set(r.requestId, seen);
          } catch {
            // Read again at the next turn; a table that never answers ends in the timeout.
          }
        }),
      );
      const done = sent.filter((r) => settled(r.requestId)).length;
      progress('dispatching', done, sent.length);
      if (done === sent.length) break;
      if (Date.now() >= deadline) {
        timedOut = true;
        break;
      }
      await sleep(250);
    }
    // A second copy would arrive about as fast as the first: read the queues a little longer.
    if (!timedOut) await sleep(Math.max(0, Math.min((options.settleSeconds ?? SMOKE_DEFAULTS.settleSeconds) * 1000, deadline - Date.now())));
  } finally {
    stillHidden = await collector.stop();
  }
  // The final word of each record (a worker's acceptance would show here).
  await Promise.all(
    requests.filter((r) => !r.sendError).map(async (r) => {
      const seen = await readRecordSeen(target, r.requestId).catch(() => undefined);
      if (seen) records.set(r.requestId, seen);
    }),
  );

  // The executions named on the records, read until the deadline (on AWS, from logs that come late, and
  // at most EXECUTION_LOG_WAIT_SECONDS: a production stage never logs a succeeded execution).
  const names = [...new Set([...records.values()].map((r) => r.executionName).filter((n): n is string => Boolean(n)))];
  const executions = new Map<string, Awaited<ReturnType<typeof readOutcomes>>>();
  const readUntil = Math.min(deadline, Date.now() + EXECUTION_LOG_WAIT_SECONDS * 1000);
  for (;;) {
    const todo = names.filter((n) => !executions.get(n)?.status);
    progress('executions', names.length - todo.length, names.length);
    if (!todo.length) break;
    await Promise.all(todo.map(async (n) => executions.set(n, await readOutcomes(target, n))));
    if (todo.every((n) => executions.get(n)?.status) || Date.now() >= readUntil) break;
    await sleep(2000);
  }
  progress('executions', names.filter((n) => executions.get(n)?.status).length, names.length);

  // After: every DLQ read for this run's requests (deleted there), and the counts again.
  progress('dlqs', 0, dlqRefs.length);
  const ids = new Set(requests.map((r) => r.requestId));
  const { reads, found } = await searchDlqs(target, dlqRefs, ids, AbortSignal.timeout(DLQ_READ_SECONDS * 1000));
  const after = await dlqDepths(target, dlqRefs);
  progress('dlqs', dlqRefs.length, dlqRefs.length);
  const dlqs: DlqCount[] = dlqRefs.map((ref) => {
    const b = before.get(ref.label);
    const a = after.get(ref.label);
    const error = [b, a].map((d) => (d && 'error' in d ? d.error : undefined)).find(Boolean);
    return { queue: ref.label, ...(b && !('error' in b) ? { before: b } : {}), ...(a && !('error' in a) ? { after: a } : {}), ...(error ? { error } : {}) };
  });

  progress('alarms', 0, 1);
  const alarms = await readAlarms(target);
  progress('alarms', 1, 1);

  const deadLettersOf = (id: string): DeadLetteredSmoke[] => found.filter((d) => d.requestId === id);
  const reports: SmokeRequestReport[] = requests.map((r) => {
    const record = records.get(r.requestId);
    const name = record?.executionName;
    const read = name ? executions.get(name) : undefined;
    const outcome = r.masterMessageId ? read?.outcomes.get(record?.messageId ?? r.masterMessageId) : undefined;
    const execution: ExecutionSeen | undefined = name
      ? { name, ...(read?.status ? { status: read.status } : {}), ...(outcome ?? {}), ...(read?.error ? { error: read.error } : {}) }
      : undefined;
    return {
      ...r,
      ...(record ? { record } : {}),
      ...(execution ? { execution } : {}),
      copies: copies.get(r.requestId) ?? [],
      deadLetters: deadLettersOf(r.requestId),
    };
  });
  const executionsFromLogs = target.kind === 'aws';
  const unhealthy = reports.some((r) => r.execution?.failedOver || vouchedByRecord(r, executionsFromLogs)) ? await unhealthyRegions(target) : {};
  const checks = smokeChecks({ requests: reports, timedOut, timeoutSeconds, executionsFromLogs, dlqCounts: dlqs, dlqReads: reads, alarms, unhealthy });
  return {
    target: target.description,
    runId,
    ok: passed(checks),
    timedOut,
    timeoutSeconds,
    checks,
    requests: reports,
    dlqs,
    alarms,
    otherMessagesHandedBack: collector.others(),
    otherMessagesStillHidden: stillHidden,
  };
}
