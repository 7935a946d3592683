/**
 * One explored combination, end to end on the shared stack: a small batch (one high-priority message
 * among three) through the real definition with the faults injected; the next delivery of whatever
 * went back to the master queue, later than the lease; a worker through the fence for every copy in
 * the regional queues; then everything the checker needs, and the stack cleared for the next run.
 */
import { DeleteItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DeleteMessageCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { executionOutputSchema, flattenOutcomes } from '../../core/outcomes.js';
import type { Envelope, ExecutionInput } from '../../core/placement.js';
import { MESSAGE_ATTRIBUTE, requestRecordSchema } from '../../core/record.js';
import { DEFAULT_RECORD_LIFETIME_SECONDS } from '../../core/topology.js';
import { clearSnapshotCache } from '../../functions/snapshot.js';
import { recordView } from '../chaos/observe.js';
import { AcceptRefusedError, Fence } from '../../worker/index.js';
import { mulberry32 } from '../local/faults/prng.js';
import type { TaskInfo } from './definition.js';
import { Injector } from './inject.js';
import type { CopyView, Evidence, ExecutionView, Outcome, RecordView, RunView, SentCopy, WorkView } from './observation.js';
import { comboId, seedOf, type Combination, type Point } from './space.js';
import type { ExploreStack } from './stack.js';

/** The batch: one high-priority message, so both lanes and several regions are in play. */
const PRIORITIES: ReadonlyArray<Envelope['priority']> = ['high', 'normal', 'normal'];
const LEASE_SECONDS = 300;
const WORKER_LEASE_SECONDS = 60;

export interface RunResult {
  readonly view: RunView;
  /** Attempts the first delivery reached (where a second fault can go). */
  readonly points: readonly Point[];
  readonly firstFaultSeq?: number;
}

let runCounter = 0;

function envelopes(run: number): Envelope[] {
  return PRIORITIES.map((priority, i) => {
    const requestId = `explore-${process.pid}-${run}-m${i}`;
    const body = JSON.stringify({
      request_id: requestId,
      model_name: 'gpt-l-7b',
      input_data_url: `s3://bucket/inputs/${requestId}.json`,
      callback_sns_topic: 'arn:aws:sns:us-east-1:000000000000:results',
      priority,
      timestamp: '2025-12-02T10:23:00Z',
      metadata: { user_id: 'explorer' },
    });
    return { messageId: `msg-${run}-${i}`, requestId, body, priority };
  });
}

function input(messages: Envelope[], name: string, now: number): ExecutionInput {
  return { batchId: name, executionName: name, now, leaseUntil: now + LEASE_SECONDS, expiresAt: now + DEFAULT_RECORD_LIFETIME_SECONDS, messages };
}

/** Math.random drawn from the combination's seed while its execution runs: a replay places alike. */
async function seeded<T>(seed: number, work: () => Promise<T>): Promise<T> {
  const original = Math.random;
  Math.random = mulberry32(seed);
  try {
    return await work();
  } finally {
    Math.random = original;
  }
}

async function drain(client: SQSClient, queueUrl: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const { Messages = [] } = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }));
    if (!Messages.length) return all;
    all.push(...Messages);
    await Promise.all(Messages.map((m) => client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }))));
  }
}

const attribute = (m: Message, name: string) => m.MessageAttributes?.[name]?.StringValue;

async function copies(stack: ExploreStack): Promise<CopyView[]> {
  const { resources } = stack;
  const regional = await Promise.all(
    resources.regions.flatMap((r) =>
      [r.queueUrl, r.highQueueUrl].flatMap((url) =>
        url
          ? [
              drain(stack.sqs(r.region), url).then((ms) =>
                ms.map((m): CopyView => {
                  const token = attribute(m, MESSAGE_ATTRIBUTE.dispatchToken);
                  const execution = attribute(m, MESSAGE_ATTRIBUTE.execution);
                  return { queue: 'region', region: r.region, messageId: m.MessageId ?? '', requestId: attribute(m, MESSAGE_ATTRIBUTE.requestId) ?? '?', ...(token ? { token } : {}), ...(execution ? { execution } : {}) };
                }),
              ),
            ]
          : [],
      ),
    ),
  );
  const dlq = (await drain(stack.sqs(resources.homeRegion), resources.dispatchDeadLetterQueueUrl)).map((m): CopyView => {
    const reason = attribute(m, 'reason');
    const execution = attribute(m, 'execution');
    return { queue: 'dlq', messageId: m.MessageId ?? '', requestId: attribute(m, 'request_id') ?? '?', ...(reason ? { reason } : {}), ...(execution ? { execution } : {}) };
  });
  return [...regional.flat(), ...dlq];
}

async function scanRecords(stack: ExploreStack): Promise<Array<Record<string, unknown>>> {
  const { Items = [] } = await stack.dynamo.send(new ScanCommand({ TableName: stack.resources.tableName, ConsistentRead: true }));
  return Items as Array<Record<string, unknown>>;
}

function recordViews(items: ReadonlyArray<Record<string, unknown>>, ids: ReadonlySet<string>): RecordView[] {
  return items.flatMap((item) => {
    const parsed = requestRecordSchema.safeParse(item);
    if (!parsed.success || !ids.has(parsed.data.request_id)) return [];
    return [recordView(parsed.data)];
  });
}

