/**
 * How the default policy treats old readings (unseen placements, water-filling), how it reads workers off
 * a reading, and the snapshot helpers (age, the "dispatched since the snapshot" tally).
 */
import { describe, expect, it } from 'vitest';
import {
  estimateWorkers,
  HERD_THRESHOLD,
  leastWait,
  READING_LAG_SECONDS,
  SERVICE_SECONDS,
  unseenArrivals,
  waterFill,
  type PolicyInput,
  type RegionLoad,
} from '../../core/policy.js';
import { seededRandom } from '../../core/random.js';
import { selectRegions } from '../../core/select.js';
import { DispatchedSince, snapshotAgeSeconds, type Snapshot } from '../../core/snapshot.js';
import { SQS_BATCH_SIZE } from '../../core/topology.js';

const shares = (choices: string[], regions: string[]) => regions.map((r) => choices.filter((c) => c === r).length / choices.length);

/** a: 4 workers all busy, nothing waiting; b and c: 4 busy and 8 waiting each (2 requests per worker ahead). */
const READ: RegionLoad[] = [
  { region: 'a', capacity: 4, backlog: 4, inFlight: 4 },
  { region: 'b', capacity: 4, backlog: 12, inFlight: 4 },
  { region: 'c', capacity: 4, backlog: 12, inFlight: 4 },
];
const at = (ageSeconds: number, regions: RegionLoad[] = READ, extra: Partial<PolicyInput> = {}): PolicyInput => ({
  regions,
  maxQueueDepthThreshold: 5000,
  random: seededRandom(7),
  ageSeconds,
  ...extra,
});

describe('unseenArrivals', () => {
  it('is arrivals per second (busy workers / seconds per request) x (age + SQS lag), less this container\'s own placements', () => {
    const workers = estimateWorkers(READ);
    expect(READING_LAG_SECONDS).toBe(2);
    expect(SERVICE_SECONDS).toBe(10);
    // 12 busy / 10 s x (3 + 2) s.
    expect(unseenArrivals(READ, workers, at(3))).toBeCloseTo(6, 9);
    expect(unseenArrivals(READ, workers, at(3, READ, { readingLagSeconds: 7 }))).toBeCloseTo(12, 9);
    expect(unseenArrivals(READ, workers, at(3, READ, { serviceSeconds: 60 }))).toBeCloseTo(1, 9);
    const placed = READ.map((r) => ({ ...r, backlog: (r.backlog as number) + 2, placedSince: 2 }));
    expect(unseenArrivals(placed, estimateWorkers(placed), at(3))).toBeCloseTo(0, 9);
  });

  it('is zero without in-flight counts (no arrival rate to go by)', () => {
    const plain: RegionLoad[] = [{ region: 'a', capacity: 1, backlog: 50 }, { region: 'b', capacity: 1, backlog: 0 }];
    expect(unseenArrivals(plain, estimateWorkers(plain), at(600))).toBe(0);
  });
});

describe('leastWait with old readings', () => {
  it('on a fresh reading the shortest wait takes every one-message execution', () => {
    const input = at(0);
    expect(unseenArrivals(READ, estimateWorkers(READ), input)).toBeLessThan(HERD_THRESHOLD);
    const choices = Array.from({ length: 300 }, () => leastWait(1, input)[0] as string);
    expect(shares(choices, ['a'])[0]).toBe(1);
  });

  it('on a minute-old reading it does not herd: the water-filled shares of the unseen placements, not everything to the shortest', () => {
    const input = at(60);
    const workers = estimateWorkers(READ);
    const unseen = unseenArrivals(READ, workers, input);
    // 12 busy / 10 s x 62 s = 74.4 unseen: a fills from level 0 to 2 (8 messages), then all three rise together.
    expect(unseen).toBeCloseTo(74.4, 9);
    const fill = waterFill([4, 12, 12], workers, unseen + 1);
    const expected = fill.map((f) => f / (unseen + 1));
    expect(expected[0]).toBeCloseTo(0.4, 1);
    const got = shares(Array.from({ length: 6000 }, () => leastWait(1, input)[0] as string), ['a', 'b', 'c']);
    got.forEach((share, i) => expect(Math.abs(share - (expected[i] as number))).toBeLessThan(0.02));
    expect(got[0]).toBeLessThan(0.5);
  });

  it("goes back to the shortest wait once its own placements account for what arrived since the reading", () => {
    // 74.4 arrivals expected since the reading, 70 of them placed by this container: 4.4 unseen.
    const placed: RegionLoad[] = READ.map((r, i) => ({ ...r, backlog: (r.backlog as number) + [30, 20, 20][i]!, placedSince: [30, 20, 20][i]! }));
    const input = at(60, placed);
    expect(unseenArrivals(placed, estimateWorkers(placed), input)).toBeLessThan(HERD_THRESHOLD);
    // a now holds 4 + 30 for 4 workers (wait 7.75), b and c 12 + 20 (wait 7.25): b or c.
    const choices = Array.from({ length: 200 }, () => leastWait(1, input)[0] as string);
    expect(choices).not.toContain('a');
  });

  it('herds from one full batch of unseen placements on', () => {
    expect(HERD_THRESHOLD).toBe(SQS_BATCH_SIZE);
    // Told a longer SQS lag, the same 3 s old reading stops being acted on outright.
    const near = at(3);
    const far = at(3, READ, { readingLagSeconds: 30 });
    expect(new Set(Array.from({ length: 300 }, () => leastWait(1, near)[0]))).toEqual(new Set(['a']));
    expect(new Set(Array.from({ length: 300 }, () => leastWait(1, far)[0]))).toEqual(new Set(['a', 'b', 'c']));
  });
});

