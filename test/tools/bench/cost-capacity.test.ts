/**
 * The table's capacity in the cost model: provisioned capacity priced by the unit-hour held, on-demand by
 * the request (tools/bench/cost/model.ts), and the break-even load between them (tools/bench/cost/levers.ts).
 * Known answers worked out by hand in the comments.
 */
import { describe, expect, it } from 'vitest';
import {
  CAPACITY_HEADROOM,
  capacityFor,
  onDemandTableUsd,
  provisionedTableUsd,
  tableBreakEven,
  tableCapacityFigures,
} from '../../../tools/bench/cost/levers.js';
import { computeBill } from '../../../tools/bench/cost/model.js';
import { PRICES } from '../../../tools/bench/cost/prices.js';
import { FIXED_MEASURED, FIXED_SETTINGS } from './cost-fixture.js';

describe('on-demand or provisioned: the prices and the break-even', () => {
  it('uses the published us-east-1 provisioned prices: $0.00065 per WCU-hour, $0.00013 per RCU-hour', () => {
    expect(PRICES.dynamoWcuHour.usd).toBe(0.00065);
    expect(PRICES.dynamoRcuHour.usd).toBe(0.00013);
    // A month (730 h) of 10 WCU and 2 RCU: 7,300 x 0.00065 + 1,460 x 0.00013 = 4.745 + 0.1898
    expect(provisionedTableUsd({ writeUnits: 10, readUnits: 2 })).toBeCloseTo(4.9348, 9);
  });

  it('sizes a provisioned table at twice the mean rate, never under 10 WCU and 1 RCU', () => {
    expect(CAPACITY_HEADROOM).toBe(2);
    // 100,000 a day x 4 WRU = 4.63 a second, x 2 = 9.26 -> 10; x 0.6 RRU = 0.69, x 2 = 1.39 -> 2
    expect(capacityFor(100_000, { wru: 4, rru: 0.6 })).toEqual({ writeUnits: 10, readUnits: 2 });
    // 1,000,000 a day: 46.3 x 2 = 92.6 -> 93 WCU
    expect(capacityFor(1_000_000, { wru: 4, rru: 0 })).toEqual({ writeUnits: 93, readUnits: 1 });
    // A trickle still holds the floors.
    expect(capacityFor(10, { wru: 4, rru: 1 })).toEqual({ writeUnits: 10, readUnits: 1 });
  });

  it('prices on-demand per request: 100,000 a day x 730/24 days x (4 x $0.625/M + 1 x $0.125/M)', () => {
    expect(onDemandTableUsd(100_000, { wru: 4, rru: 1 })).toBeCloseTo(100_000 * (730 / 24) * 2.625e-6, 9);
  });

  it('finds the break-even worked out by hand: writes only, at the 10 WCU floor', () => {
    // Provisioned: 730 x (10 x 0.00065 + 1 x 0.00013) = $4.8399 a month, flat while 10 WCU and 1 RCU suffice.
    // On-demand: 730/24 x 4 x $0.625/M = $0.0000760416667 per request-a-day. 4.8399 / 0.0000760416667 = 63,648
    // (the two are equal there). At 63,648 a day the capacity needed is 2 x 63,648 x 4 / 86,400 = 5.9 -> still
    // the 10 WCU floor.
    const units = { wru: 4, rru: 0 };
    expect(tableBreakEven(units)).toBe(63_648);
    expect(provisionedTableUsd(capacityFor(63_647, units))).toBeGreaterThan(onDemandTableUsd(63_647, units));
    expect(provisionedTableUsd(capacityFor(63_649, units))).toBeLessThan(onDemandTableUsd(63_649, units));
  });

  it('finds the break-even when the capacity needed grows on the way: the reads pass 1 RCU first', () => {
    // With 1 RCU: 4.8399 / (730/24 x (4 x 0.625 + 1 x 0.125) / 1e6 = 0.0000798437) = 60,617.1, where
    // 2 x 60,618 / 86,400 = 1.4 -> 2 RCU are needed: 730 x (0.0065 + 0.00026) = 4.9348 / 0.0000798437 = 61,805.7.
    expect(tableBreakEven({ wru: 4, rru: 1 })).toBe(61_806);
  });

  it('says when provisioned is never cheaper: at 4x headroom a held unit costs more than the requests it serves', () => {
    // 4 x 0.00065 x 24 h = $0.0624 a day per write a second, against 86,400 x $0.625/M = $0.054 on-demand.
    expect(tableBreakEven({ wru: 4, rru: 0 }, 4)).toBeUndefined();
    // At 3x it pays, still at the floor: 4.8399 / 0.0000760416667.
    expect(tableBreakEven({ wru: 4, rru: 0 }, 3)).toBe(63_648);
  });
});

