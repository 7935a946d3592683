/**
 * Work stealing in the fleet simulation (tools/bench/sim/steal-sim.ts, lane-region.ts, fleet-model.ts,
 * steal-scenarios.ts): off, it changes nothing; it never takes from a region not allowed; a lost fleet's
 * backlog drains with it and not without; nothing is started twice; the pooled queue is the clairvoyant
 * oracle. Small seeded runs; no wall-clock assertion.
 */
import { describe, expect, it } from 'vitest';
import { ALL_NORMAL, simulateFleet, type FleetSettings } from '../../../tools/bench/sim/fleet-model.js';
import { deployedScenario, laneRunSettings, LEAST_WAIT, DEFAULT_MIX } from '../../../tools/bench/sim/lane-scenarios.js';
import { settingsFor } from '../../../tools/bench/sim/scenarios.js';
import type { StealingSimSettings } from '../../../tools/bench/sim/steal-sim.js';
import { POOLED, strandedDispatcher, strandedRun, strandedSettings, type StrandedOptions } from '../../../tools/bench/sim/steal-scenarios.js';

// Stealing only when idle (neither otherHighFirst nor fleetlessFirst): the base rule.
const STEAL: StealingSimSettings = { checkEverySeconds: 30, idlePollSeconds: 20, receiveSeconds: 0.1, startupSeconds: 0, presenceLagSeconds: 60, otherHighFirst: false, fleetlessFirst: false };
const base = (load: number, seed = 1): FleetSettings => ({
  ...settingsFor(deployedScenario(), { load, seed, durationSeconds: 20_000, dispatchers: 2, sqsLagSeconds: 2 }),
  mix: ALL_NORMAL,
});
const names = deployedScenario().regions.map((r) => r.region);

describe('stealing off', () => {
  it('reproduces the fleet model: without stealing settings, and with stealing allowed nowhere, the same waits (same seed)', () => {
    for (const load of [0.5, 0.9]) {
      const plain = simulateFleet(base(load), LEAST_WAIT);
      // Every idle worker reads and finds nothing it may take: the stealing path runs, nothing moves.
      const nowhere = simulateFleet({ ...base(load), stealing: { ...STEAL, receiveSeconds: 0, allow: {} } }, LEAST_WAIT);
      expect(nowhere.masterWait).toEqual(plain.masterWait);
      expect(nowhere.regionalWait).toEqual(plain.regionalWait);
      expect(nowhere.region).toEqual(plain.region);
      expect([...(nowhere.thief as Int8Array)].every((t) => t === -1)).toBe(true);
      // The plain run is the fleet model as the other benches run it: no extra fields.
      expect(plain.thief).toBeUndefined();
    }
  });

  it('the pooled queue gives the clairvoyant oracle\'s waits (the first free worker anywhere)', () => {
    const pooled = simulateFleet(base(0.8), POOLED);
    const oracle = simulateFleet(base(0.8), { name: 'oracle', kind: 'oracle' });
    pooled.regionalWait.forEach((w, k) => expect(w).toBeCloseTo(oracle.regionalWait[k] as number, 6));
    expect(pooled.masterWait).toEqual(oracle.masterWait);
  });
});

