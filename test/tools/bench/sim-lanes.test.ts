/**
 * The priority-lane simulation (tools/bench/sim/fleet-model.ts, lane-region.ts, lane-placement.ts): the
 * workers' lane order and starvation guard (core/lanes.ts driven, not copied), per-lane readings, the
 * placement of a mixed batch, agreement with tools/bench/sim/model.ts, and what lanes do to waits. Small
 * seeded runs; no wall-clock assertion.
 */
import { describe, expect, it } from 'vitest';
import { STARVATION_LIMIT, type Lane } from '../../../core/lanes.js';
import { POLICY } from '../../../core/policy.js';
import { simulate } from '../../../tools/bench/sim/model.js';
import { EventQueue } from '../../../tools/bench/sim/events.js';
import { CountLog } from '../../../tools/bench/sim/lane-counts.js';
import { placeBatch, type DispatcherView } from '../../../tools/bench/sim/lane-placement.js';
import { LaneRegion, type RegionMessage } from '../../../tools/bench/sim/lane-region.js';
import { ALL_NORMAL, simulateFleet } from '../../../tools/bench/sim/fleet-model.js';
import { waitSummary } from '../../../tools/bench/sim/fleet-waits.js';
import { DEFAULT_MIX, LEAST_WAIT, laneRunSettings, type LaneRunOptions } from '../../../tools/bench/sim/lane-scenarios.js';
import { SCENARIOS, settingsFor } from '../../../tools/bench/sim/scenarios.js';

/** One worker, 10 s per message; a normal message starts at once, then `high` high and `normal` normal ones queue behind it. */
function takeOrder(limit: number, high: number, normal: number): string {
  const events = new EventQueue();
  const order: Lane[] = [];
  const region = new LaneRegion({ workers: 1, meanServiceSeconds: 10, starvationLimit: limit, events, onStart: (m) => order.push(m.lane) });
  let id = 0;
  const message = (lane: Lane): RegionMessage => ({ id: id++, lane, size: 1 });
  region.enqueue(message('normal'), 0);
  for (let k = 0; k < high; k++) region.enqueue(message('high'), 0);
  for (let k = 0; k < normal; k++) region.enqueue(message('normal'), 0);
  events.runUntil(Number.POSITIVE_INFINITY);
  return order.map((lane) => (lane === 'high' ? 'H' : 'N')).join('');
}

const RUN: Omit<LaneRunOptions, 'load' | 'mix'> = { seed: 1, durationSeconds: 40_000, dispatchers: 2, sqsLagSeconds: 2 };

describe("the simulated workers' lanes (core/lanes.ts pollOrder/afterTake)", () => {
  it('take the high lane first and, after STARVATION_LIMIT high in a row while normal work waits, one normal', () => {
    expect(STARVATION_LIMIT).toBe(4);
    expect(takeOrder(4, 10, 3)).toBe('N' + 'HHHH' + 'N' + 'HHHH' + 'N' + 'HH' + 'N');
    expect(takeOrder(2, 5, 3)).toBe('N' + 'HH' + 'N' + 'HH' + 'N' + 'H' + 'N');
  });

  it('with no guard (limit Infinity) take every high message before any normal one', () => {
    expect(takeOrder(Number.POSITIVE_INFINITY, 10, 3)).toBe('N' + 'H'.repeat(10) + 'NNN');
  });

  it('take from the other lane when the first is empty: no worker idles with work queued', () => {
    // At the limit with no normal work, high messages keep flowing; with only normal work, it flows too.
    expect(takeOrder(4, 9, 0)).toBe('N' + 'H'.repeat(9));
    expect(takeOrder(4, 0, 5)).toBe('N'.repeat(6));
  });
});

describe('per-lane readings', () => {
  it('show each lane waiting and in flight as it was at the time asked', () => {
    const events = new EventQueue();
    const region = new LaneRegion({ workers: 1, meanServiceSeconds: 10, events });
    const reader = region.log.reader();
    region.enqueue({ id: 0, lane: 'normal', size: 1 }, 0);
    region.enqueue({ id: 1, lane: 'high', size: 1 }, 1);
    region.enqueue({ id: 2, lane: 'normal', size: 1 }, 2);
    events.runUntil(15);
    expect(reader.at(2)).toEqual({ high: { visible: 1, inFlight: 0 }, normal: { visible: 1, inFlight: 1 } });
    // At 10 the normal message ended and the worker took the high one.
    expect(reader.at(12)).toEqual({ high: { visible: 0, inFlight: 1 }, normal: { visible: 1, inFlight: 0 } });
    expect(() => reader.at(11)).toThrow(/after/);
    const log = new CountLog();
    log.record(5, 'high', 'enqueue');
    expect(() => log.record(4, 'high', 'start')).toThrow(/backwards/);
  });
});

