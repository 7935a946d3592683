/** How the default policy treats old readings, and the "dispatched since the snapshot" tally. */
import { describe, expect, it } from 'vitest';
import { dampedCapacity, leastWait, READING_FRESHNESS_SECONDS, regionLoads, type RegionLoad } from '../../core/policy.js';
import { seededRandom } from '../../core/random.js';
import { DispatchedSince, snapshotAgeSeconds, type Snapshot } from '../../core/snapshot.js';

const load = (region: string, backlog: number | undefined, capacity = 1): RegionLoad => ({ region, capacity, backlog });

const shares = (choices: string[], regions: string[]) => regions.map((r) => choices.filter((c) => c === r).length / choices.length);

describe('leastWait with old readings', () => {
  const regions = [load('a', 0), load('b', 10), load('c', 10)];

  it('acts on a fresh reading: one-message executions all avoid the loaded regions', () => {
    const random = seededRandom(7);
    const choices = Array.from({ length: 300 }, () => leastWait(1, { regions, maxQueueDepthThreshold: 5000, random, ageSeconds: 0 })[0] as string);
    // Two choices: "a" wins every pair it is drawn into (2 in 3).
    expect(shares(choices, ['a', 'b', 'c'])[0]).toBeGreaterThan(0.6);
  });

  it('does not herd on a minute-old reading: executions sharing it spread by capacity', () => {
    const random = seededRandom(7);
    const choices = Array.from({ length: 3000 }, () => leastWait(1, { regions, maxQueueDepthThreshold: 5000, random, ageSeconds: 60 })[0] as string);
    // Backlogs 0/10/10 are within noise of each other relative to their mean: nearly the capacity split.
    for (const share of shares(choices, ['a', 'b', 'c'])) expect(share).toBeGreaterThan(0.25);
  });

  it('still steers away from a region far behind the others, even on an old reading', () => {
    const random = seededRandom(3);
    const behind = [load('a', 20), load('b', 20), load('c', 2000)];
    const choices = leastWait(3000, { regions: behind, maxQueueDepthThreshold: 5000, random, ageSeconds: 60 });
    // c waits ~3x the mean: 1 / (1 + 1.94^2) of its capacity weight, under a third of its 1/3 share.
    expect(shares(choices, ['a', 'b', 'c'])[2]).toBeLessThan(0.11);
  });

  it('fades trust with age: 1/e at READING_FRESHNESS_SECONDS', () => {
    const random = seededRandom(11);
    const skewed = [load('a', 0), load('b', 1000), load('c', 1000)];
    // With trust t, "a" gets t (two choices, drawn into a pair 2/3... always wins) plus its damped-capacity share otherwise.
    const fresh = shares(leastWait(4000, { regions: skewed, maxQueueDepthThreshold: 5000, random, ageSeconds: 0 }), ['a'])[0] as number;
    const aged = shares(leastWait(4000, { regions: skewed, maxQueueDepthThreshold: 5000, random, ageSeconds: READING_FRESHNESS_SECONDS * 20 }), ['a'])[0] as number;
    expect(fresh).toBeGreaterThan(aged);
  });
});

describe('dampedCapacity', () => {
  it('keeps the capacity split when waits are equal, and cuts a region far above the mean', () => {
    expect(dampedCapacity([load('a', 10, 2), load('b', 5, 1)])).toEqual([2, 1]);
    const [a, b, c] = dampedCapacity([load('a', 10), load('b', 10), load('c', 100)]);
    expect(a).toBe(1);
    expect(b).toBe(1);
    // c waits 2.5 means above the mean (mean 40): 1 / (1 + 1.5^2).
    expect(c).toBeCloseTo(1 / (1 + 1.5 ** 2));
  });

  it('ignores what was placed since the reading, which inflates every region alike', () => {
    const withSince = regionLoads([{ region: 'a', capacity: 1 }, { region: 'b', capacity: 1 }], [
      { region: 'a', known: true, visible: 10, inFlight: 0, delayed: 0, readAt: 0 },
      { region: 'b', known: true, visible: 10, inFlight: 0, delayed: 0, readAt: 0 },
    ], new Map([['a', 50]]));
    expect(withSince[0]?.backlog).toBe(60);
    expect(dampedCapacity(withSince)).toEqual([1, 1]);
  });
});

describe('snapshot age and the since-snapshot tally', () => {
  const snapshot = (readAt: number): Snapshot => ({
    readings: [
      { region: 'a', known: true, visible: 1, inFlight: 0, delayed: 0, readAt },
      { region: 'b', known: false, error: 'down' },
    ],
    health: [],
  });

  it('measures age from the oldest known reading', () => {
    expect(snapshotAgeSeconds(snapshot(1_000), 31_000)).toBe(30);
    expect(snapshotAgeSeconds({ readings: [{ region: 'b', known: false, error: 'x' }], health: [] }, 5)).toBe(0);
  });

  it('counts placements per region for one snapshot and starts over with the next', () => {
    const tally = new DispatchedSince();
    tally.add(snapshot(1), ['a', 'a', 'b']);
    expect([...tally.for(snapshot(1))]).toEqual([['a', 2], ['b', 1]]);
    expect([...tally.for(snapshot(2))]).toEqual([]);
  });
});
