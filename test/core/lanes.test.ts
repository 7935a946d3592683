/** Priority lanes (core/lanes.ts): which lane a request takes, a worker's lane order, and where a high request is placed. */
import { describe, expect, it } from 'vitest';
import { afterTake, FIRST_TURN, highLaneKey, laneLoads, laneOf, pollOrder, STARVATION_LIMIT, type Lane, type LaneTurn } from '../../core/lanes.js';
import type { Envelope } from '../../core/placement.js';
import { leastWait, type RegionLoad } from '../../core/policy.js';
import { seededRandom } from '../../core/random.js';
import { selectRegions } from '../../core/select.js';
import type { Snapshot } from '../../core/snapshot.js';
import { regionKey } from '../../core/topology.js';

describe('laneOf', () => {
  it('puts high requests in the high lane and normal and low ones together', () => {
    expect([laneOf('high'), laneOf('normal'), laneOf('low')]).toEqual(['high', 'normal', 'normal']);
  });
});

describe("a worker's lane order", () => {
  /** A busy worker's takes when both lanes always have work. */
  const takes = (n: number, limit = STARVATION_LIMIT) => {
    let turn: LaneTurn = FIRST_TURN;
    const taken: Lane[] = [];
    for (let i = 0; i < n; i++) {
      const lane = pollOrder(turn, limit)[0] as Lane;
      taken.push(lane);
      turn = afterTake(turn, lane);
    }
    return taken;
  };

  it('takes the high lane first', () => {
    expect(pollOrder(FIRST_TURN)).toEqual(['high', 'normal']);
  });

  it(`gives the normal lane 1 in ${STARVATION_LIMIT + 1} turns when both always have work`, () => {
    const taken = takes(50);
    expect(taken.slice(0, STARVATION_LIMIT + 1)).toEqual([...Array(STARVATION_LIMIT).fill('high'), 'normal']);
    expect(taken.filter((l) => l === 'normal')).toHaveLength(10);
  });

  it('starves the normal lane without the guard (limit Infinity): what the guard prevents', () => {
    expect(takes(50, Infinity).includes('normal')).toBe(false);
  });

  it('asks the normal lane first after the limit; a high message taken then (normal empty) keeps it first', () => {
    let turn = FIRST_TURN;
    for (let i = 0; i < STARVATION_LIMIT; i++) turn = afterTake(turn, 'high');
    expect(pollOrder(turn)).toEqual(['normal', 'high']);
    expect(pollOrder(afterTake(turn, 'high'))).toEqual(['normal', 'high']);
    expect(pollOrder(afterTake(turn, 'normal'))).toEqual(['high', 'normal']);
  });
});

/** Region a: 10 workers all busy and 50 normal messages waiting; region b: 1 worker busy, nothing waiting. */
const combined: RegionLoad[] = [
  { region: 'a', capacity: 10, backlog: 60, inFlight: 10 },
  { region: 'b', capacity: 1, backlog: 1, inFlight: 1 },
];

describe('laneLoads', () => {
  it('shows a high message what is in flight and the high lane, over the workers of the combined view', () => {
    const high = new Map([
      ['a', { waiting: 0, placedSince: 0 }],
      ['b', { waiting: 0, placedSince: 0 }],
    ]);
    const loads = laneLoads(combined, high, 'high');
    expect(loads.map((l) => [l.region, l.backlog, l.workers])).toEqual([
      ['a', 10, 10],
      ['b', 1, 1],
    ]);
    expect(laneLoads(combined, high, 'normal')).toEqual(combined);
  });

  it('counts a region without a high lane as a high message would find it: behind everything', () => {
    const loads = laneLoads(combined, new Map([['b', { waiting: 0, placedSince: 0 }]]), 'high');
    expect(loads[0]?.backlog).toBe(60);
  });

  it('places a high request where the high lane is shortest, a normal one where everything queued is', () => {
    const random = seededRandom(1);
    const high = new Map([
      ['a', { waiting: 0, placedSince: 0 }],
      ['b', { waiting: 0, placedSince: 0 }],
    ]);
    const input = { maxQueueDepthThreshold: 5000, random };
    // A high request: a's next free worker (1 of 10) beats b's only one.
    expect(leastWait(1, { ...input, regions: laneLoads(combined, high, 'high') })).toEqual(['a']);
    // A normal request waits behind a's 50: b is sooner.
    expect(leastWait(1, { ...input, regions: combined })).toEqual(['b']);
  });
});

describe('selectRegions with high lanes', () => {
  const snapshot: Snapshot = {
    readings: [
      { region: 'a', known: true, visible: 50, inFlight: 10, delayed: 0, high: { visible: 0, inFlight: 2, delayed: 0 }, readAt: 1 },
      { region: 'b', known: true, visible: 0, inFlight: 1, delayed: 0, high: { visible: 0, inFlight: 0, delayed: 0 }, readAt: 1 },
    ],
    health: [],
  };
  const message = (id: string, priority: Envelope['priority']): Envelope => ({ messageId: id, requestId: id, body: '{}', priority });
  const select = (regions: Array<{ region: string; capacity: number; queueUrl: string; highQueueUrl?: string }>, dispatchedSince = new Map<string, number>()) =>
    selectRegions(
      {
        batchId: 'b',
        executionName: 'e',
        messages: [message('n1', 'normal'), message('h1', 'high'), message('l1', 'low')],
        claims: ['n1', 'h1', 'l1'].map((messageId) => ({ messageId, claim: 'claimed' as const })),
        snapshot,
      } as never,
      { regions, maxQueueDepthThreshold: 5000, policy: leastWait, random: seededRandom(3), dispatchedSince },
    );
  const placed = (output: ReturnType<typeof select>) =>
    Object.fromEntries(Object.entries(output.assignments).flatMap(([key, list]) => list.map((p) => [p.messageId, key])));

  it('sends the high request to the region whose next free worker is soonest, the others behind the shortest backlog', () => {
    const output = select([
      { region: 'a', capacity: 10, queueUrl: 'https://q/a', highQueueUrl: 'https://q/a-high' },
      { region: 'b', capacity: 1, queueUrl: 'https://q/b', highQueueUrl: 'https://q/b-high' },
    ]);
    expect(placed(output)).toEqual({ h1: regionKey('a'), n1: regionKey('b'), l1: regionKey('b') });
  });

  it('without high lanes, places every request by everything queued, as before lanes', () => {
    const output = select([
      { region: 'a', capacity: 10, queueUrl: 'https://q/a' },
      { region: 'b', capacity: 1, queueUrl: 'https://q/b' },
    ]);
    expect(placed(output).h1).toBe(regionKey('b'));
  });

  it("counts this container's earlier high placements in the high lane", () => {
    // 12 high messages placed in a since the reading: a's high lane is now longer than b's whole wait.
    const output = select(
      [
        { region: 'a', capacity: 10, queueUrl: 'https://q/a', highQueueUrl: 'https://q/a-high' },
        { region: 'b', capacity: 1, queueUrl: 'https://q/b', highQueueUrl: 'https://q/b-high' },
      ],
      new Map([
        ['a', 12],
        [highLaneKey('a'), 12],
      ]),
    );
    expect(placed(output).h1).toBe(regionKey('b'));
  });
});
