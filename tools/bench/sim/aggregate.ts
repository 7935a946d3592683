/** Several seeds of one contender at one load, against the oracle's runs on the same seeds. */
import { meanInterval, type Interval } from '../stats.js';
import type { Contender, SimResult } from './model.js';

export interface Cell {
  readonly contender: string;
  readonly kind: Contender['kind'];
  readonly load: number;
  readonly seeds: readonly number[];
  /** Means over seeds, in seconds. */
  readonly p99: number;
  readonly mean: number;
  /**
   * Mean over seeds of (this p99 / the oracle's p99 on the same seed): every contender sees the same
   * arrivals and work, so the per-seed ratio is steadier than either figure. NaN when the oracle's is 0.
   */
  readonly p99Ratio: number;
  readonly meanRatio: number;
  /** 95% t-intervals over seeds of the per-seed ratios above. */
  readonly p99RatioCI: Interval;
  readonly meanRatioCI: Interval;
  /** The same ratios against the perfect-information oracle (NaN when not given). */
  readonly p99RatioInformedCI: Interval;
  readonly meanRatioInformedCI: Interval;
  /** End to end (master queue to a worker, batching included), means over seeds, seconds. */
  readonly endToEndP99: number;
  readonly endToEndMean: number;
  /** Batching alone (master queue to the execution): mean and p99 over seeds, seconds. */
  readonly batchingMean: number;
  readonly batchingP99: number;
  /** Mean messages per execution. */
  readonly meanBatch: number;
  /** The p99 wait of each seed's run, in seed order (for ratios between contenders, seed by seed). */
  readonly p99PerSeed: readonly number[];
  /** Lowest and highest per-seed p99 ratio. */
  readonly p99RatioRange: readonly [number, number];
  readonly requestsPerRun: number;
  /** Readings taken per 1000 requests (each is one GetQueueAttributes call per region). */
  readonly readingsPer1000: number;
  /** Mean age of the information behind a placement (time since the read call + SQS lag), seconds. */
  readonly informationAge: number;
  /** Share of requests per region (over all seeds), in configured order. */
  readonly shares: readonly number[];
}

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const ratio = (a: number, b: number) => (b > 0 ? a / b : Number.NaN);

export function cell(load: number, seeds: readonly number[], runs: readonly SimResult[], oracle: readonly SimResult[], informed?: readonly SimResult[]): Cell {
  const first = runs[0];
  if (!first || runs.length !== oracle.length) throw new Error('cell needs one oracle run per run');
  const p99Ratios = runs.map((r, i) => ratio(r.wait.p99, (oracle[i] as SimResult).wait.p99));
  const meanRatios = runs.map((r, i) => ratio(r.wait.mean, (oracle[i] as SimResult).wait.mean));
  const requests = runs.reduce((n, r) => n + r.requests, 0);
  return {
    contender: first.contender,
    kind: first.kind,
    load,
    seeds,
    p99: mean(runs.map((r) => r.wait.p99)),
    mean: mean(runs.map((r) => r.wait.mean)),
    p99Ratio: mean(p99Ratios),
    meanRatio: mean(meanRatios),
    p99RatioCI: meanInterval(p99Ratios),
    meanRatioCI: meanInterval(meanRatios),
    p99RatioInformedCI: meanInterval(informed ? runs.map((r, i) => ratio(r.wait.p99, (informed[i] as SimResult).wait.p99)) : []),
    meanRatioInformedCI: meanInterval(informed ? runs.map((r, i) => ratio(r.wait.mean, (informed[i] as SimResult).wait.mean)) : []),
    endToEndP99: mean(runs.map((r) => r.endToEnd.p99)),
    endToEndMean: mean(runs.map((r) => r.endToEnd.mean)),
    batchingMean: mean(runs.map((r) => r.batching.mean)),
    batchingP99: mean(runs.map((r) => r.batching.p99)),
    meanBatch: runs.reduce((n, r) => n + r.messages, 0) / Math.max(1, runs.reduce((n, r) => n + r.executions, 0)),
    p99PerSeed: runs.map((r) => r.wait.p99),
    p99RatioRange: [Math.min(...p99Ratios), Math.max(...p99Ratios)],
    requestsPerRun: requests / runs.length,
    readingsPer1000: (1000 * runs.reduce((n, r) => n + r.snapshotsTaken, 0)) / Math.max(1, requests),
    informationAge: mean(runs.map((r) => r.meanInformationAge)),
    shares: first.regions.map((_, i) => (requests ? runs.reduce((n, r) => n + (r.regions[i]?.requests ?? 0), 0) / requests : 0)),
  };
}
