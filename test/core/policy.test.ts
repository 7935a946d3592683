/**
 * core/policy.ts: the seed's inverse weights (the original system's "The selection algorithm") and the default
 * least-wait policy (the design), driven with seeded randomness so every run replays.
 */
import { describe, expect, it } from 'vitest';
import {
  failoverOrder,
  leastWait,
  POLICY,
  regionLoads,
  seedInverse,
  seedInverseWeights,
  visibleDepth,
  type Policy,
  type PolicyInput,
  type RegionLoad,
} from '../../core/policy.js';
import { seededRandom, type Random } from '../../core/random.js';
import type { Reading } from '../../core/snapshot.js';

const THRESHOLD = 5000;

const region = (name: string, backlog: number | undefined, capacity = 1): RegionLoad => ({ region: name, capacity, backlog });

const input = (regions: RegionLoad[], random: Random = seededRandom(1), maxQueueDepthThreshold = THRESHOLD): PolicyInput => ({
  regions,
  maxQueueDepthThreshold,
  random,
});

function tally(choices: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const choice of choices) counts[choice] = (counts[choice] ?? 0) + 1;
  return counts;
}

const SEEDS = Array.from({ length: 200 }, (_, i) => i + 1);

describe('seedInverseWeights', () => {
  it("reproduces the original system's worked example: depths 10/5/15 -> weights 6/11/1 -> 6/18, 11/18, 1/18", () => {
    const probabilities = seedInverseWeights([10, 5, 15]);
    expect(probabilities).toHaveLength(3);
    expect(probabilities[0]).toBeCloseTo(6 / 18, 12);
    expect(probabilities[1]).toBeCloseTo(11 / 18, 12);
    expect(probabilities[2]).toBeCloseTo(1 / 18, 12);
    // The weights before normalising (total 18).
    expect(probabilities.map((p) => Math.round(p * 18))).toEqual([6, 11, 1]);
    // As the original system prints them.
    expect(probabilities.map((p) => Math.round(p * 100) / 100)).toEqual([0.33, 0.61, 0.06]);
  });

  it('gives equal depths equal probabilities and the deepest queue the floor weight of 1', () => {
    expect(seedInverseWeights([7, 7, 7, 7])).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(seedInverseWeights([0, 0])).toEqual([0.5, 0.5]);
    expect(seedInverseWeights([42])).toEqual([1]);
    // max 100: weights 101, 1, 51 -> total 153.
    const p = seedInverseWeights([0, 100, 50]);
    expect(p.map((x) => x * 153)).toEqual([expect.closeTo(101, 9), expect.closeTo(1, 9), expect.closeTo(51, 9)]);
  });

  it('always sums to 1 with every probability positive', () => {
    const random = seededRandom(7);
    for (let n = 0; n < 100; n++) {
      const depths = Array.from({ length: 1 + Math.floor(random() * 6) }, () => Math.floor(random() * 10_000));
      const p = seedInverseWeights(depths);
      expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      for (const x of p) expect(x).toBeGreaterThan(0);
    }
  });
});

