import { describe, expect, it } from 'vitest';
import { meanInterval, tQuantile975, verdict } from '../../../tools/bench/stats.js';

describe('meanInterval (95% Student t interval over seeds)', () => {
  it('matches a worked example: 10 values', () => {
    const values = [2.9, 3.1, 3.0, 2.8, 3.2, 3.05, 2.95, 3.15, 2.85, 3.0];
    const i = meanInterval(values);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const sd = Math.sqrt(values.reduce((s, x) => s + (x - mean) ** 2, 0) / 9);
    expect(i.n).toBe(10);
    expect(i.mean).toBeCloseTo(3.0, 10);
    expect(i.sd).toBeCloseTo(sd, 12);
    expect(i.high - i.mean).toBeCloseTo((2.262 * sd) / Math.sqrt(10), 10);
    expect(i.mean - i.low).toBeCloseTo(i.high - i.mean, 12);
  });

  it('is NaN-wide with one value, and zero-wide for equal values', () => {
    expect(Number.isNaN(meanInterval([1.5]).low)).toBe(true);
    expect(meanInterval([1.5]).mean).toBe(1.5);
    const same = meanInterval([2, 2, 2]);
    expect([same.low, same.mean, same.high]).toEqual([2, 2, 2]);
  });

  it('leaves out NaN values', () => {
    expect(meanInterval([1, Number.NaN, 3]).n).toBe(2);
    expect(meanInterval([1, Number.NaN, 3]).mean).toBe(2);
  });

  it('covers the true mean about 95% of the time', () => {
    // Normal draws (Box-Muller on a fixed LCG), 10 per interval, 2000 intervals.
    let state = 12345;
    const uniform = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) + 0.5) / 2 ** 31;
    const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    let covered = 0;
    for (let k = 0; k < 2000; k++) {
      const i = meanInterval(Array.from({ length: 10 }, () => 5 + normal()));
      if (i.low <= 5 && 5 <= i.high) covered++;
    }
    expect(covered / 2000).toBeGreaterThan(0.93);
    expect(covered / 2000).toBeLessThan(0.97);
  });
});

describe('tQuantile975', () => {
  it('gives the table values and tends to 1.96', () => {
    expect(tQuantile975(1)).toBe(12.706);
    expect(tQuantile975(9)).toBe(2.262);
    expect(tQuantile975(30)).toBe(2.042);
    expect(tQuantile975(40)).toBeCloseTo(2.021, 3);
    expect(tQuantile975(120)).toBeCloseTo(1.98, 3);
    expect(tQuantile975(1e9)).toBeCloseTo(1.96, 3);
  });
});

describe('verdict', () => {
  it('says met, missed or within noise from where the interval lies', () => {
    expect(verdict({ low: 3.1, high: 3.5 }, 3, 'ge')).toBe('met');
    expect(verdict({ low: 2.5, high: 2.9 }, 3, 'ge')).toBe('missed');
    expect(verdict({ low: 2.9, high: 3.1 }, 3, 'ge')).toBe('within noise');
    expect(verdict({ low: 0.98, high: 1.04 }, 1.05, 'le')).toBe('met');
    expect(verdict({ low: 1.06, high: 1.1 }, 1.05, 'le')).toBe('missed');
    expect(verdict({ low: 1.0, high: 1.1 }, 1.05, 'le')).toBe('within noise');
    expect(verdict({ low: Number.NaN, high: Number.NaN }, 1.05, 'le')).toBe('within noise');
  });
});
