import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../core/random.js';
import { INTAKE_SUBSCRIPTION } from '../../../stacks/settings.js';
import { batchingDelaySeconds, batchSizeDistribution, DEPLOYED_BATCHING, EventSourceBatcher, meanBatch, type BatchingSettings } from '../../../tools/bench/batching.js';
import * as costModel from '../../../tools/bench/cost/model.js';
import { DEPLOYED } from '../../../tools/bench/sim/scenarios.js';

/** Simulates the event source on a Poisson stream; returns the batches' sizes and each message's batching delay. */
function simulateBatches(settings: BatchingSettings, ratePerSecond: number, messages: number, seed = 7) {
  const random = seededRandom(seed);
  const sizes: number[] = [];
  const delays: number[] = [];
  let last = Number.NEGATIVE_INFINITY;
  const batcher = new EventSourceBatcher(settings, (closedAt, arrivals) => {
    expect(closedAt).toBeGreaterThanOrEqual(last);
    last = closedAt;
    expect(arrivals.length).toBeLessThanOrEqual(settings.maxBatch);
    expect(closedAt - (arrivals[0] as number)).toBeLessThanOrEqual(settings.windowSeconds + 1e-9);
    sizes.push(arrivals.length);
    for (const a of arrivals) delays.push(closedAt - a);
  });
  let t = 0;
  for (let i = 0; i < messages; i++) {
    t += -Math.log(1 - random()) / ratePerSecond;
    batcher.add(t, Math.floor(random() * settings.pollers));
  }
  batcher.flush();
  return { sizes, delays };
}

describe('the shared batching model', () => {
  it('takes the window, batch size and pollers from the deployment, for both benches', () => {
    expect(DEPLOYED_BATCHING.windowSeconds).toBe(INTAKE_SUBSCRIPTION.maximumBatchingWindowInSeconds);
    expect(DEPLOYED_BATCHING.maxBatch).toBe(INTAKE_SUBSCRIPTION.batchSize);
    expect(DEPLOYED_BATCHING.pollers).toBe(5); // maximumConcurrency is set: 5 pollers at low traffic
    expect(DEPLOYED.batchWindowSeconds).toBe(DEPLOYED_BATCHING.windowSeconds);
    expect(DEPLOYED.batchSize).toBe(DEPLOYED_BATCHING.maxBatch);
    expect(DEPLOYED.pollers).toBe(DEPLOYED_BATCHING.pollers);
  });

  it('is the one the cost model prices (re-exported, the same functions)', () => {
    expect(costModel.batchSizeDistribution).toBe(batchSizeDistribution);
    expect(costModel.batchingDelaySeconds).toBe(batchingDelaySeconds);
  });

  for (const [rate, pollers] of [
    [1.16, 5], // about 100,000 a day over the deployed 5 pollers
    [0.35, 5], // the placement fleet at 50%
    [2, 1],
  ] as const) {
    it(`simulated batches match the formulas: ${rate} messages/s, ${pollers} pollers, deployed window`, () => {
      const settings = { ...DEPLOYED_BATCHING, pollers };
      const input = { ...settings, ratePerSecond: rate };
      const { sizes, delays } = simulateBatches(settings, rate, 100_000);
      const simulatedMean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
      expect(simulatedMean).toBeCloseTo(meanBatch(batchSizeDistribution(input)), 1);
      const p = batchSizeDistribution(input);
      const full = sizes.filter((k) => k === settings.maxBatch).length / sizes.length;
      expect(Math.abs(full - (p[settings.maxBatch - 1] as number))).toBeLessThan(0.01);
      const meanDelay = delays.reduce((a, b) => a + b, 0) / delays.length;
      expect(meanDelay / batchingDelaySeconds(input).mean).toBeGreaterThan(0.98);
      expect(meanDelay / batchingDelaySeconds(input).mean).toBeLessThan(1.02);
      expect(Math.max(...delays)).toBeLessThanOrEqual(settings.windowSeconds + 1e-9);
    });
  }

  it('with a window of 0 sends every message alone, at its arrival', () => {
    const { sizes, delays } = simulateBatches({ windowSeconds: 0, maxBatch: 10, pollers: 1 }, 1, 1000);
    expect(new Set(sizes)).toEqual(new Set([1]));
    expect(Math.max(...delays)).toBe(0);
  });
});
