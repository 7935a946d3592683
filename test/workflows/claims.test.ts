/** The idempotency claim: duplicates, busy claims, expired leases and expired records. */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { executionOutputSchema, flattenOutcomes, type Outcome } from '../../core/outcomes.js';
import type { Envelope } from '../../core/placement.js';
import { claimRecord, drainRegions, envelope, executionInput, useLocalDispatch } from '../support/local-aws.js';

const local = useLocalDispatch();
beforeEach(async () => {
  await drainRegions(local.aws);
});

async function dispatch(
  messages: Envelope[],
  options: { now?: number } = {},
): Promise<{ outcomes: Outcome[]; name: string; executionArn: string }> {
  const input = executionInput(messages, options);
  const record = await local.runner.run(input, { name: input.executionName });
  expect(record.status, `${record.error}: ${record.cause}`).toBe('SUCCEEDED');
  return {
    outcomes: flattenOutcomes(messages.map((m) => m.messageId), executionOutputSchema.parse(record.output)),
    name: input.executionName,
    executionArn: record.executionArn,
  };
}

async function delivered(): Promise<string[]> {
  const queues = await drainRegions(local.aws);
  return Object.values(queues)
    .flat()
    .map((m) => m.MessageAttributes?.request_id?.StringValue ?? '?');
}

async function putRecord(requestId: string, attributes: Record<string, { S: string } | { N: string }>) {
  await local.aws.dynamo.send(new PutItemCommand({ TableName: local.aws.resources.tableName, Item: { request_id: { S: requestId }, ...attributes } }));
}

const now = () => Math.floor(Date.now() / 1000);

describe('idempotency claims', () => {
  it('forwards a request_id repeated within one batch once and reports the repeat as duplicate', async () => {
    const messages = [envelope('req-dup-in-batch'), envelope('req-dup-in-batch'), envelope('req-single')];
    const { outcomes } = await dispatch(messages);
    const forRepeated = outcomes.filter((o) => o.requestId === 'req-dup-in-batch').map((o) => o.outcome).sort();
    expect(forRepeated).toEqual(['dispatched', 'duplicate']);
    expect(outcomes.find((o) => o.outcome === 'duplicate')?.reason).toMatch(/within this batch/);
    expect((await delivered()).sort()).toEqual(['req-dup-in-batch', 'req-single']);
  });

  it('drops a request_id already dispatched by an earlier batch, naming the region', async () => {
    const first = await dispatch([envelope('req-dup-across')]);
    const region = first.outcomes[0]?.region;
    expect(region).toBeTruthy();
    await delivered();

    const second = await dispatch([envelope('req-dup-across'), envelope('req-fresh')]);
    const duplicate = second.outcomes.find((o) => o.requestId === 'req-dup-across');
    expect(duplicate?.outcome).toBe('duplicate');
    expect(duplicate?.reason).toContain(`already dispatched to ${region}`);
    expect(second.outcomes.find((o) => o.requestId === 'req-fresh')?.outcome).toBe('dispatched');
    expect(await delivered()).toEqual(['req-fresh']);
  });

  it('reports a claim held by another execution with an unexpired lease as busy (retry), forwarding nothing', async () => {
    await putRecord('req-busy', { status: { S: 'IN_PROGRESS' }, owner: { S: 'other-execution' }, leaseUntil: { N: String(now() + 300) }, expiresAt: { N: String(now() + 86400) } });
    const { outcomes } = await dispatch([envelope('req-busy')]);
    expect(outcomes[0]?.outcome).toBe('retry');
    expect(outcomes[0]?.reason).toContain('claimed by other-execution');
    expect(await delivered()).toEqual([]);
    // The other execution's claim is untouched.
    expect((await claimRecord(local.aws, 'req-busy'))?.owner?.S).toBe('other-execution');
  });

  it('takes over a claim whose lease has expired', async () => {
    await putRecord('req-expired-lease', { status: { S: 'IN_PROGRESS' }, owner: { S: 'crashed-execution' }, leaseUntil: { N: String(now() - 1) }, expiresAt: { N: String(now() + 86400) } });
    const { outcomes, name, executionArn } = await dispatch([envelope('req-expired-lease')]);
    expect(outcomes[0]?.outcome).toBe('dispatched');
    expect(await delivered()).toEqual(['req-expired-lease']);
    const item = await claimRecord(local.aws, 'req-expired-lease');
    expect(item?.status?.S).toBe('DISPATCHED');
    // The owner is the run's unique id; its name is kept beside it for people.
    expect(item?.owner?.S).toBe(executionArn);
    expect(item?.executionName?.S).toBe(name);
  });

  it('treats a record past its TTL as absent (DynamoDB deletes expired items lazily)', async () => {
    await putRecord('req-ttl-passed', { status: { S: 'DISPATCHED' }, owner: { S: 'old' }, region: { S: 'us-west-1' }, expiresAt: { N: String(now() - 10) } });
    const { outcomes } = await dispatch([envelope('req-ttl-passed')]);
    expect(outcomes[0]?.outcome).toBe('dispatched');
    expect(await delivered()).toEqual(['req-ttl-passed']);
  });

  it('sets the TTL attribute to now + 7 days on the claim', async () => {
    const at = now();
    await dispatch([envelope('req-ttl-set')], { now: at });
    const item = await claimRecord(local.aws, 'req-ttl-set');
    expect(Number(item?.expiresAt?.N)).toBe(at + 7 * 86400);
    expect(item?.batchId?.S).toBeTruthy();
    expect(item?.dispatchedAt?.S).toMatch(/^\d{4}-\d\d-\d\dT/);
  });
});
