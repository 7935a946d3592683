/**
 * The placement simulation (tools/bench/sim/model.ts) against a known answer: M/M/c waits by the Erlang C
 * formula (tools/bench/sim/erlang.ts). Long seeded runs; no wall-clock assertion.
 */
import { describe, expect, it } from 'vitest';
import { POLICY } from '../../../core/policy.js';
import { capacityRandom } from '../../../tools/bench/sim/baselines.js';
import { erlangChecks } from '../../../tools/bench/sim/check.js';
import { erlangC, mmc } from '../../../tools/bench/sim/erlang.js';
import { mmcSettings } from '../../../tools/bench/sim/check.js';
import { simulate, type Contender, type SimSettings } from '../../../tools/bench/sim/model.js';

const ORACLE: Contender = { name: 'oracle', kind: 'oracle' };


describe('erlangC and mmc', () => {
  it('gives the textbook values', () => {
    // M/M/1: an arrival waits with probability rho; mean wait rho / (mu - lambda).
    expect(erlangC(1, 0.6)).toBeCloseTo(0.6, 12);
    expect(mmc(1, 0.06, 10).meanWait).toBeCloseTo(0.6 / (0.1 - 0.06), 9);
    // M/M/2 with a = 1: C = (1/2 * 2) / (1 + 1 + 1) = 1/3.
    expect(erlangC(2, 1)).toBeCloseTo(1 / 3, 12);
    // No load, no wait; quantiles below the no-wait mass are 0.
    expect(erlangC(4, 0)).toBe(0);
    expect(mmc(4, 0.1, 10).waitQuantile(0.5)).toBe(0);
  });

  it('refuses an unstable or malformed queue', () => {
    expect(() => erlangC(2, 2)).toThrow(/offered load/);
    expect(() => erlangC(0, 0.5)).toThrow(/servers/);
    expect(() => erlangC(1.5, 0.5)).toThrow(/servers/);
  });
});

describe('simulate against M/M/c (Erlang C)', () => {
  it('one region of 4 workers at 70% load: mean wait and share waiting within 5% of the formula, p99 within 10%', () => {
    const [one, pooled] = erlangChecks();
    // 280 000 requests; across seeds 1-6 the mean ratio stays within 0.96-1.03.
    expect(one?.formula.meanWait).toBeCloseTo(3.572, 3);
    expect(one?.requests).toBeGreaterThan(270_000);
    for (const c of [one, pooled]) {
      if (!c) throw new Error('missing check');
      expect(Math.abs(c.simulated.meanWait / c.formula.meanWait - 1), c.name).toBeLessThan(0.05);
      expect(Math.abs(c.simulated.waitedShare / c.formula.waitedShare - 1), c.name).toBeLessThan(0.05);
    }
    expect(Math.abs((one?.simulated.p99 ?? 0) / (one?.formula.p99 ?? 1) - 1)).toBeLessThan(0.1);
  });

  it('with a single region every policy is the same queue: the real policies give the oracle its exact waits', () => {
    const settings = mmcSettings([{ region: 'r', workers: 3, meanServiceSeconds: 10, capacity: 3 }], 0.2, 100_000, 7);
    const oracle = simulate(settings, ORACLE);
    for (const policy of [POLICY['least-wait'], POLICY['seed-inverse'], capacityRandom]) {
      expect(simulate(settings, { name: 'p', kind: 'real', policy }).wait).toEqual(oracle.wait);
    }
  });

  it('placing by capacity alone over regions of 1, 2 and 4 workers is three separate queues, far worse than the pooled oracle', () => {
    const regions = [1, 2, 4].map((workers, i) => ({ region: `r${i}`, workers, meanServiceSeconds: 10, capacity: workers }));
    const pooled = simulate(mmcSettings(regions, 0.49, 200_000), ORACLE);
    const split = simulate(mmcSettings(regions, 0.49, 200_000), { name: 'capacity-random', kind: 'baseline', policy: capacityRandom });
    expect(split.wait.mean).toBeGreaterThan(3 * pooled.wait.mean);
  });

  it('replays exactly with the same seed, and differs with another', () => {
    const regions = [1, 2].map((workers, i) => ({ region: `r${i}`, workers, meanServiceSeconds: 10, capacity: workers }));
    const settings: SimSettings = { ...mmcSettings(regions, 0.2, 20_000), cacheTtlSeconds: 5, dispatchers: 3, sqsLagSeconds: 2, batchWindowSeconds: 1, batchSize: 10 };
    const contender: Contender = { name: 'least-wait', kind: 'real', policy: POLICY['least-wait'] };
    expect(simulate(settings, contender)).toEqual(simulate(settings, contender));
    expect(simulate({ ...settings, seed: 2 }, contender).wait).not.toEqual(simulate(settings, contender).wait);
  });
});

