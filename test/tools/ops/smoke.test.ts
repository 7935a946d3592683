/**
 * ops/smoke.ts against running local stacks (tools/local/stack.ts), through the same code path as a
 * deployed stage: a healthy stack passes every check, its smoke copies carry the mark and are left out
 * of the dispatch counts; then one fault at a time makes the named check fail: every region refusing its
 * sends with AccessDenied (the fault proxies), one region refusing (failover), a stack whose intake does
 * not run (the timeout), and workers that would process a smoke copy (workers that leave it pass).
 */
import { GetQueueAttributesCommand, SendMessageBatchCommand, SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MAX_RECEIVE_COUNT } from '../../../core/topology.js';
import { startLocalStack, type LocalStack, type StackOptions } from '../../../tools/local/stack.js';
import { localStackTarget } from '../../../tools/ops/local-target.js';
import { runSmoke, type SmokeOptions, type SmokePhase } from '../../../tools/ops/smoke.js';
import { SmokeBusyError, takeSmokeLock } from '../../../tools/ops/smoke-lock.js';
import type { SmokeCheckId } from '../../../tools/ops/smoke-checks.js';
import { makeRequest } from '../../../tools/ops/requests.js';
import { drain, queueEmpty, until } from '../../support/local-aws.js';

const stacks: LocalStack[] = [];
afterEach(async () => {
  await Promise.all(stacks.splice(0).map((s) => s.stop()));
});
afterAll(async () => {
  await Promise.all(stacks.splice(0).map((s) => s.stop()));
});

async function stack(options: StackOptions = {}): Promise<LocalStack> {
  const started = await startLocalStack({ masterVisibilitySeconds: 5, batchWindowSeconds: 0.2, retryIntervalMs: 5, quickStop: false, ...options });
  stacks.push(started);
  return started;
}

const ACCESS_DENIED = { status: 403, type: 'AccessDenied', message: 'Access to the resource is denied.', queryError: 'AccessDenied;Sender' } as const;

async function smoke(on: LocalStack, options: SmokeOptions = {}) {
  const phases = new Set<SmokePhase>();
  const report = await runSmoke(localStackTarget(on.description), { timeoutSeconds: 30, onProgress: (phase) => phases.add(phase), ...options });
  const status = (id: SmokeCheckId) => report.checks.find((c) => c.id === id)?.status;
  const failing = report.checks.filter((c) => c.status === 'fail').map((c) => c.id);
  return { report, status, failing, phases };
}

describe('runSmoke on a healthy local stack', () => {
  it('passes every check, takes every copy from a regional queue and leaves nothing behind', async () => {
    const s = await stack();
    const { report, failing, phases, status } = await smoke(s, { count: 5 });
    expect(failing, JSON.stringify(report.checks, null, 2)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.timedOut).toBe(false);
    expect(report.checks.map((c) => c.id)).toEqual(['sent', 'executions', 'no-failover', 'regional-copy', 'records', 'workers', 'dlqs', 'alarms']);
    expect(status('alarms')).toBe('n/a');
    expect(report.checks.find((c) => c.id === 'alarms')?.detail).toMatch(/^n\/a \(local\)/);
    expect(report.requests).toHaveLength(5);
    for (const r of report.requests) {
      expect(r.requestId).toMatch(new RegExp(`^smoke-${report.runId}-\\d$`));
      expect(r.execution).toMatchObject({ status: 'SUCCEEDED', outcome: 'dispatched' });
      expect(r.record).toMatchObject({ status: 'DISPATCHED' });
      expect(r.copies).toHaveLength(1);
      expect(r.copies[0]).toMatchObject({ region: r.record?.region, token: r.record?.token, deleted: true });
    }
    expect(new Set(phases)).toEqual(new Set(['sending', 'dispatching', 'executions', 'dlqs', 'alarms']));
    // Nothing left: every regional queue is empty (the copies were deleted by smoke).
    for (const region of s.description.regions) expect(await queueEmpty(localStackTarget(s.description).sqs(region.region), region.queueUrl)).toBe(true);
    // The intake left them out of its dispatch counts (the batch was counted, its outcomes not).
    const rows = s.metrics.report().rows;
    const sum = (name: string) => rows.filter((r) => r.name === name).reduce((n, r) => n + r.sum, 0);
    expect(sum('BatchSize')).toBe(5);
    expect(sum('Dispatched')).toBe(0);
  });
});

