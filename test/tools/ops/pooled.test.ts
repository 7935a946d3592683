/** ops/pooled.ts: bounded concurrency, results in input order. */
import { describe, expect, it } from 'vitest';
import { pooled } from '../../../tools/ops/pooled.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe('pooled', () => {
  it('returns the results in input order, whatever order the work ends in', async () => {
    const results = await pooled([30, 5, 20, 1], 3, async (ms) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return ms * 2;
    });
    expect(results).toEqual([60, 10, 40, 2]);
  });

  it('never runs more than the limit at once, and runs each item once', async () => {
    let running = 0;
    let most = 0;
    const seen: number[] = [];
    await pooled(Array.from({ length: 20 }, (_, i) => i), 4, async (i) => {
      running++;
      most = Math.max(most, running);
      await tick();
      seen.push(i);
      running--;
    });
    expect(most).toBe(4);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('does nothing for no items', async () => {
    expect(await pooled([], 8, async () => 1)).toEqual([]);
  });
});