describe('the two oracles and the end-to-end wait', () => {
  const regions = [1, 2, 4].map((workers, i) => ({ region: `r${i}`, workers, meanServiceSeconds: 10, capacity: workers }));
  const INFORMED: Contender = { name: 'oracle@now', kind: 'informed' };
  const fresh: Contender = { name: 'least-wait@fresh', kind: 'reference', policy: POLICY['least-wait'], freshInformation: true };

  it('the clairvoyant oracle is a lower bound: perfect current information waits longer, least-wait with stale readings longer still', () => {
    const settings: SimSettings = { ...mmcSettings(regions, 0.6, 100_000, 3), cacheTtlSeconds: 30, dispatchers: 4, sqsLagSeconds: 2, batchWindowSeconds: 20, batchSize: 10, pollers: 5 };
    const oracle = simulate(settings, ORACLE);
    const informed = simulate(settings, INFORMED);
    const stale = simulate(settings, { name: 'least-wait', kind: 'real', policy: POLICY['least-wait'] });
    expect(informed.wait.mean).toBeGreaterThan(oracle.wait.mean);
    expect(stale.wait.mean).toBeGreaterThan(informed.wait.mean);
    // The shipped policy given the true counts at every batch is about as good as perfect current information.
    expect(simulate(settings, fresh).wait.mean / informed.wait.mean).toBeLessThan(1.1);
  });

  it('with a single region perfect current information is the same FIFO queue as the clairvoyant oracle', () => {
    const settings = mmcSettings([{ region: 'r', workers: 3, meanServiceSeconds: 10, capacity: 3 }], 0.5, 50_000, 7);
    expect(simulate(settings, INFORMED).wait).toEqual(simulate(settings, ORACLE).wait);
  });

  it('end to end is batching plus the queueing wait: at least the queueing wait, the batching at most the window', () => {
    const settings: SimSettings = { ...mmcSettings(regions, 0.5, 50_000, 5), cacheTtlSeconds: 5, batchWindowSeconds: 20, batchSize: 10, pollers: 5 };
    const run = simulate(settings, ORACLE);
    expect(run.batching.max).toBeLessThanOrEqual(20 + 1e-9);
    expect(run.endToEnd.mean).toBeCloseTo(run.batching.mean + run.wait.mean, 6);
    expect(run.endToEnd.p99).toBeGreaterThanOrEqual(run.wait.p99);
    // No window: nothing added.
    const none = simulate({ ...settings, batchWindowSeconds: 0 }, ORACLE);
    expect(none.batching.max).toBe(0);
    expect(none.endToEnd).toEqual(none.wait);
    // 5 pollers share the arrivals: smaller batches than one poller, as tools/bench/batching.ts says.
    const one = simulate({ ...settings, pollers: 1 }, ORACLE);
    expect(run.messages / run.executions).toBeLessThan(one.messages / one.executions);
  });
});

describe('readings of a fixed age', () => {
  it('places every batch on a reading exactly as old as it says (plus the SQS lag), and worse than fresh readings', () => {
    const regions = [1, 2, 4].map((workers, i) => ({ region: `r${i}`, workers, meanServiceSeconds: 10, capacity: workers }));
    const settings: SimSettings = { ...mmcSettings(regions, 0.7, 50_000, 2), cacheTtlSeconds: 5, dispatchers: 20, sqsLagSeconds: 2, batchWindowSeconds: 20, batchSize: 10, pollers: 5 };
    const leastWait: Contender = { name: 'least-wait', kind: 'real', policy: POLICY['least-wait'] };
    const stale = simulate({ ...settings, readingAgeSeconds: 30 }, leastWait);
    expect(stale.meanInformationAge).toBeCloseTo(32, 9);
    expect(stale.snapshotsTaken).toBe(stale.executions);
    expect(simulate({ ...settings, readingAgeSeconds: 0 }, leastWait).meanInformationAge).toBeCloseTo(2, 9);
    expect(stale.wait.mean).toBeGreaterThan(simulate({ ...settings, readingAgeSeconds: 0 }, leastWait).wait.mean);
  });
});