describe('runSmoke beside other traffic', () => {
  it('hands back what is not its own: real requests stay in the regional queues; a second run at once is refused, one after it passes', async () => {
    const s = await stack();
    const target = localStackTarget(s.description);
    const home = target.sqs(s.description.homeRegion);
    await home.send(
      new SendMessageBatchCommand({
        QueueUrl: s.description.masterQueueUrl,
        Entries: [1, 2, 3].map((i) => ({ Id: String(i), MessageBody: JSON.stringify(makeRequest(i, { requestId: `req-real-${i}` })) })),
      }),
    );
    // Two runs at once would each hold the other's copies until it stops: the second is refused.
    const [a, b] = await Promise.allSettled([smoke(s, { count: 3 }), smoke(s, { count: 3 })]);
    const done = [a, b].filter((r) => r.status === 'fulfilled').map((r) => r.value);
    const refused = [a, b].filter((r) => r.status === 'rejected').map((r) => r.reason as Error);
    expect(done).toHaveLength(1);
    expect(done[0]!.failing, JSON.stringify(done[0]!.report.checks, null, 2)).toEqual([]);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toBeInstanceOf(SmokeBusyError);
    expect(refused[0]!.message).toContain(`another smoke run (${done[0]!.report.runId}) is checking this stage`);
    // The lock was released: the next run takes it and takes only its own copies.
    const next = await smoke(s, { count: 3 });
    expect(next.failing, JSON.stringify(next.report.checks, null, 2)).toEqual([]);
    expect(next.report.runId).not.toBe(done[0]!.report.runId);
    // The real requests were dispatched and are still in the regional queues, every one, and nothing else is.
    const left: string[] = [];
    expect(
      await until(async () => {
        left.length = 0;
        for (const r of s.description.regions) {
          const { Attributes } = await target.sqs(r.region).send(new GetQueueAttributesCommand({ QueueUrl: r.queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
          left.push(...Array.from({ length: Number(Attributes?.ApproximateNumberOfMessages ?? 0) }, () => r.region));
        }
        return left.length === 3;
      }, 20_000),
    ).toBe(true);
    const copies = await Promise.all(s.description.regions.map((r) => drain(target.sqs(r.region), r.queueUrl)));
    expect(copies.flat().map((m) => m.MessageAttributes?.request_id?.StringValue).sort()).toEqual(['req-real-1', 'req-real-2', 'req-real-3']);
  }, 60_000);
});

describe('the smoke lock', () => {
  it('is taken once; a lapsed one (its run died) is taken over, and only its holder releases it', async () => {
    const s = await stack();
    const target = localStackTarget(s.description);
    const now = Date.now();
    const first = await takeSmokeLock(target.dynamo(), s.description.tableName, 'run-1', 60, now);
    const refused = await takeSmokeLock(target.dynamo(), s.description.tableName, 'run-2', 60, now).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SmokeBusyError);
    expect((refused as SmokeBusyError).holder).toBe('run-1');
    expect((refused as SmokeBusyError).heldUntil.getTime()).toBe(Math.ceil(now / 1000 + 60) * 1000);
    // 61 s later run-1's lock has lapsed: run-3 takes it over, and run-1's late release leaves it alone.
    const third = await takeSmokeLock(target.dynamo(), s.description.tableName, 'run-3', 60, now + 61_000);
    await first.release();
    const stillHeld = await takeSmokeLock(target.dynamo(), s.description.tableName, 'run-4', 60, now + 62_000).catch((e: unknown) => e);
    expect((stillHeld as SmokeBusyError).holder).toBe('run-3');
    await third.release();
    await (await takeSmokeLock(target.dynamo(), s.description.tableName, 'run-5', 60, now + 62_000)).release();
  });
});

describe('runSmoke on a broken local stack', () => {
  it('every region refusing its sends (AccessDenied): dead-lettered, and the failing checks say so', async () => {
    const s = await stack({ faults: true });
    for (const proxy of Object.values(s.faults!.sqs)) proxy.rules.add({ mode: 'error', error: ACCESS_DENIED, actions: ['SendMessageBatch'] });
    const { report, failing } = await smoke(s, { count: 3 });
    expect(report.ok).toBe(false);
    expect(failing).toEqual(expect.arrayContaining(['executions', 'regional-copy', 'records', 'dlqs']));
    const dlq = report.checks.find((c) => c.id === 'dlqs')!;
    expect(dlq.detail).toMatch(/dispatch DLQ/);
    expect(dlq.detail).toMatch(/AccessDenied/);
    expect(report.requests.every((r) => r.record?.status === 'DEAD_LETTERED')).toBe(true);
    // smoke cleans up after itself: its requests are no longer in the dispatch DLQ.
    expect(await queueEmpty(localStackTarget(s.description).sqs('us-east-1'), s.description.dispatchDeadLetterQueueUrl)).toBe(true);
  });

  it('one region refusing its sends: the requests it was given fail over, and "no-failover" fails', async () => {
    // us-west-2 has most of the capacity, so the policy sends it nearly everything; it refuses.
    const s = await stack({
      faults: true,
      regions: [
        { region: 'us-east-1', capacity: 1 },
        { region: 'us-west-2', capacity: 100 },
      ],
    });
    s.faults!.sqs['us-west-2']!.rules.add({ mode: 'error', error: ACCESS_DENIED, actions: ['SendMessageBatch'] });
    const { report, failing } = await smoke(s, { count: 3 });
    expect(failing).toContain('no-failover');
    expect(report.checks.find((c) => c.id === 'no-failover')?.detail).toMatch(/failed over to us-east-1.*us-west-2 marked unhealthy: .*AccessDenied/);
    expect(report.ok).toBe(false);
  });

  it('an intake without permission to start executions (AccessDeniedException): nothing dispatched, the checks say so', async () => {
    const s = await stack({ faults: true });
    s.faults!.stepFunctions.rules.add({
      mode: 'error',
      error: { status: 400, type: 'AccessDeniedException', message: 'not authorized to perform: states:StartSyncExecution' },
      actions: ['StartSyncExecution'],
    });
    const { report, failing } = await smoke(s, { count: 2, timeoutSeconds: 3 });
    expect(report.timedOut).toBe(true);
    expect(failing).toEqual(expect.arrayContaining(['executions', 'regional-copy', 'records']));
    expect(report.checks.find((c) => c.id === 'executions')?.detail).toMatch(/no record .*the intake has not run it/);
    expect(report.ok).toBe(false);
  });

  it('an intake that does not run: the wait ends at the timeout and the checks name what was not seen', async () => {
    const s = await stack();
    await s.eventSource.stop();
    const { report, failing } = await smoke(s, { count: 2, timeoutSeconds: 2 });
    expect(report.timedOut).toBe(true);
    expect(failing).toEqual(expect.arrayContaining(['executions', 'regional-copy', 'records']));
    expect(report.checks.find((c) => c.id === 'records')?.detail).toMatch(/not seen within the 2 s timeout/);
  });
});

describe('runSmoke beside workers', () => {
  /**
   * Eight simulated workers per region (worker/ fenced) against one smoke reader per queue: the workers
   * receive nearly every copy first (a worker that processed them would take them all). The regional queues get room for the hand-backs (maxReceiveCount 20):
   * what is checked here is whether a worker processes a smoke copy, not how many receives it costs.
   */
  async function withWorkers(onSmokeCopy: () => void): Promise<LocalStack> {
    const s = await stack({
      workers: Object.fromEntries(['us-east-1', 'us-west-2', 'us-west-1'].map((region) => [region, { workers: 8, secondsPerRequest: 0.05 }])),
      onWorkerEvent: (event) => {
        if (event.kind === 'received' && event.body?.includes('"smoke_run"')) onSmokeCopy();
      },
    });
    const target = localStackTarget(s.description);
    for (const r of s.description.regions) {
      const client = target.sqs(r.region);
      const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: r.queueUrl, AttributeNames: ['RedrivePolicy'] }));
      const policy = JSON.parse(Attributes?.RedrivePolicy ?? '{}') as { maxReceiveCount?: number };
      expect(policy.maxReceiveCount).toBe(MAX_RECEIVE_COUNT);
      await client.send(new SetQueueAttributesCommand({ QueueUrl: r.queueUrl, Attributes: { RedrivePolicy: JSON.stringify({ ...policy, maxReceiveCount: 20 }) } }));
    }
    return s;
  }

  it('workers that leave smoke copies alone: every check passes, none processed', async () => {
    let received = 0;
    const s = await withWorkers(() => (received += 1));
    // The smoke reader may win every race for the copies on a busy machine: a run in which no worker saw
    // one proves nothing about the workers, so another run follows (each must pass all the same).
    for (let run = 0; run < 3 && received === 0; run++) {
      const { report, failing, status } = await smoke(s, { count: 5, pollersPerQueue: 1, timeoutSeconds: 15 });
      // A worker that processes smoke copies fails here: the record names the worker that accepted it.
      expect(status('workers'), report.checks.find((c) => c.id === 'workers')?.detail).toBe('pass');
      expect(failing, JSON.stringify(report.checks, null, 2)).toEqual([]);
    }
    // The workers did get smoke copies, and handed them back.
    expect(received).toBeGreaterThan(0);
    expect(Object.values(s.workers).reduce((n, w) => n + w.processed(), 0)).toBe(0);
  }, 90_000);
});
