/**
 * Capacity that follows the fleet, in the simulation (tools/bench/sim/lane-region.ts, fleet-model.ts,
 * capacity-modes.ts): worker count changes take effect as specified, the capacity each mode gives the
 * policy (through core/capacity.ts), and that a live capacity beats the static one after a change.
 * Small seeded runs; no wall-clock assertion.
 */
import { describe, expect, it } from 'vitest';
import { capacityFor } from '../../../tools/bench/sim/capacity-modes.js';
import { CAPACITY_CONTENDERS, CAPACITY_SCENARIOS, capacityRunSettings, type CapacityScenario } from '../../../tools/bench/sim/capacity-scenarios.js';
import { EventQueue } from '../../../tools/bench/sim/events.js';
import { simulateFleet, type FleetContender } from '../../../tools/bench/sim/fleet-model.js';
import { waitSummary } from '../../../tools/bench/sim/fleet-waits.js';
import { LaneRegion } from '../../../tools/bench/sim/lane-region.js';

/** A region of `workers` workers at 10 s per message, `queued` messages of exactly 10 s enqueued at 0; returns the start times. */
function region(workers: number, queued: number) {
  const events = new EventQueue();
  const starts: number[] = [];
  const r = new LaneRegion({ workers, meanServiceSeconds: 10, events, onStart: (m, t) => (starts[m.id] = t) });
  for (let id = 0; id < queued; id++) r.enqueue({ id, lane: 'normal', size: 1 }, 0);
  return { r, events, starts };
}

describe('a change of the worker count in the simulated region', () => {
  it('removed busy workers finish their current request and stop; added ones start polling at once', () => {
    const { r, events, starts } = region(2, 6);
    events.runUntil(5);
    r.setWorkers(1, 5);
    expect(r.activeWorkers).toBe(1);
    // Both finish their first message at 10; only one goes on.
    events.runUntil(25);
    expect(starts).toEqual([0, 0, 10, 20]);
    r.setWorkers(3, 25);
    expect(r.activeWorkers).toBe(3);
    events.runUntil(Number.POSITIVE_INFINITY);
    expect(starts).toEqual([0, 0, 10, 20, 25, 25]);
  });

  it('removes idle workers first, at once', () => {
    const { r, events, starts } = region(3, 1);
    r.setWorkers(1, 1);
    expect(r.activeWorkers).toBe(1);
    r.enqueue({ id: 1, lane: 'normal', size: 1 }, 2);
    events.runUntil(Number.POSITIVE_INFINITY);
    // The one left is the busy one: the second message waits for it.
    expect(starts).toEqual([0, 10]);
  });

  it('the oracle sees the workers present: a region that lost workers projects a longer wait', () => {
    // Four busy until 10 and four more queued: with four workers a new message starts at 20.
    const { r } = region(4, 8);
    expect(r.projection(2)).toEqual({ wait: 18, workPerWorker: 18 });
    // Two stop after their current message: the queue drains on two workers, a new message starts at 30.
    r.setWorkers(2, 2);
    expect(r.projection(2)).toEqual({ wait: 28, workPerWorker: 28 });
  });

  it('moves the traffic with the fleet: after 1:2:4 -> 1:4:2 the oracle gives us-west-1 about 2/7 of the requests', () => {
    const scenario = CAPACITY_SCENARIOS.find((s) => s.name === 'west-1-halved') as CapacityScenario;
    const result = simulateFleet(capacityRunSettings(scenario, { load: 0.7, seed: 1, dispatchers: 2, sqsLagSeconds: 2, changeAtSeconds: 5000, afterSeconds: 20_000 }), { name: 'oracle', kind: 'oracle' });
    const share = (from: number, to: number) => {
      let n = 0;
      let west1 = 0;
      result.arrival.forEach((t, k) => {
        if (t < from || t >= to) return;
        n++;
        if (result.region[k] === 2) west1++;
      });
      return west1 / n;
    };
    expect(share(500, 5000)).toBeGreaterThan(0.5);
    expect(share(6000, 25_000)).toBeGreaterThan(0.2);
    expect(share(6000, 25_000)).toBeLessThan(0.36);
  });
});

describe('the capacity each mode gives the policy (core/capacity.ts effectiveCapacity)', () => {
  const facts = { region: 'r', configured: 4, setting: 2, inFlight: 6, waiting: 3 };
  it('static: the configured number, whatever is set or seen', () => {
    expect(capacityFor('static', facts)).toBe(4);
  });
  it('live: the setting wins, even below what is in flight', () => {
    expect(capacityFor('live', facts)).toBe(2);
    expect(capacityFor('live', { ...facts, setting: 7, waiting: 0 })).toBe(7);
  });
  it('estimated: max(configured, in flight) while messages wait, else configured; never below configured', () => {
    expect(capacityFor('estimated', facts)).toBe(6);
    expect(capacityFor('estimated', { ...facts, waiting: 0 })).toBe(4);
    expect(capacityFor('estimated', { ...facts, inFlight: 2 })).toBe(4);
  });
});

describe('after a region loses half its workers (1:2:4 -> 1:4:2)', () => {
  const scenario = CAPACITY_SCENARIOS.find((s) => s.name === 'west-1-halved') as CapacityScenario;
  const contenders = CAPACITY_CONTENDERS(30);
  const run = (contender: FleetContender, seed: number) =>
    simulateFleet(capacityRunSettings(scenario, { load: 0.7, seed, dispatchers: 2, sqsLagSeconds: 2, changeAtSeconds: 5000, afterSeconds: 30_000 }), contender);
  const p99After = (contender: FleetContender) => waitSummary([1, 2].map((seed) => run(contender, seed)), { from: 5000, part: 'regional' }).p99;
  const byMode = (mode: string) => contenders.find((c) => c.capacity === mode) as FleetContender;

  it('a live capacity (set 30 s after the change) beats the static one by far; the oracle beats both', () => {
    const [oracle, live, fixed] = [p99After(contenders[0] as FleetContender), p99After(byMode('live')), p99After(byMode('static'))];
    expect(live).toBeLessThan(fixed * 0.7);
    expect(oracle).toBeLessThan(live);
  });

  it('before the change every mode is the same placement (the setting, the estimate and the configuration agree)', () => {
    const before = (mode: string) => waitSummary([run(byMode(mode), 3)], { to: 5000, part: 'regional' });
    expect(before('live')).toEqual(before('static'));
    expect(before('estimated')).toEqual(before('static'));
  });
});
