/**
 * Regions' explicit capacities in the idempotency table (aws/capacity.ts), over the wire against the
 * local DynamoDB server: written by one client (the CLI's), read by the functions' (through a fault
 * proxy, so the table can be made to fail for them alone).
 */
import { DeleteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CapacityError, clearCapacity, readCapacities, readCapacitySettings, writeCapacity, type CapacityTable } from '../../aws/capacity.js';
import { resetClients } from '../../aws/clients.js';
import type { DispatchConfig } from '../../core/config.js';
import { capacityKey } from '../../core/record.js';
import { startLocalAws, type LocalAws, type LocalFaults } from '../support/local-aws.js';

let aws: LocalAws & { readonly faults: LocalFaults };
let cfg: DispatchConfig;
/** The CLI's side: straight to the server. */
let table: CapacityTable;

beforeAll(async () => {
  aws = await startLocalAws({ faults: true });
  // The functions' config: its DynamoDB endpoint is the fault proxy.
  cfg = aws.config;
  table = { client: aws.dynamo, tableName: aws.resources.tableName };
});
afterAll(async () => {
  resetClients();
  await aws?.stop();
});
afterEach(async () => {
  aws.faults.dynamodb.rules.clear();
  if (aws.faults.dynamodb.down) await aws.faults.dynamodb.setDown(false);
  for (const { region } of aws.resources.regions) {
    await aws.dynamo.send(new DeleteItemCommand({ TableName: aws.resources.tableName, Key: { request_id: { S: capacityKey(region) } } }));
  }
});

describe('capacity settings in the table', () => {
  it('reads back what was written, for the regions that have one, in configured order', async () => {
    expect(cfg.regions.map((r) => r.region)).toEqual(['us-east-1', 'us-west-2', 'us-west-1']);
    expect(await readCapacities(cfg)).toEqual([]);
    const written = await writeCapacity(table, 'us-west-1', 4, 'ops@test', 1_700_000_000_000);
    await writeCapacity(table, 'us-east-1', 0, 'autoscaling hook', 1_700_000_000_001);
    expect(written).toEqual({ region: 'us-west-1', capacity: 4, setAt: 1_700_000_000_000, setBy: 'ops@test' });
    expect(await readCapacities(cfg)).toEqual([
      { region: 'us-east-1', capacity: 0, setAt: 1_700_000_000_001, setBy: 'autoscaling hook' },
      { region: 'us-west-1', capacity: 4, setAt: 1_700_000_000_000, setBy: 'ops@test' },
    ]);
  });

  it('replaces a setting with the next one', async () => {
    await writeCapacity(table, 'us-west-2', 2, 'first', 1);
    await writeCapacity(table, 'us-west-2', 7, 'second', 2);
    expect(await readCapacitySettings(table, ['us-west-2'])).toEqual([{ region: 'us-west-2', capacity: 7, setAt: 2, setBy: 'second' }]);
  });

  it('clears a setting, returning what it removed; clearing nothing returns nothing', async () => {
    await writeCapacity(table, 'us-west-2', 3, 'ops', 5);
    expect(await clearCapacity(table, 'us-west-2')).toEqual({ region: 'us-west-2', capacity: 3, setAt: 5, setBy: 'ops' });
    expect(await readCapacities(cfg)).toEqual([]);
    expect(await clearCapacity(table, 'us-west-2')).toBeUndefined();
  });

  it('refuses a value that is not a setting, and writes nothing', async () => {
    await expect(writeCapacity(table, 'us-west-2', -1, 'ops')).rejects.toThrow(/capacity must be >= 0/);
    await expect(writeCapacity(table, 'us-west-2', 2.5, 'ops')).rejects.toThrow(CapacityError);
    await expect(writeCapacity(table, 'us-west-2', 2, '')).rejects.toThrow(/setBy must not be empty/);
    expect(await readCapacities(cfg)).toEqual([]);
  });

  it('ignores an item that holds no valid setting, and still reads the others', async () => {
    await writeCapacity(table, 'us-east-1', 5, 'ops', 9);
    const malformed = [
      { request_id: { S: capacityKey('us-west-2') }, region: { S: 'us-west-2' }, capacity: { N: '-3' }, setAt: { N: '1' }, setBy: { S: 'x' } },
      // A valid-looking setting for another region under this region's key.
      { request_id: { S: capacityKey('us-west-1') }, region: { S: 'us-west-2' }, capacity: { N: '3' }, setAt: { N: '1' }, setBy: { S: 'x' } },
    ];
    for (const Item of malformed) await aws.dynamo.send(new PutItemCommand({ TableName: aws.resources.tableName, Item }));
    expect(await readCapacities(cfg)).toEqual([{ region: 'us-east-1', capacity: 5, setAt: 9, setBy: 'ops' }]);
    // Text where a number belongs, and an item without setBy.
    await aws.dynamo.send(
      new PutItemCommand({ TableName: aws.resources.tableName, Item: { request_id: { S: capacityKey('us-west-2') }, region: { S: 'us-west-2' }, capacity: { S: 'four' }, setAt: { N: '1' }, setBy: { S: 'x' } } }),
    );
    await aws.dynamo.send(
      new PutItemCommand({ TableName: aws.resources.tableName, Item: { request_id: { S: capacityKey('us-west-1') }, region: { S: 'us-west-1' }, capacity: { N: '2' }, setAt: { N: '1' } } }),
    );
    expect(await readCapacities(cfg)).toEqual([{ region: 'us-east-1', capacity: 5, setAt: 9, setBy: 'ops' }]);
    // Clearing a malformed item removes it and reports no setting.
    expect(await clearCapacity(table, 'us-west-1')).toBeUndefined();
  });
});

describe('a table that cannot be read throws, with what failed', () => {
  it('on an error answer', async () => {
    await writeCapacity(table, 'us-east-1', 5, 'ops');
    aws.faults.dynamodb.rules.add({ actions: ['BatchGetItem'], mode: 'error', error: 'internal' });
    const error = await readCapacities(cfg).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CapacityError);
    expect((error as Error).message).toMatch(new RegExp(`^capacity settings unreadable in ${aws.resources.tableName}: InternalServerError`));
    expect(aws.faults.dynamodb.stats.action('BatchGetItem').faulted.error).toBe(1);
  });

  it('on a throttled read (one attempt: no SDK retry hides it)', async () => {
    aws.faults.dynamodb.rules.add({ actions: ['BatchGetItem'], mode: 'error', error: 'throttle', times: 1 });
    await expect(readCapacities(cfg)).rejects.toThrow(/ProvisionedThroughputExceededException/);
    // The rule fired once: the next read goes through.
    expect(await readCapacities(cfg)).toEqual([]);
  });

  it('when the table does not answer (the request times out) or cannot be reached', async () => {
    aws.faults.dynamodb.rules.add({ actions: ['BatchGetItem'], mode: 'hang' });
    await expect(readCapacities(cfg)).rejects.toThrow(CapacityError);
    aws.faults.dynamodb.rules.clear();
    await aws.faults.dynamodb.setDown(true);
    await expect(readCapacities(cfg)).rejects.toThrow(/^capacity settings unreadable in .*ECONNREFUSED/);
  });

  it('when the table does not exist', async () => {
    const missing = { client: aws.dynamo, tableName: 'no-such-table' };
    await expect(readCapacitySettings(missing, ['us-east-1'])).rejects.toThrow(/unreadable in no-such-table: ResourceNotFoundException/);
    await expect(writeCapacity(missing, 'us-east-1', 1, 'ops')).rejects.toThrow(/capacity of us-east-1 not written to no-such-table: ResourceNotFoundException/);
  });
});