describe('placing a mixed batch (core/lanes.ts laneLoads + least-wait)', () => {
  // a: 4 workers busy and 20 normal messages waiting; b: its one worker busy, nothing waiting.
  const view = (): DispatcherView => ({
    readings: [
      { region: 'a', counts: { high: { visible: 0, inFlight: 0 }, normal: { visible: 20, inFlight: 4 } }, readAt: 0 },
      { region: 'b', counts: { high: { visible: 0, inFlight: 0 }, normal: { visible: 0, inFlight: 1 } }, readAt: 0 },
    ],
    since: [0, 0],
    highSince: [0, 0],
  });
  const placement = (lanes: boolean) => ({
    priorities: ['normal', 'high'] as const,
    lanes,
    policy: POLICY['least-wait'],
    capacities: [{ region: 'a', capacity: 4 }, { region: 'b', capacity: 1 }],
    maxQueueDepthThreshold: 5000,
    random: () => 0.5,
    ageSeconds: 0,
  });

  it('with lanes sends the high message past the normal backlog (a: a worker frees in 1/4 request time) and the normal one where the combined queue is short', () => {
    const v = view();
    expect(placeBatch(v, placement(true))).toEqual([1, 0]);
    expect(v.highSince).toEqual([1, 0]);
    expect(v.since).toEqual([1, 1]);
  });

  it('without lanes puts both behind the combined queues, high first', () => {
    const v = view();
    expect(placeBatch(v, placement(false))).toEqual([1, 1]);
    expect(v.highSince).toEqual([0, 0]);
  });
});

describe('simulateFleet', () => {
  it('with one priority, no lanes and a fixed fleet gives tools/bench/sim/model.ts its exact waits (least-wait and the oracle)', () => {
    // One poller: the two simulators draw the sizes in arrival and in dispatch order, the same only when
    // batches close in arrival order.
    const deployed = settingsFor(SCENARIOS.find((s) => s.name === 'deployed')!, { load: 0.9, seed: 4, durationSeconds: 20_000, dispatchers: 2, sqsLagSeconds: 2 });
    const settings = { ...deployed, pollers: 1 };
    const event = simulateFleet({ ...settings, mix: ALL_NORMAL }, LEAST_WAIT);
    const exact = simulate(settings, { name: 'least-wait', kind: 'real', policy: POLICY['least-wait'] });
    expect(waitSummary([event], { part: 'regional' })).toEqual(exact.wait);
    expect(event.executions).toBe(exact.executions);
    const oracle = simulateFleet({ ...settings, mix: ALL_NORMAL }, { name: 'oracle', kind: 'oracle' });
    expect(waitSummary([oracle], { part: 'regional' })).toEqual(simulate(settings, { name: 'oracle', kind: 'oracle' }).wait);
    // The deployed pollers: the same batches in both.
    expect(deployed.pollers).toBe(5);
    expect(simulateFleet({ ...deployed, mix: ALL_NORMAL }, LEAST_WAIT).executions).toBe(simulate(deployed, { name: 'least-wait', kind: 'real', policy: POLICY['least-wait'] }).executions);
  });

  it('replays exactly with the same seed', () => {
    const settings = laneRunSettings('with lanes', { ...RUN, durationSeconds: 5000, load: 0.8, mix: DEFAULT_MIX });
    expect(simulateFleet(settings, LEAST_WAIT)).toEqual(simulateFleet(settings, LEAST_WAIT));
  });

  it('refuses a mix that does not add up to 1, and the oracle with lanes', () => {
    const settings = laneRunSettings('with lanes', { ...RUN, durationSeconds: 1000, load: 0.8, mix: DEFAULT_MIX });
    expect(() => simulateFleet({ ...settings, mix: { high: 0.5, normal: 0.6, low: 0 } }, LEAST_WAIT)).toThrow(/add up to 1/);
    expect(() => simulateFleet(settings, { name: 'oracle', kind: 'oracle' })).toThrow(/no lanes/);
  });
});

describe('what lanes do to waits (1:2:4 workers, 10 s, deployed batching)', () => {
  it('at 90% load high requests wait far less with lanes, and normal ones somewhat more', () => {
    const options = { ...RUN, load: 0.9, mix: DEFAULT_MIX };
    const without = simulateFleet(laneRunSettings('without lanes', options), LEAST_WAIT);
    const withLanes = simulateFleet(laneRunSettings('with lanes', options), LEAST_WAIT);
    const high = [waitSummary([without], { priority: 'high' }), waitSummary([withLanes], { priority: 'high' })] as const;
    expect(high[1].count).toBe(high[0].count);
    expect(high[1].p99).toBeLessThan(high[0].p99 / 3);
    expect(high[1].p50).toBeLessThan(high[0].p50 / 3);
    // Priority is not free: the normal lane waits behind the high messages that overtake it.
    const normal = [waitSummary([without], { priority: 'normal' }), waitSummary([withLanes], { priority: 'normal' })] as const;
    expect(normal[1].mean).toBeGreaterThan(normal[0].mean);
    expect(normal[1].p99).toBeLessThan(normal[0].p99 * 1.3);
  });

  it('the starvation guard bounds normal waits when high requests dominate (90% high at 95% load); strict priority does not', () => {
    const options = { ...RUN, load: 0.95, mix: { high: 0.9, normal: 0.1, low: 0 } };
    const guard = simulateFleet(laneRunSettings('with lanes', options), LEAST_WAIT);
    const strict = simulateFleet(laneRunSettings('with lanes', { ...options, starvationLimit: Number.POSITIVE_INFINITY }), LEAST_WAIT);
    const normal = [waitSummary([guard], { lane: 'normal' }), waitSummary([strict], { lane: 'normal' })] as const;
    expect(normal[0].p99).toBeLessThan(normal[1].p99 / 3);
    expect(normal[0].max).toBeLessThan(normal[1].max);
    // The guard's price: high requests give up a turn in STARVATION_LIMIT + 1 while normal work waits.
    expect(waitSummary([guard], { lane: 'high' }).p99).toBeGreaterThan(waitSummary([strict], { lane: 'high' }).p99);
  });
});
