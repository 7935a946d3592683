/** Several seeds of one contender in one scenario, summed up: means of per-run figures, and spreads. */
import type { Contender, RegionResult, SimResult } from './model.js';

export interface Aggregate {
  readonly contender: string;
  readonly kind: Contender['kind'];
  readonly seeds: readonly number[];
  /** Means over runs, except max (the largest of any run). */
  readonly wait: { readonly mean: number; readonly p95: number; readonly p99: number; readonly max: number };
  /** Lowest and highest p95 of a single run. */
  readonly p95Range: readonly [number, number];
  readonly requestsPerRun: number;
  readonly overThresholdPerRun: number;
  readonly backlogAtEndPerRun: number;
  /** share: over all runs; maxDepth: the largest of any run; p95Wait: mean over runs. */
  readonly regions: readonly RegionResult[];
  readonly runs: readonly SimResult[];
}

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

export function aggregate(runs: readonly SimResult[], seeds: readonly number[]): Aggregate {
  const first = runs[0];
  if (!first) throw new Error('aggregate needs at least one run');
  const total = runs.reduce((n, r) => n + r.requests, 0);
  const p95s = runs.map((r) => r.wait.p95);
  return {
    contender: first.contender,
    kind: first.kind,
    seeds,
    wait: {
      mean: mean(runs.map((r) => r.wait.mean)),
      p95: mean(p95s),
      p99: mean(runs.map((r) => r.wait.p99)),
      max: Math.max(...runs.map((r) => r.wait.max)),
    },
    p95Range: [Math.min(...p95s), Math.max(...p95s)],
    requestsPerRun: total / runs.length,
    overThresholdPerRun: mean(runs.map((r) => r.overThreshold)),
    backlogAtEndPerRun: mean(runs.map((r) => r.backlogAtEnd)),
    regions: first.regions.map((region, i) => {
      const of = runs.map((r) => r.regions[i] as RegionResult);
      const requests = of.reduce((n, g) => n + g.requests, 0);
      return {
        region: region.region,
        requests,
        share: total ? requests / total : 0,
        capacityShare: region.capacityShare,
        maxDepth: Math.max(...of.map((g) => g.maxDepth)),
        p95Wait: mean(of.map((g) => g.p95Wait)),
      };
    }),
    runs,
  };
}
