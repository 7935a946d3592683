/** core/random.ts: the seeded generator and the weighted draw the policies are built on. */
import { describe, expect, it } from 'vitest';
import { seededRandom, weightedIndex } from '../../core/random.js';

describe('seededRandom', () => {
  it('replays the same sequence for the same seed and another for another seed', () => {
    const take = (seed: number) => {
      const random = seededRandom(seed);
      return Array.from({ length: 20 }, () => random());
    };
    expect(take(1)).toEqual(take(1));
    expect(take(1)).not.toEqual(take(2));
  });

  it('stays in [0, 1) and is roughly uniform', () => {
    const random = seededRandom(123);
    const buckets = Array(10).fill(0) as number[];
    let outside = 0;
    for (let i = 0; i < 100_000; i++) {
      const x = random();
      if (!(x >= 0 && x < 1)) outside++;
      else buckets[Math.floor(x * 10)]!++;
    }
    expect(outside).toBe(0);
    for (const count of buckets) expect(Math.abs(count - 10_000)).toBeLessThan(500);
  });
});

describe('weightedIndex', () => {
  it('draws in proportion to the weights and never picks a zero weight', () => {
    const random = seededRandom(4);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 40_000; i++) counts[weightedIndex([1, 0, 3, 0], random)]!++;
    expect(counts[1]).toBe(0);
    expect(counts[3]).toBe(0);
    expect((counts[0] as number) / 40_000).toBeCloseTo(0.25, 1);
    expect((counts[2] as number) / 40_000).toBeCloseTo(0.75, 1);
  });

  it('maps the ends of [0, 1) to the first and last positive weights', () => {
    expect(weightedIndex([2, 1, 1], () => 0)).toBe(0);
    expect(weightedIndex([2, 1, 1], () => 0.4999)).toBe(0);
    expect(weightedIndex([2, 1, 1], () => 0.5)).toBe(1);
    expect(weightedIndex([2, 1, 1], () => 0.999999)).toBe(2);
    expect(weightedIndex([0, 5], () => 0)).toBe(1);
  });
});
