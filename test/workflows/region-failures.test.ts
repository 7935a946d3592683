/**
 * Forward failures: a region that refuses is retried and failed over; one that gives no answer is
 * retried in place and then released for a later retry (never failed over: the copy may be there);
 * what no region takes is dead-lettered with the reason and its record kept DEAD_LETTERED.
 */
import { DeleteQueueCommand, CreateQueueCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { executionOutputSchema, flattenOutcomes } from '../../core/outcomes.js';
import type { Envelope } from '../../core/placement.js';
import { resourceNames } from '../../core/topology.js';
import { isStateEvent, type DefinitionRunner } from '../../tools/local/emulators/asl-runner.js';
import { STATE } from '../../workflows/dispatch.js';
import { claimRecord, drain, drainRegions, envelope, executionInput, useLocalDispatch } from '../support/local-aws.js';
import { clearRegionHealth, healthItem } from '../support/region-health.js';

const local = useLocalDispatch();
afterEach(async () => {
  await Promise.all(Object.values(local.aws.sqsServers).map((server) => server.setAvailable(true)));
  await drainRegions(local.aws);
  await drain(local.aws.sqs('us-east-1'), local.aws.resources.dispatchDeadLetterQueueUrl);
  await clearRegionHealth(local.aws);
});

const batch = (prefix: string, n: number): Envelope[] => Array.from({ length: n }, (_, i) => envelope(`${prefix}-${i}`));

async function run(messages: Envelope[], runner: DefinitionRunner = local.runner) {
  const record = await runner.run(executionInput(messages));
  expect(record.status, `${record.error}: ${record.cause}`).toBe('SUCCEEDED');
  return { record, outcomes: flattenOutcomes(messages.map((m) => m.messageId), executionOutputSchema.parse(record.output)) };
}

/** The home region's regional queue shares a server with the master queue and the DLQ: break it by deleting it. */
async function breakHomeRegionQueue(): Promise<() => Promise<void>> {
  const client = local.aws.sqs('us-east-1');
  const url = local.aws.resources.regions.find((r) => r.region === 'us-east-1')?.queueUrl as string;
  await client.send(new DeleteQueueCommand({ QueueUrl: url }));
  return async () => {
    await client.send(new CreateQueueCommand({ QueueName: resourceNames(local.aws.resources.stage).regionalQueue('us-east-1') }));
  };
}

describe('a region whose forward fails', () => {
  it('retries a region that refuses sends, then fails its messages over to the other regions; none lands twice', async () => {
    // Readable (so the policy sends it work) but refusing sends: answered 400 RequestThrottled, known not delivered.
    local.aws.sqsServers['us-west-2']?.failActions(['SendMessageBatch'], 'reject');
    const messages = batch('req-failover', 12);
    const { record, outcomes } = await run(messages);

    expect(outcomes.every((o) => o.outcome === 'dispatched')).toBe(true);
    expect(outcomes.some((o) => o.region === 'us-west-2')).toBe(false);
    // The policy spread 12 messages over 3 equal regions, so some were meant for us-west-2 and failed over.
    expect(outcomes.filter((o) => o.failedOver).length).toBeGreaterThan(0);

    // Retry and Catch happened in the workflow, as the definition says.
    const retried = record.events.filter((e) => isStateEvent(e, 'StateRetried', STATE.forward, 'us-west-2'));
    expect(retried).toHaveLength(1);
    const caught = record.events.filter((e) => isStateEvent(e, 'StateCaught', STATE.forward, 'us-west-2'));
    expect(caught).toHaveLength(1);
    // The failed region is marked unhealthy for every execution (core/health.ts).
    expect((await healthItem(local.aws, 'us-west-2'))?.error?.S).toMatch(/RequestThrottled/);

    await local.aws.sqsServers['us-west-2']?.setAvailable(true);
    const queues = await drainRegions(local.aws);
    expect(queues['us-west-2']).toHaveLength(0);
    const ids = Object.values(queues).flat().map((m) => m.MessageAttributes?.request_id?.StringValue);
    expect(ids.sort()).toEqual(messages.map((m) => m.requestId).sort());
    for (const outcome of outcomes) {
      const item = await claimRecord(local.aws, outcome.requestId as string);
      expect(item?.status?.S).toBe('DISPATCHED');
      expect(item?.region?.S).toBe(outcome.region);
    }
  });

  it('retries a region that takes sends and never answers in place, then releases those messages for a later retry, never failing them over', async () => {
    // A send without an answer times out after 300 ms (instead of the deployment's seconds).
    const runner = local.runnerWith({ sqsRequestTimeoutMs: 300 });
    local.aws.sqsServers['us-west-2']?.failActions(['SendMessageBatch'], 'hang');
    const messages = batch('req-hang', 9);
    const { record, outcomes } = await run(messages, runner);
    const retried = outcomes.filter((o) => o.outcome === 'retry');
    // The policy spread 9 messages over 3 equal regions: some went to us-west-2 and had no answer.
    expect(retried.length).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.outcome === 'dispatched').length + retried.length).toBe(9);
    expect(outcomes.some((o) => o.failedOver)).toBe(false);
    for (const outcome of retried) expect(outcome.reason).toMatch(/us-west-2: no answer from the forward \(RegionUnconfirmed\)/);
    expect(record.events.filter((e) => isStateEvent(e, 'StateEntered', STATE.forwardAgain, 'us-west-2'))).toHaveLength(1);
    // Not failed over: the failover step never ran for us-west-2.
    expect(record.events.some((e) => isStateEvent(e, 'StateEntered', STATE.failover, 'us-west-2'))).toBe(false);
    for (const outcome of retried) {
      const item = await claimRecord(local.aws, outcome.requestId as string);
      // Released at once (lease 0) and remembering where the send may have gone.
      expect(item?.status?.S).toBe('IN_PROGRESS');
      expect(item?.leaseUntil?.N).toBe('0');
      expect(item?.triedRegion?.S).toBe('us-west-2');
    }
    for (const outcome of outcomes.filter((o) => o.outcome === 'dispatched')) {
      expect((await claimRecord(local.aws, outcome.requestId as string))?.region?.S).toBe(outcome.region);
    }
  });

  it('dead-letters with the reason and keeps the records DEAD_LETTERED when no region takes the messages', async () => {
    await local.aws.sqsServers['us-west-2']?.setAvailable(false);
    await local.aws.sqsServers['us-west-1']?.setAvailable(false);
    const restore = await breakHomeRegionQueue();
    try {
      const messages = batch('req-nowhere', 4);
      const { outcomes } = await run(messages);
      expect(outcomes.map((o) => o.outcome)).toEqual(['dead-lettered', 'dead-lettered', 'dead-lettered', 'dead-lettered']);
      for (const outcome of outcomes) expect(outcome.reason).toMatch(/no region accepted the message/);

      const dead = await drain(local.aws.sqs('us-east-1'), local.aws.resources.dispatchDeadLetterQueueUrl);
      expect(dead.map((m) => m.MessageAttributes?.request_id?.StringValue).sort()).toEqual(messages.map((m) => m.requestId).sort());
      for (const message of dead) {
        expect(message.MessageAttributes?.reason?.StringValue).toMatch(/no region accepted the message/);
        // The original body, untouched.
        expect(messages.map((m) => m.body)).toContain(message.Body);
      }
      // Kept, with the reason: a redelivery of the same message is recognised, not dispatched as well.
      for (const message of messages) {
        const item = await claimRecord(local.aws, message.requestId);
        expect(item?.status?.S).toBe('DEAD_LETTERED');
        expect(item?.reason?.S).toMatch(/no region accepted the message/);
      }
    } finally {
      await restore();
    }
  });

  it('reports retry when neither a region nor the DLQ answers, and the next delivery goes to the DLQ only', async () => {
    await Promise.all(Object.values(local.aws.sqsServers).map((server) => server.setAvailable(false)));
    const messages = batch('req-all-down', 3);
    const { outcomes } = await run(messages);
    expect(outcomes.map((o) => o.outcome)).toEqual(['retry', 'retry', 'retry']);
    // The DLQ send got no answer (the runner cannot tell a refused connection from a lost answer, nor
    // can Step Functions): it may be in the DLQ, so the record remembers it, released (lease 0).
    for (const outcome of outcomes) expect(outcome.reason).toMatch(/the dead-letter send had no answer \(SQS\.SdkClientException\)/);
    for (const message of messages) {
      const item = await claimRecord(local.aws, message.requestId);
      expect(item?.status?.S).toBe('IN_PROGRESS');
      expect(item?.leaseUntil?.N).toBe('0');
      expect(item?.triedDeadLetter?.BOOL).toBe(true);
    }

    // Everything is back when the master queue delivers them again: they go to the DLQ, never to a region.
    await Promise.all(Object.values(local.aws.sqsServers).map((server) => server.setAvailable(true)));
    const again = await run(messages);
    expect(again.outcomes.map((o) => o.outcome)).toEqual(['dead-lettered', 'dead-lettered', 'dead-lettered']);
    expect(Object.values(await drainRegions(local.aws)).flat()).toEqual([]);
    const dead = await drain(local.aws.sqs('us-east-1'), local.aws.resources.dispatchDeadLetterQueueUrl);
    expect(dead.map((m) => m.MessageAttributes?.request_id?.StringValue).sort()).toEqual(messages.map((m) => m.requestId).sort());
    for (const message of dead) expect(message.MessageAttributes?.reason?.StringValue).toMatch(/no region accepted the message/);
    for (const message of messages) {
      const item = await claimRecord(local.aws, message.requestId);
      expect(item?.status?.S).toBe('DEAD_LETTERED');
      expect(item?.triedDeadLetter).toBeUndefined();
    }
  });

  it('goes on when the queue depths cannot be read, placing by capacity', async () => {
    await local.aws.sqsServers['us-west-1']?.setAvailable(false);
    const { outcomes } = await run(batch('req-no-depth', 6));
    expect(outcomes.every((o) => o.outcome === 'dispatched')).toBe(true);
    // us-west-1 has no reading, so the policy leaves it out while others can be read.
    expect(outcomes.some((o) => o.region === 'us-west-1')).toBe(false);
  });
});