describe('the bill with a provisioned table', () => {
  // The fixed input (cost-fixture.ts) that test/tools/bench/cost.test.ts works out by hand: one message per
  // execution, 730,000 a month, 2 table writes per execution and 2 per message by the workers.
  const measured = FIXED_MEASURED;
  const settings = FIXED_SETTINGS;

  it('prices the capacity held instead of the requests, and only the DynamoDB lines change', () => {
    const onDemand = computeBill(settings, measured);
    const explicit = computeBill({ ...settings, tableCapacity: { mode: 'on-demand' } }, measured);
    expect(explicit.totalUsd).toBe(onDemand.totalUsd);
    const provisioned = computeBill({ ...settings, tableCapacity: { mode: 'provisioned', readUnits: 1, writeUnits: 10 } }, measured);
    // Storage 0.0294 (as on-demand) + 730 x (10 x 0.00065 + 1 x 0.00013) = 4.8399
    expect(provisioned.byService.DynamoDB).toBeCloseTo(0.0294 + 4.8399, 9);
    expect(onDemand.byService.DynamoDB).toBeCloseTo(0.0294 + 1.825 + 0.09125, 9);
    expect(provisioned.totalUsd - onDemand.totalUsd).toBeCloseTo(4.8399 - 1.825 - 0.09125, 9);
    // The request units are still counted (2,920,000 WRU), at no charge of their own.
    const wru = provisioned.lines.filter((l) => l.unit === 'WRU');
    expect(wru.reduce((t, l) => t + l.quantity, 0)).toBeCloseTo(2_920_000, 3);
    expect(wru.every((l) => l.usd === 0)).toBe(true);
    // 2,920,000 WRU / 2,628,000 s = 1.11 a second of the 10 held; inside the free 25 WCU, shown apart.
    const writes = provisioned.lines.find((l) => l.component.startsWith('provisioned writes'));
    expect(writes?.note).toMatch(/^1\.11 a second consumed on average, 11% of the 10 provisioned$/);
    expect(writes?.freeUsd).toBeCloseTo(4.745, 9);
  });

  it('flags a capacity under the mean consumption as throttled', () => {
    const bill = computeBill({ ...settings, perDay: 240_000, tableCapacity: { mode: 'provisioned', readUnits: 1, writeUnits: 10 } }, measured);
    // 240,000 a day x 4 WRU / 86,400 = 11.1 a second > 10
    expect(bill.lines.find((l) => l.component.startsWith('provisioned writes'))?.note).toMatch(/ABOVE the capacity, throttled/);
  });

  it('gives the break-even and the two modes at the load, from the bill\'s own units per request', () => {
    const figures = tableCapacityFigures(settings, measured);
    // 4 WRU (claim, mark, accept, complete) and 1 RRU (a health read per execution of one message) per request.
    expect(figures.units.wru).toBeCloseTo(4, 9);
    expect(figures.units.rru).toBeCloseTo(1, 9);
    expect(figures.onDemandUsd).toBeCloseTo(1.825 + 0.09125, 9);
    expect(figures.sized).toEqual({ writeUnits: 10, readUnits: 1 });
    expect(figures.breakEvenPerDay).toBe(61_806);
  });
});
