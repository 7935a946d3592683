/**
 * The idempotency table's capacity mode per stage (stacks/settings.ts DISPATCH_TABLE_CAPACITY, applied in
 * stacks/table.ts): on-demand unless the deployer names a provisioned capacity; a malformed value refuses
 * the stage, naming the variable.
 */
import { describe, expect, it } from 'vitest';
import { resourceNames } from '../../core/topology.js';
import { MIN_PROVISIONED_WRITE_UNITS, parseTableCapacity, TABLE_CAPACITY_ENV, tableCapacity, TableCapacityError } from '../../stacks/settings.js';
import type { Synth } from './harness/model.js';
import { synth } from './harness/synth.js';
import { SETUP_TIMEOUT_MS } from './harness/use-synth.js';

const table = (stage: Synth, name: string) => stage.byState('aws:dynamodb/table:Table', 'name', resourceNames(name).idempotencyTable).inputs;

describe('the table capacity setting', () => {
  it('is on-demand when unset or blank, provisioned with the read and write units named', () => {
    expect(tableCapacity({})).toEqual({ mode: 'on-demand' });
    expect(tableCapacity({ [TABLE_CAPACITY_ENV]: '  ' })).toEqual({ mode: 'on-demand' });
    expect(tableCapacity({ [TABLE_CAPACITY_ENV]: 'On-Demand' })).toEqual({ mode: 'on-demand' });
    expect(tableCapacity({ [TABLE_CAPACITY_ENV]: ' provisioned:5:12 ' })).toEqual({ mode: 'provisioned', readUnits: 5, writeUnits: 12 });
  });

  it('refuses a malformed value, naming the variable and what is wrong', () => {
    const refused = (value: string) => () => tableCapacity({ [TABLE_CAPACITY_ENV]: value });
    expect(refused('provisioned')).toThrow(/^DISPATCH_TABLE_CAPACITY=provisioned: must be "on-demand" or "provisioned:<read units>:<write units>"$/);
    expect(refused('pay-per-request')).toThrow(/DISPATCH_TABLE_CAPACITY=pay-per-request: must be "on-demand"/);
    expect(refused('provisioned:5:x')).toThrow(/DISPATCH_TABLE_CAPACITY=provisioned:5:x: write units .* must be a number/);
    expect(refused('provisioned:0:20')).toThrow(/read units must be >= 1/);
    expect(refused('provisioned:2.5:20')).toThrow(/read units must be a whole number/);
    expect(refused('provisioned:5:20:1')).toThrow(/must be "on-demand" or "provisioned/);
    expect(refused('provisioned:5:50000')).toThrow(/write units .* must be <= 40000/);
    expect(refused('x')).toThrow(TableCapacityError);
  });

  it('refuses fewer write units than one full batch of claims at once', () => {
    expect(MIN_PROVISIONED_WRITE_UNITS).toBe(10);
    expect(() => parseTableCapacity('provisioned:5:9')).toThrow(/write units \(a full batch's 10 claims at once\) must be >= 10/);
    expect(parseTableCapacity('provisioned:5:10')).toEqual({ mode: 'provisioned', readUnits: 5, writeUnits: 10 });
  });
});

describe('the table capacity on the synthesized stage', () => {
  it(
    'stays on-demand by default (PAY_PER_REQUEST, no capacities)',
    async () => {
      // The default synthesis (shared through the cache): the variable unset, as in the harness's DEPLOY_ENV.
      const inputs = table(await synth({ env: { [TABLE_CAPACITY_ENV]: undefined } }), 'ci');
      expect(inputs.billingMode).toBe('PAY_PER_REQUEST');
      expect(inputs.readCapacity).toBeUndefined();
      expect(inputs.writeCapacity).toBeUndefined();
    },
    SETUP_TIMEOUT_MS,
  );

  it(
    'is PROVISIONED with the units named at deploy, the rest of the table unchanged',
    async () => {
      const inputs = table(await synth({ stage: 'capacity', env: { [TABLE_CAPACITY_ENV]: 'provisioned:4:15' } }), 'capacity');
      expect(inputs.billingMode).toBe('PROVISIONED');
      expect(inputs.readCapacity).toBe(4);
      expect(inputs.writeCapacity).toBe(15);
      expect(inputs.ttl).toEqual({ attributeName: 'expiresAt', enabled: true });
      expect(inputs.pointInTimeRecovery).toEqual({ enabled: true });
      expect(inputs.serverSideEncryption).toEqual({ enabled: true });
    },
    SETUP_TIMEOUT_MS,
  );

  it(
    'does not synthesize with a malformed value, naming the variable',
    async () => {
      const attempt = synth({ stage: 'capacity-bad', env: { [TABLE_CAPACITY_ENV]: 'provisioned:4' } });
      await expect(attempt).rejects.toThrow(/TableCapacityError[\s\S]*DISPATCH_TABLE_CAPACITY=provisioned:4: must be "on-demand" or "provisioned:<read units>:<write units>"/);
    },
    SETUP_TIMEOUT_MS,
  );
});