describe('stealing on', () => {
  it('takes work at all, and never from a region not allowed', () => {
    const allow = { 'us-east-1': ['us-west-1'], 'us-west-2': ['us-east-1'] }; // us-west-1 steals from none
    const r = simulateFleet({ ...base(0.7), stealing: { ...STEAL, minBacklogPerWorker: 0, allow } }, LEAST_WAIT);
    const thief = r.thief as Int8Array;
    let stolen = 0;
    for (let k = 0; k < thief.length; k++) {
      const t = thief[k] as number;
      if (t < 0) continue;
      stolen++;
      const from = names[r.region[k] as number] as string;
      const by = names[t] as string;
      expect(by).not.toBe(from);
      expect((allow as Record<string, string[]>)[by] ?? []).toContain(from);
    }
    expect(stolen).toBeGreaterThan(10);
  });

  it('weighs a start-up cost: with 30 s to start a stolen request, it steals only where the wait is longer, and is no worse than not stealing', () => {
    const p99 = (r: ReturnType<typeof simulateFleet>) => {
      const waits = Float64Array.from(r.arrival.map((_, k) => (r.masterWait[k] as number) + (r.regionalWait[k] as number))).sort();
      return waits[Math.floor(0.99 * (waits.length - 1))] as number;
    };
    const slow = { ...STEAL, startupSeconds: 30, minBacklogPerWorker: 0 };
    const off = p99(simulateFleet(base(0.5, 4), LEAST_WAIT));
    const blind = simulateFleet({ ...base(0.5, 4), stealing: slow }, LEAST_WAIT);
    const weighed = simulateFleet({ ...base(0.5, 4), stealing: { ...slow, weighedServiceSeconds: 10 } }, LEAST_WAIT);
    const stolen = (r: ReturnType<typeof simulateFleet>) => [...(r.thief as Int8Array)].filter((t) => t >= 0).length;
    expect(p99(blind)).toBeGreaterThan(off * 1.2);
    expect(p99(weighed)).toBeLessThanOrEqual(off * 1.02);
    expect(stolen(weighed)).toBeLessThan(stolen(blind));
  });

  it('starts no request twice (starts counted per request), with lanes and without, in a lost-fleet run too', () => {
    const runs = [
      simulateFleet({ ...base(0.9), stealing: STEAL }, LEAST_WAIT),
      simulateFleet({ ...laneRunSettings('with lanes', { load: 0.9, seed: 2, durationSeconds: 20_000, dispatchers: 2, sqsLagSeconds: 2, mix: DEFAULT_MIX }), stealing: { ...STEAL, minBacklogPerWorker: 0 } }, LEAST_WAIT),
    ];
    for (const r of runs) {
      expect([...(r.thief as Int8Array)].some((t) => t >= 0)).toBe(true);
      expect([...(r.starts as Uint8Array)].every((n) => n === 1)).toBe(true);
    }
  });

  it("drains a region's backlog when all its workers are gone; without stealing it stays", () => {
    const o: StrandedOptions = { load: 0.5, lostRegion: 'us-west-2', backlog: 100, atSeconds: 1000, presenceLagSeconds: 60, durationSeconds: 6000, seed: 3, dispatchers: 2, sqsLagSeconds: 2 };
    const lost = names.indexOf(o.lostRegion);
    const withStealing = simulateFleet(strandedSettings(o, STEAL), strandedDispatcher(60));
    const on = strandedRun(withStealing, o, lost);
    expect(Number.isFinite(on.drainSeconds)).toBe(true);
    expect([...(withStealing.starts as Uint8Array)].every((n) => n === 1)).toBe(true);
    // Every one of the backlog was stolen, by the workers of the regions left.
    const injected = withStealing.injected as Uint8Array;
    for (let k = 0; k < injected.length; k++) if (injected[k]) expect(withStealing.thief?.[k]).not.toBe(-1);
    const off = strandedRun(simulateFleet(strandedSettings(o), strandedDispatcher(60)), o, lost);
    expect(off.drainSeconds).toBe(Number.POSITIVE_INFINITY);
    // The pooled queue drains it first of all (the lower bound).
    const pooled = strandedRun(simulateFleet(strandedSettings(o), POOLED), o, -1);
    expect(pooled.p99).toBeLessThan(on.p99);
    // fleetlessFirst (a region with no live worker before the own normal lane) drains it sooner, once each.
    const orphans = simulateFleet(strandedSettings(o, { ...STEAL, fleetlessFirst: true }), strandedDispatcher(60));
    expect(strandedRun(orphans, o, lost).p99).toBeLessThan(on.p99);
    expect([...(orphans.starts as Uint8Array)].every((n) => n === 1)).toBe(true);
  });
});
