/**
 * Capacity set at run time, as the dispatch uses it: a setting in the table (what `capacity set` and an
 * autoscaling hook write) changes where messages go at the next snapshot, without a redeploy; a region
 * set to 0 is drained; settings that cannot be read (the table failing, at the wire) leave every region
 * weighed as configured, and dispatch goes on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { capacityTable, clearCapacity, writeCapacity } from '../../aws/capacity.js';
import { executionOutputSchema, flattenOutcomes } from '../../core/outcomes.js';
import { capacityKey } from '../../core/record.js';
import { clearSnapshotCache } from '../../functions/snapshot.js';
import { drainRegions, envelope, executionInput, useLocalDispatch } from '../support/local-aws.js';

const local = useLocalDispatch({ faults: true });
const table = () => ({ client: local.aws.dynamo, tableName: local.aws.resources.tableName });

afterEach(async () => {
  local.aws.faults.dynamodb.rules.clear();
  for (const { region } of local.aws.resources.regions) await clearCapacity(table(), region);
  await drainRegions(local.aws);
  clearSnapshotCache();
});

/** Runs one execution of `n` messages; returns the region each went to (outcome dispatched). */
async function dispatch(n: number, label: string): Promise<string[]> {
  clearSnapshotCache();
  const messages = Array.from({ length: n }, (_, i) => envelope(`${label}-${i}`));
  const input = executionInput(messages);
  const record = await local.runner.run(input, { name: input.executionName });
  expect(record.status, `${record.error}: ${record.cause}`).toBe('SUCCEEDED');
  const outcomes = flattenOutcomes(messages.map((m) => m.messageId), executionOutputSchema.parse(record.output));
  expect(outcomes.map((o) => o.outcome)).toEqual(messages.map(() => 'dispatched'));
  return outcomes.map((o) => o.region as string);
}

describe('capacity set at run time', () => {
  it('drains a region set to 0: it takes nothing while the others have capacity', async () => {
    const [drained] = local.aws.resources.regions.map((r) => r.region);
    await writeCapacity(table(), drained as string, 0, 'test');
    const regions = await dispatch(20, 'cap-drained');
    expect(regions).not.toContain(drained);
  });

  it('weighs a region by the number set: idle queues fill where the set capacity is', async () => {
    const regions = local.aws.resources.regions.map((r) => r.region);
    const big = regions[0] as string;
    // Without a setting the configured capacities (1:2:4) spread 20 messages, the first region taking few.
    const before = await dispatch(20, 'cap-before');
    expect(new Set(before).size).toBeGreaterThan(1);
    expect(before.filter((r) => r === big).length).toBeLessThan(10);
    await drainRegions(local.aws);
    // 50 idle workers there now: ties between idle regions go by idle workers (50 against 2 and 4).
    await writeCapacity(table(), big, 50, 'test');
    const after = await dispatch(20, 'cap-after');
    expect(after.filter((r) => r === big).length).toBeGreaterThanOrEqual(15);
  });

  it('falls back to the configured capacities when the settings cannot be read, and dispatches all the same', async () => {
    const [drained] = local.aws.resources.regions.map((r) => r.region);
    await writeCapacity(table(), drained as string, 0, 'test');
    // The snapshot's read of the capacity items fails at the wire, every time.
    local.aws.faults.dynamodb.rules.add({
      actions: ['BatchGetItem'],
      match: { RequestItems: { [local.aws.config.idempotencyTableName]: { Keys: [{ request_id: { S: capacityKey(drained as string) } }] } } },
      mode: 'error',
      error: 'internal',
    });
    const regions = await dispatch(20, 'cap-unreadable');
    expect(regions).toHaveLength(20);
    // The setting was not read: the drained region is weighed as configured again and takes some.
    expect(regions).toContain(drained);
    expect(local.aws.faults.dynamodb.rules.list().some((r) => r.fired > 0)).toBe(true);
  });
});

it('the table helper names the same table the functions use', () => {
  expect(capacityTable(local.aws.config).tableName).toBe(local.aws.resources.tableName);
});
