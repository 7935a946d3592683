/** Forward failures: retry, failover to the other regions, dead-letter with the reason, release of claims. */
import { DeleteQueueCommand, CreateQueueCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { executionOutputSchema, flattenOutcomes } from '../../core/outcomes.js';
import type { Envelope } from '../../core/placement.js';
import { resourceNames } from '../../core/topology.js';
import { applyEnvironment, dispatchEnvironment } from '../../local/dispatch.js';
import { STATE } from '../../workflows/dispatch.js';
import { claimRecord, drain, drainRegions, envelope, executionInput, useLocalDispatch } from '../support/local-aws.js';

const local = useLocalDispatch();
afterEach(async () => {
  for (const server of Object.values(local.aws.sqsServers)) server.setAvailable(true);
  await drainRegions(local.aws);
  await drain(local.aws.sqs('us-east-1'), local.aws.resources.dispatchDeadLetterQueueUrl);
});

const batch = (prefix: string, n: number): Envelope[] => Array.from({ length: n }, (_, i) => envelope(`${prefix}-${i}`));

async function run(messages: Envelope[]) {
  const record = await local.runner.run(executionInput(messages));
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
  it('retries it, then fails its messages over to the other regions; none lands there twice', async () => {
    // Readable (so the policy sends it work) but refusing sends.
    local.aws.sqsServers['us-west-2']?.failActions(['SendMessageBatch']);
    const messages = batch('req-failover', 12);
    const { record, outcomes } = await run(messages);

    expect(outcomes.every((o) => o.outcome === 'dispatched')).toBe(true);
    expect(outcomes.some((o) => o.region === 'us-west-2')).toBe(false);
    // The policy spread 12 messages over 3 equal regions, so some were meant for us-west-2 and failed over.
    expect(outcomes.filter((o) => o.failedOver).length).toBeGreaterThan(0);

    // Retry and Catch happened in the workflow, as the definition says.
    const retried = record.events.filter((e) => e.type === 'StateRetried' && e.state.name === STATE.forward('us-west-2'));
    expect(retried).toHaveLength(2);
    const caught = record.events.filter((e) => e.type === 'StateCaught' && e.state.name === STATE.forward('us-west-2'));
    expect(caught).toHaveLength(1);

    local.aws.sqsServers['us-west-2']?.setAvailable(true);
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

  it('gives up on a region that accepts sends and never answers, after SQS_REQUEST_TIMEOUT_MS, and fails over', async () => {
    applyEnvironment(dispatchEnvironment(local.aws.resources, local.aws.endpoints, { sqsRequestTimeoutMs: 300 }));
    local.aws.sqsServers['us-west-2']?.failActions(['SendMessageBatch'], 'hang');
    try {
      const messages = batch('req-hang', 9);
      const { record, outcomes } = await run(messages);
      expect(outcomes.every((o) => o.outcome === 'dispatched' && o.region !== 'us-west-2')).toBe(true);
      expect(outcomes.some((o) => o.failedOver)).toBe(true);
      const caught = record.events.filter((e) => e.type === 'StateCaught' && e.state.name === STATE.forward('us-west-2'));
      expect(caught).toHaveLength(1);
      for (const outcome of outcomes) {
        expect((await claimRecord(local.aws, outcome.requestId as string))?.region?.S).toBe(outcome.region);
      }
    } finally {
      applyEnvironment(dispatchEnvironment(local.aws.resources, local.aws.endpoints));
    }
  });

  it('dead-letters with the reason and releases the claims when no region takes the messages', async () => {
    local.aws.sqsServers['us-west-2']?.setAvailable(false);
    local.aws.sqsServers['us-west-1']?.setAvailable(false);
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
      // Released: a later redelivery is not mistaken for a duplicate.
      for (const message of messages) expect(await claimRecord(local.aws, message.requestId)).toBeUndefined();
    } finally {
      await restore();
    }
  });

  it('reports retry and releases the claims when neither a region nor the DLQ takes them', async () => {
    for (const server of Object.values(local.aws.sqsServers)) server.setAvailable(false);
    const messages = batch('req-all-down', 3);
    const { outcomes } = await run(messages);
    expect(outcomes.map((o) => o.outcome)).toEqual(['retry', 'retry', 'retry']);
    for (const outcome of outcomes) expect(outcome.reason).toMatch(/dead-letter queue unavailable/);
    for (const message of messages) expect(await claimRecord(local.aws, message.requestId)).toBeUndefined();
  });

  it('goes on when the queue depths cannot be read, placing by capacity', async () => {
    local.aws.sqsServers['us-west-1']?.setAvailable(false);
    const { outcomes } = await run(batch('req-no-depth', 6));
    expect(outcomes.every((o) => o.outcome === 'dispatched')).toBe(true);
    // us-west-1 has no reading, so the policy leaves it out while others can be read.
    expect(outcomes.some((o) => o.region === 'us-west-1')).toBe(false);
  });
});
