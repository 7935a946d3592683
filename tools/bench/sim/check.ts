/**
 * The simulator against a known answer: M/M/c by the Erlang C formula. Shared by the test
 * (test/tools/bench/sim.test.ts asserts the tolerances) and `npm run bench:policy -- --erlang` (prints it).
 */
import { mmc } from './erlang.js';
import { simulate, type SimRegion, type SimSettings } from './model.js';

export interface ErlangCheck {
  readonly name: string;
  readonly servers: number;
  readonly load: number;
  readonly requests: number;
  readonly simulated: { readonly meanWait: number; readonly waitedShare: number; readonly p99: number };
  readonly formula: { readonly meanWait: number; readonly waitedShare: number; readonly p99: number };
}

/** Poisson arrivals placed one by one at once (no batching window), exponential service, the oracle placing. */
export function mmcSettings(regions: readonly SimRegion[], arrivalsPerSecond: number, durationSeconds: number, seed = 1): SimSettings {
  return {
    regions,
    arrivalsPerSecond,
    durationSeconds,
    warmupSeconds: 1000,
    cacheTtlSeconds: 0,
    maxQueueDepthThreshold: Number.MAX_SAFE_INTEGER,
    seed,
    batchWindowSeconds: 0,
    batchSize: 1,
  };
}

function check(name: string, regions: readonly SimRegion[], load: number, durationSeconds: number, seed: number): ErlangCheck {
  const servers = regions.reduce((n, r) => n + r.workers, 0);
  const service = regions[0]?.meanServiceSeconds ?? 1;
  const arrivals = (load * servers) / service;
  const result = simulate(mmcSettings(regions, arrivals, durationSeconds, seed), { name: 'oracle', kind: 'oracle' });
  const expected = mmc(servers, arrivals, service);
  return {
    name,
    servers,
    load,
    requests: result.requests,
    simulated: { meanWait: result.wait.mean, waitedShare: result.waitedShare, p99: result.wait.p99 },
    formula: { meanWait: expected.meanWait, waitedShare: expected.pWait, p99: expected.waitQuantile(0.99) },
  };
}

/** One region of 4 workers; and the oracle over regions of 1, 2 and 4 workers, which is one pooled M/M/7. */
export function erlangChecks(seed = 1): ErlangCheck[] {
  const region = (name: string, workers: number): SimRegion => ({ region: name, workers, meanServiceSeconds: 10, capacity: workers });
  return [
    check('one region, M/M/4', [region('r', 4)], 0.7, 1_000_000, seed),
    check('oracle over 1:2:4 regions = pooled M/M/7', [region('a', 1), region('b', 2), region('c', 4)], 0.7, 600_000, seed),
  ];
}
