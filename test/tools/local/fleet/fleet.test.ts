/**
 * The stack's workers as one fleet (tools/local/fleet/fleet.ts): a region the stack runs workers for is scaled
 * through the stack's own pool; a region without any gets a pool of the fleet's on its first scale-up,
 * which the fleet stops, not the stack's.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { UnknownRegionError, workerFleet } from '../../../../tools/local/fleet/fleet.js';
import { startLocalStack, type LocalStack } from '../../../../tools/local/stack.js';

let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ workers: { 'us-east-1': { workers: 1, secondsPerRequest: 0.01 } } });
});
afterAll(async () => {
  await stack?.stop();
});

it("scales the stack's own pool, starts one where there is none, and stops only its own", async () => {
  const fleet = workerFleet(stack, { secondsPerRequest: 0.01 });
  const own = stack.workers['us-east-1'];
  expect(fleet.list().map((r) => [r.region, r.workers])).toEqual([
    ['us-east-1', 1],
    ['us-west-2', 0],
    ['us-west-1', 0],
  ]);

  expect(fleet.setCount('us-east-1', 3)).toMatchObject({ region: 'us-east-1', workers: 3 });
  expect(own?.counts().count).toBe(3);
  // Scaling a region without workers to 0 starts nothing; to 2 starts a pool.
  expect(fleet.setCount('us-west-2', 0)).toMatchObject({ workers: 0 });
  expect(fleet.setCount('us-west-2', 2)).toMatchObject({ workers: 2 });
  expect(stack.workers['us-west-2']).toBeUndefined();

  expect(() => fleet.setCount('eu-north-9', 1)).toThrow(UnknownRegionError);
  expect(() => fleet.setCount('us-west-2', 101)).toThrow(/from 0 to 100, got 101/);

  await fleet.stop();
  expect(() => fleet.setCount('us-west-2', 1)).toThrow(/stopped/);
  // The stack's pool is still the stack's to stop: it still takes a new size.
  own?.setCount(1);
  expect(own?.counts().count).toBe(1);
});
