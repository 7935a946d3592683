/** Small statistics and formatting helpers shared by the benches. No I/O. */

export interface Summary {
  readonly count: number;
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/** Nearest-rank percentile of an ascending array (p in 0..100); NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export function summarize(values: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(values).sort();
  let total = 0;
  for (const v of sorted) total += v;
  return {
    count: sorted.length,
    min: sorted.length ? (sorted[0] as number) : Number.NaN,
    mean: sorted.length ? total / sorted.length : Number.NaN,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.length ? (sorted[sorted.length - 1] as number) : Number.NaN,
  };
}

/** A plain-text table: the first row is the header; columns after the first are right-aligned. */
export function table(rows: ReadonlyArray<readonly string[]>): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  const line = (row: readonly string[]) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  const [header, ...body] = rows;
  if (!header) return '';
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '-');
export const pct = (value: number) => `${(value * 100).toFixed(0)}%`;

/** Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom (a 95% interval). */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086,
  2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** The 0.975 quantile of Student's t with `df` degrees of freedom (beyond 30: a close approximation, 1.96 at infinity). */
export function tQuantile975(df: number): number {
  if (!(df >= 1)) return Number.NaN;
  const whole = Math.floor(df);
  if (whole <= T975.length) return T975[whole - 1] as number;
  // Cornish-Fisher expansion of t around the normal quantile: within 0.001 of the table from 30 on.
  const z = 1.959964;
  const g1 = (z ** 3 + z) / 4;
  const g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96;
  return z + g1 / whole + g2 / whole ** 2;
}

export interface Interval {
  readonly mean: number;
  /** 95% confidence interval of the mean: mean -/+ t(0.975, n-1) x sd / sqrt(n). Both NaN with fewer than 2 values. */
  readonly low: number;
  readonly high: number;
  readonly n: number;
  /** Sample standard deviation (n - 1). */
  readonly sd: number;
}

/** The mean of independent values (one per seed) with its 95% Student t confidence interval. NaN values are left out. */
export function meanInterval(values: readonly number[]): Interval {
  const xs = values.filter((v) => Number.isFinite(v));
  const n = xs.length;
  const mean = n ? xs.reduce((a, b) => a + b, 0) / n : Number.NaN;
  if (n < 2) return { mean, low: Number.NaN, high: Number.NaN, n, sd: Number.NaN };
  const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
  const half = (tQuantile975(n - 1) * sd) / Math.sqrt(n);
  return { mean, low: mean - half, high: mean + half, n, sd };
}

/**
 * Where a target stands given the 95% interval of its figure: `ge` wants the figure at least `limit`,
 * `le` at most. Met when the whole interval is on the right side, missed when the whole interval is on
 * the wrong side, within noise when the interval straddles the limit (or there is no interval).
 */
export type Verdict = 'met' | 'missed' | 'within noise';
export function verdict(interval: Pick<Interval, 'low' | 'high'>, limit: number, sense: 'ge' | 'le'): Verdict {
  const { low, high } = interval;
  if (!Number.isFinite(low) || !Number.isFinite(high)) return 'within noise';
  if (sense === 'ge') return low >= limit ? 'met' : high < limit ? 'missed' : 'within noise';
  return high <= limit ? 'met' : low > limit ? 'missed' : 'within noise';
}