describe('waterFill', () => {
  it('fills the lowest per-worker level first, then every level together', () => {
    // Levels (n - workers) / workers: 0, 2, 2.
    expect(waterFill([4, 12, 12], [4, 4, 4], 8)).toEqual([8, 0, 0]);
    expect(waterFill([4, 12, 12], [4, 4, 4], 20)).toEqual([12, 4, 4]);
    // Idle workers (a level below 0) are filled before any queue.
    expect(waterFill([1, 4], [4, 4], 3)).toEqual([3, 0]);
  });

  it('always hands out exactly the budget, never a negative amount (seeded random inputs)', () => {
    const gen = seededRandom(99);
    for (let run = 0; run < 500; run++) {
      const n = 1 + Math.floor(gen() * 5);
      const load = Array.from({ length: n }, () => Math.floor(gen() * 50));
      const workers = Array.from({ length: n }, () => 0.5 + gen() * 10);
      const budget = 1 + gen() * 100;
      const fill = waterFill(load, workers, budget);
      expect(fill.reduce((a, b) => a + b, 0)).toBeCloseTo(budget, 6);
      for (const f of fill) expect(f).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('estimateWorkers', () => {
  it('reads a region with messages waiting as having exactly its in-flight count of workers', () => {
    expect(estimateWorkers([{ region: 'a', capacity: 4, backlog: 6, inFlight: 2 }, { region: 'b', capacity: 1, backlog: 0 }])).toEqual([2, 0.5]);
  });

  it('scales capacity by the busiest share when nothing waits, and never counts fewer workers than in flight', () => {
    // 3 in flight at capacity 1 is the largest share: 3 workers per unit of capacity at least.
    expect(estimateWorkers([{ region: 'a', capacity: 1, backlog: 3, inFlight: 3 }, { region: 'b', capacity: 2, backlog: 1, inFlight: 1 }])).toEqual([3, 6]);
  });

  it('falls back to the configured capacity when nothing is in flight', () => {
    expect(estimateWorkers([{ region: 'a', capacity: 2, backlog: 9 }, { region: 'b', capacity: 0.5, backlog: undefined }])).toEqual([2, 0.5]);
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

describe('selectRegions passes the optional hints through to the policy', () => {
  it('gives readingLagSeconds and serviceSeconds when set, and leaves them out otherwise', () => {
    const seen: PolicyInput[] = [];
    const policy = (count: number, input: PolicyInput) => {
      seen.push(input);
      return Array.from({ length: count }, () => 'us-east-1');
    };
    const message = { messageId: 'm1', requestId: 'r1', body: '{}', priority: 'normal' as const };
    const selectInput = {
      batchId: 'b1',
      executionName: 'b1',
      messages: [message],
      claims: [{ messageId: 'm1', claim: 'claimed' as const }],
      snapshot: { readings: [{ region: 'us-east-1', known: true as const, visible: 0, inFlight: 0, delayed: 0, readAt: 0 }], health: [] },
    };
    const settings = { regions: [{ region: 'us-east-1', queueUrl: 'https://sqs.us-east-1.amazonaws.com/1/q', capacity: 1 }], maxQueueDepthThreshold: 5000, policy, random: seededRandom(1) };
    selectRegions(selectInput, settings);
    selectRegions(selectInput, { ...settings, readingLagSeconds: 7, serviceSeconds: 45 });
    expect(seen[0]).not.toHaveProperty('readingLagSeconds');
    expect(seen[0]).not.toHaveProperty('serviceSeconds');
    expect(seen[1]).toMatchObject({ readingLagSeconds: 7, serviceSeconds: 45 });
  });
});