/** A worker per copy, through the fence's public API: accept, then complete. */
async function work(stack: ExploreStack, found: readonly CopyView[], now: number): Promise<WorkView[]> {
  const fence = Fence.dynamo(stack.dynamo, stack.resources.tableName, { clock: () => now });
  const out: WorkView[] = [];
  for (const [i, copy] of found.entries()) {
    if (copy.queue !== 'region' || !copy.token) continue;
    const workerId = `worker-${i}`;
    const holder = { requestId: copy.requestId, token: copy.token, workerId };
    try {
      await fence.accept({ ...holder, leaseSeconds: WORKER_LEASE_SECONDS });
    } catch (error) {
      out.push({ ...holder, result: error instanceof AcceptRefusedError ? 'refused' : 'error', reason: error instanceof AcceptRefusedError ? error.reason : `${(error as Error).name}: ${(error as Error).message}` });
      continue;
    }
    try {
      await fence.complete(holder);
      out.push({ ...holder, result: 'completed' });
    } catch (error) {
      out.push({ ...holder, result: 'accepted', reason: `complete failed: ${(error as Error).name}` });
    }
  }
  return out;
}

function evidence(stack: ExploreStack, injector: Injector): Evidence {
  const storedUnanswered: SentCopy[] = [];
  const deadLettersUnanswered: string[] = [];
  for (const record of stack.takeFaultRecords()) {
    if (record.mode !== 'lose-answer' || !record.applied || !record.body) continue;
    const body = JSON.parse(record.body) as { Entries?: Array<{ MessageAttributes?: Record<string, { StringValue?: string }> }>; MessageAttributes?: Record<string, { StringValue?: string }> };
    if (record.action === 'SendMessageBatch' && record.region) {
      for (const entry of body.Entries ?? []) {
        const requestId = entry.MessageAttributes?.[MESSAGE_ATTRIBUTE.requestId]?.StringValue;
        const token = entry.MessageAttributes?.[MESSAGE_ATTRIBUTE.dispatchToken]?.StringValue;
        if (requestId && token) storedUnanswered.push({ region: record.region, requestId, token });
      }
    }
    if (record.action === 'SendMessage') {
      const requestId = body.MessageAttributes?.request_id?.StringValue;
      if (requestId) deadLettersUnanswered.push(requestId);
    }
  }
  // A dead-letter send the hook timed out after it was stored.
  for (const a of injector.attempts) if (a.role === 'dead-letter' && a.fault === 'timeout-applied') deadLettersUnanswered.push(...a.holds);
  return { storedUnanswered, deadLettersUnanswered };
}

/** Leaves the stack as it was (the queues were drained already): no record, no health entry, no rule. */
async function clear(stack: ExploreStack): Promise<void> {
  for (const proxy of [stack.proxies.dynamodb, ...Object.values(stack.proxies.sqs)]) proxy.rules.clear();
  const items = await scanRecords(stack);
  await Promise.all(
    items.map((item) => stack.dynamo.send(new DeleteItemCommand({ TableName: stack.resources.tableName, Key: { request_id: item.request_id as never } }))),
  );
  stack.takeFaultRecords();
}

export async function runCombination(stack: ExploreStack, tasks: ReadonlyMap<string, TaskInfo>, combo: Combination): Promise<RunResult> {
  const run = ++runCounter;
  const id = comboId(combo);
  const messages = envelopes(run);
  const items = new Map(messages.map((m, i) => [m.requestId, `m${i}`]));
  const injector = new Injector(
    {
      tasks,
      forwardArn: stack.forwardArn,
      deadLetterQueueUrl: stack.resources.dispatchDeadLetterQueueUrl,
      homeRegion: stack.resources.homeRegion,
      regions: stack.resources.regions.map((r) => r.region),
      proxies: stack.proxies,
    },
    combo,
    items,
  );
  stack.setWrapper(injector.wrap);
  const executions: ExecutionView[] = [];
  const now = Math.floor(Date.now() / 1000);
  try {
    let batch = messages;
    for (const [index, at] of [now, now + LEASE_SECONDS + 1].entries()) {
      if (!batch.length) break;
      injector.execution = index;
      clearSnapshotCache();
      const name = `explore-${run}-${index}`;
      // One seed per delivery for every combination: the runs agree on placements until a fault differs.
      const record = await seeded(seedOf(`delivery ${index}`), () => stack.setup.runner.run(input(batch, name, at), { name }));
      const ids = batch.map((m) => m.messageId);
      const outcomes: Outcome[] =
        record.status === 'SUCCEEDED'
          ? flattenOutcomes(ids, executionOutputSchema.parse(record.output))
          : ids.map((messageId) => ({ messageId, outcome: 'retry' as const, reason: `execution ${record.status}: ${record.error}` }));
      executions.push({ index, name, status: record.status, outcomes: outcomes.map((o) => ({ ...o, requestId: batch.find((m) => m.messageId === o.messageId)?.requestId ?? o.requestId })) as Outcome[] });
      // What goes back to the master queue comes again (the intake reports it as a batch item failure).
      batch = batch.filter((m) => outcomes.find((o) => o.messageId === m.messageId)?.outcome === 'retry');
    }
  } finally {
    stack.setWrapper(undefined);
  }
  const ev = evidence(stack, injector);
  const found = await copies(stack);
  const workDone = await work(stack, found, now + LEASE_SECONDS + 10);
  const ids = new Set(messages.map((m) => m.requestId));
  const records = recordViews(await scanRecords(stack), ids);
  await clear(stack);
  const view: RunView = {
    combo: id,
    messages: messages.map((m) => ({ messageId: m.messageId, requestId: m.requestId })),
    executions,
    attempts: injector.attempts,
    copies: found,
    records,
    work: workDone,
    evidence: ev,
  };
  return { view, points: injector.points, ...(injector.firstFaultSeq === undefined ? {} : { firstFaultSeq: injector.firstFaultSeq }) };
}