describe('seedInverse', () => {
  const seedRegions = [region('us-east-1', 10), region('us-west-2', 5), region('us-west-1', 15)];

  it("draws in the worked example's proportions (60 000 seeded draws, within 0.01)", () => {
    const draws = 60_000;
    const counts = tally(seedInverse(draws, input(seedRegions, seededRandom(2025))));
    expect((counts['us-east-1'] ?? 0) / draws).toBeCloseTo(6 / 18, 2);
    expect((counts['us-west-2'] ?? 0) / draws).toBeCloseTo(11 / 18, 2);
    expect((counts['us-west-1'] ?? 0) / draws).toBeCloseTo(1 / 18, 2);
    expect(Math.abs((counts['us-west-1'] ?? 0) / draws - 1 / 18)).toBeLessThan(0.01);
  });

  it('replays exactly with the same seed', () => {
    const a = seedInverse(50, input(seedRegions, seededRandom(99)));
    const b = seedInverse(50, input(seedRegions, seededRandom(99)));
    const c = seedInverse(50, input(seedRegions, seededRandom(100)));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('leaves out regions over the threshold and regions without a reading while others remain', () => {
    const regions = [region('us-east-1', 6000), region('us-west-2', undefined), region('us-west-1', 15)];
    expect(new Set(seedInverse(500, input(regions, seededRandom(3))))).toEqual(new Set(['us-west-1']));
  });

  it('reads depth as the original did: visible messages only, not in flight, delayed or placed since', () => {
    // Visible 10/5/15 as in the worked example, with in-flight, delayed and placed-since counts that
    // would reorder the regions if they were counted.
    const readings: Reading[] = [
      { region: 'us-east-1', known: true, visible: 10, inFlight: 100, delayed: 0, readAt: 0 },
      { region: 'us-west-2', known: true, visible: 5, inFlight: 0, delayed: 40, readAt: 0 },
      { region: 'us-west-1', known: true, visible: 15, inFlight: 0, delayed: 0, readAt: 0 },
    ];
    const loads = regionLoads(
      ['us-east-1', 'us-west-2', 'us-west-1'].map((r) => ({ region: r, capacity: 1 })),
      readings,
      new Map([['us-west-1', 7]]),
    );
    expect(loads.map(visibleDepth)).toEqual([10, 5, 15]);
    const draws = 60_000;
    const counts = tally(seedInverse(draws, input(loads, seededRandom(2025))));
    expect(Math.abs((counts['us-east-1'] ?? 0) / draws - 6 / 18)).toBeLessThan(0.01);
    expect(Math.abs((counts['us-west-2'] ?? 0) / draws - 11 / 18)).toBeLessThan(0.01);
    expect(Math.abs((counts['us-west-1'] ?? 0) / draws - 1 / 18)).toBeLessThan(0.01);
  });

  it('applies the threshold to the visible depth: a region busy with 6000 in flight but 10 waiting stays eligible', () => {
    const loads = regionLoads(
      [{ region: 'busy', capacity: 1 }, { region: 'deep', capacity: 1 }],
      [
        { region: 'busy', known: true, visible: 10, inFlight: 6000, delayed: 0, readAt: 0 },
        { region: 'deep', known: true, visible: 5000, inFlight: 0, delayed: 0, readAt: 0 },
      ],
    );
    expect(new Set(seedInverse(200, input(loads, seededRandom(4))))).toEqual(new Set(['busy']));
  });
});

describe('leastWait', () => {
  it('spreads a batch over two empty equal regions evenly: every prefix differs by at most one', () => {
    for (const seed of SEEDS) {
      const choices = leastWait(21, input([region('a', 0), region('b', 0)], seededRandom(seed)));
      let a = 0;
      let b = 0;
      for (const choice of choices) {
        if (choice === 'a') a++;
        else b++;
        expect(Math.abs(a - b), `seed ${seed}: ${choices.join(',')}`).toBeLessThanOrEqual(1);
      }
    }
  });

  it('counts each assignment: over three empty equal regions a batch of 30 never leaves a gap above 3', () => {
    // Without counting, 30 independent uniform draws over 3 regions differ by more than 3 most of the time.
    for (const seed of SEEDS) {
      const choices = leastWait(30, input([region('a', 0), region('b', 0), region('c', 0)], seededRandom(seed)));
      const counts = ['a', 'b', 'c'].map((r) => tally(choices)[r] ?? 0);
      expect(Math.max(...counts) - Math.min(...counts), `seed ${seed}: ${counts.join('/')}`).toBeLessThanOrEqual(3);
      // The second message never joins the first one's region while two others are empty.
      expect(choices[1]).not.toBe(choices[0]);
    }
  });

  it('respects capacity ratios: capacity 2:1:1 gets about 2:1:1 of a batch', () => {
    for (const seed of SEEDS.slice(0, 20)) {
      const counts = tally(leastWait(400, input([region('a', 0, 2), region('b', 0, 1), region('c', 0, 1)], seededRandom(seed))));
      expect((counts.a ?? 0) / 400).toBeGreaterThan(0.45);
      expect((counts.a ?? 0) / 400).toBeLessThan(0.55);
      for (const r of ['b', 'c']) {
        expect((counts[r] ?? 0) / 400).toBeGreaterThan(0.2);
        expect((counts[r] ?? 0) / 400).toBeLessThan(0.3);
      }
    }
  });

  it('prefers the less loaded region until the loads meet: backlogs 0 and 5 with 7 messages -> 6 and 1', () => {
    for (const seed of SEEDS) {
      const choices = leastWait(7, input([region('a', 0), region('b', 5)], seededRandom(seed)));
      // The first five all go to a (waits 1..5 against 6); then the two regions are level.
      expect(choices.slice(0, 5)).toEqual(['a', 'a', 'a', 'a', 'a']);
      expect(tally(choices)).toEqual({ a: 6, b: 1 });
    }
  });

  it('compares waits per unit of capacity, not raw depths', () => {
    // a: 10 deep at capacity 4 waits (10+1)/4; b: 4 deep at capacity 1 waits 5.
    for (const seed of SEEDS.slice(0, 50)) {
      expect(leastWait(1, input([region('a', 10, 4), region('b', 4, 1)], seededRandom(seed)))).toEqual(['a']);
    }
  });

  it('leaves out regions without a reading while others exist', () => {
    const regions = [region('us-east-1', 900), region('us-west-2', undefined, 10), region('us-west-1', 1200)];
    for (const seed of SEEDS.slice(0, 50)) {
      const choices = leastWait(40, input(regions, seededRandom(seed)));
      expect(choices).toHaveLength(40);
      expect(choices).not.toContain('us-west-2');
    }
  });

  it('leaves out regions at or over the threshold, even when their wait per capacity is the shortest', () => {
    // us-east-1 holds 6000 but at capacity 1000 waits 6 per message; us-west-1 sits exactly at the threshold.
    const regions = [region('us-east-1', 6000, 1000), region('us-west-2', 4000, 1), region('us-west-1', THRESHOLD, 1000)];
    for (const seed of SEEDS.slice(0, 50)) {
      expect(new Set(leastWait(30, input(regions, seededRandom(seed))))).toEqual(new Set(['us-west-2']));
    }
  });

  it('still places every message when every region is over the threshold, least loaded per unit of capacity winning most', () => {
    // Per unit of capacity: a 6000, b 9000, c 4000.
    const regions = [region('a', 6000, 1), region('b', 9000, 1), region('c', 12_000, 3)];
    for (const seed of SEEDS.slice(0, 50)) {
      const choices = leastWait(100, input(regions, seededRandom(seed)));
      expect(choices).toHaveLength(100);
      const counts = tally(choices);
      expect(counts.c ?? 0).toBeGreaterThan(50);
      expect(counts.c ?? 0).toBeGreaterThan(counts.a ?? 0);
      expect(counts.b ?? 0).toBe(0);
    }
  });

  it('prefers an overloaded region that was read over one that could not be read', () => {
    const choices = leastWait(20, input([region('a', 8000), region('b', undefined)], seededRandom(5)));
    expect(choices).toEqual(Array(20).fill('a'));
  });

  it('uses every region when none could be read', () => {
    const choices = leastWait(60, input([region('a', undefined), region('b', undefined), region('c', undefined)], seededRandom(5)));
    expect(choices).toHaveLength(60);
    expect(new Set(choices)).toEqual(new Set(['a', 'b', 'c']));
  });

  it('breaks ties at random: many single-message executions on one snapshot of equal regions spread out', () => {
    // Always taking the first of equal regions would send all 300 to the same one.
    const random = seededRandom(11);
    const regions = [region('a', 100), region('b', 100), region('c', 100)];
    const counts = tally(Array.from({ length: 300 }, () => leastWait(1, input(regions, random))[0] as string));
    for (const r of ['a', 'b', 'c']) {
      expect(counts[r] ?? 0).toBeGreaterThan(60);
      expect(counts[r] ?? 0).toBeLessThan(140);
    }
  });

  it("trusts a region's in-flight count over its configured capacity once messages wait there", () => {
    // "slow" is configured for 4 workers but only 2 are busy with 4 waiting: it has 2. Per capacity it
    // would look shortest ((6 + 1 - 4) / 4); per its real workers it waits (6 + 1 - 2) / 2 = 2.5 > 2.
    const regions: RegionLoad[] = [
      { region: 'slow', capacity: 4, backlog: 6, inFlight: 2 },
      { region: 'fast', capacity: 1, backlog: 2, inFlight: 1 },
    ];
    for (const seed of SEEDS.slice(0, 50)) expect(leastWait(1, input(regions, seededRandom(seed)))).toEqual(['fast']);
  });

  it('fills idle workers first: a region with free workers takes messages before a busy one with an empty queue', () => {
    // Both 2 workers (2 in flight at capacity 2 sets the scale): "idle" has 2 free, "busy" none.
    const regions: RegionLoad[] = [
      { region: 'busy', capacity: 2, backlog: 2, inFlight: 2 },
      { region: 'idle', capacity: 2, backlog: 0 },
    ];
    for (const seed of SEEDS.slice(0, 50)) {
      const choices = leastWait(4, input(regions, seededRandom(seed)));
      expect(choices.slice(0, 2)).toEqual(['idle', 'idle']);
      // Then both are full with nothing waiting: one each.
      expect(tally(choices)).toEqual({ idle: 3, busy: 1 });
    }
  });

  it('returns nothing for zero messages and everything to a single region', () => {
    expect(leastWait(0, input([region('a', 0), region('b', 0)]))).toEqual([]);
    expect(leastWait(5, input([region('only', 9000)]))).toEqual(Array(5).fill('only'));
  });

  it('replays exactly with the same seed', () => {
    const regions = [region('a', 3), region('b', 1, 2), region('c', 0)];
    expect(leastWait(40, input(regions, seededRandom(8)))).toEqual(leastWait(40, input(regions, seededRandom(8))));
  });
});

describe('both policies, property-style (seeded random inputs)', () => {
  /** What the design says a policy may choose from. */
  function eligibleRegions(regions: readonly RegionLoad[], threshold: number): Set<string> {
    const read = regions.filter((r) => r.backlog !== undefined);
    const under = read.filter((r) => (r.backlog as number) < threshold);
    return new Set((under.length ? under : read.length ? read : regions).map((r) => r.region));
  }

  const NAMES = ['us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-south-1'];

  for (const [name, policy] of Object.entries(POLICY) as [string, Policy][]) {
    it(`${name}: returns exactly count choices, each among the eligible configured regions`, () => {
      const gen = seededRandom(20251202);
      for (let run = 0; run < 400; run++) {
        const threshold = 1 + Math.floor(gen() * 200);
        const n = 1 + Math.floor(gen() * NAMES.length);
        const regions = NAMES.slice(0, n).map((r) =>
          region(
            r,
            gen() < 0.2 ? undefined : Math.floor(gen() * 300),
            gen() < 0.5 ? 1 : Math.round((0.1 + gen() * 9.9) * 10) / 10,
          ),
        );
        const count = Math.floor(gen() * 40);
        const choices = policy(count, input(regions, seededRandom(run), threshold));
        expect(choices).toHaveLength(count);
        const allowed = eligibleRegions(regions, threshold);
        const strays = choices.filter((choice) => !allowed.has(choice));
        expect(strays, `not eligible in ${JSON.stringify(regions)} (threshold ${threshold})`).toEqual([]);
      }
    });
  }

  it('POLICY maps the configured names to the two policies', () => {
    expect(POLICY['least-wait']).toBe(leastWait);
    expect(POLICY['seed-inverse']).toBe(seedInverse);
  });
});

describe('regionLoads', () => {
  const known = (r: string, visible: number, inFlight: number, delayed: number): Reading => ({
    region: r,
    known: true,
    visible,
    inFlight,
    delayed,
    readAt: 1_764_670_980_000,
  });

  it('joins configured regions, in configured order, with backlog = visible + in flight + delayed, and the in-flight and delayed parts', () => {
    const loads = regionLoads(
      [
        { region: 'us-east-1', capacity: 1 },
        { region: 'us-west-2', capacity: 2 },
        { region: 'us-west-1', capacity: 0.5 },
      ],
      [
        known('us-west-1', 1, 2, 3),
        { region: 'us-west-2', known: false, error: 'AccessDenied' },
        known('us-east-1', 10, 20, 30),
        known('eu-west-1', 1000, 0, 0),
      ],
    );
    expect(loads).toEqual([
      { region: 'us-east-1', capacity: 1, backlog: 60, inFlight: 20, delayed: 30 },
      { region: 'us-west-2', capacity: 2, backlog: undefined },
      { region: 'us-west-1', capacity: 0.5, backlog: 6, inFlight: 2, delayed: 3 },
    ]);
  });

  it('adds what was placed since the reading to the backlog, and leaves out parts that are zero', () => {
    const loads = regionLoads([{ region: 'a', capacity: 1 }, { region: 'b', capacity: 1 }], [known('a', 4, 0, 0), known('b', 0, 3, 0)], new Map([['a', 2]]));
    expect(loads).toEqual([
      { region: 'a', capacity: 1, backlog: 6, placedSince: 2 },
      { region: 'b', capacity: 1, backlog: 3, inFlight: 3 },
    ]);
    expect(loads.map(visibleDepth)).toEqual([4, 0]);
  });

  it('counts a configured region missing from the snapshot as unread', () => {
    expect(regionLoads([{ region: 'us-east-1', capacity: 1 }], [])).toEqual([{ region: 'us-east-1', capacity: 1, backlog: undefined }]);
  });

  it('reads an empty queue as backlog 0, not as unread', () => {
    expect(regionLoads([{ region: 'us-east-1', capacity: 1 }], [known('us-east-1', 0, 0, 0)])[0]?.backlog).toBe(0);
  });
});

describe('failoverOrder', () => {
  it('orders read regions by backlog per unit of capacity, then unread ones', () => {
    expect(
      failoverOrder([
        region('unread-1', undefined),
        region('busy', 900, 1),
        region('big', 900, 10),
        region('idle', 0, 1),
        region('unread-2', undefined, 100),
      ]),
    ).toEqual(['idle', 'big', 'busy', 'unread-1', 'unread-2']);
  });

  it('keeps configured order among equals and does not modify its input', () => {
    const regions = [region('c', 5), region('a', 5), region('b', 5)];
    const copy = structuredClone(regions);
    expect(failoverOrder(regions)).toEqual(['c', 'a', 'b']);
    expect(regions).toEqual(copy);
  });
});
