/**
 * The table's capacity in the cost model: provisioned capacity priced by the unit-hour held, on-demand by
 * the request (tools/bench/cost/model.ts), and the break-even load between them (tools/bench/cost/levers.ts).
 * Known answers worked out by hand in the comments.
 */
import { describe, expect, it } from 'vitest';
import type { MeasuredFigures } from '../../../tools/bench/cost/figures.js';
import {
  CAPACITY_HEADROOM,
  capacityFor,
  onDemandTableUsd,
  provisionedTableUsd,
  tableBreakEven,
  tableCapacityFigures,
} from '../../../tools/bench/cost/levers.js';
import { computeBill, type CostSettings } from '../../../tools/bench/cost/model.js';
import { PRICES } from '../../../tools/bench/cost/prices.js';

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
  // The fixed input of test/tools/bench/cost.test.ts ("the bill for a small fixed input"): one message per
  // execution, 730,000 a month, 2 table writes per execution and 2 per message by the workers.
  const zeroLogs = { records: 0, messageBytes: 0, ingestedBytes: 0 };
  const measured: MeasuredFigures = {
    schema: 2,
    measuredAt: '2026-01-01T00:00:00.000Z',
    command: 'test',
    machine: { cores: 1, cpu: 'test', node: 'v24', platform: 'test' },
    code: { commit: null, changedSinceCommit: [], fingerprint: 'test' },
    setup: { stage: 'test', sizes: [1], regionCounts: [1], repeats: 1, functionLogLevel: 'INFO', requests: 'test', notes: [] },
    cells: [
      {
        regions: 1,
        messages: 1,
        samples: 1,
        executionMs: [150],
        lambda: { intake: { invocations: 1, ms: 100 }, snapshot: { invocations: 1, ms: 10 }, select: { invocations: 1, ms: 1 }, forward: { invocations: 1, ms: 20 } },
        calls: {
          'dynamodb.UpdateItem': 2,
          'dynamodb.BatchGetItem': 1,
          'sqs.home.SendMessageBatch': 1,
          'sqs.home.GetQueueAttributes': 1,
          'sqs.home.DeleteMessageBatch': 1,
        },
        logs: { allData: { records: 50, messageBytes: 8_700, ingestedBytes: 10_000 }, allNoData: zeroLogs, errorData: zeroLogs, errorNoData: zeroLogs, fatal: zeroLogs },
        functionLogBytes: {},
        functionLogLines: {},
        memory: { definitionBytes: 50_000, maxPayloadBytes: 1_000, mapParallelSteps: 2 },
      },
    ],
    compression: { executionLogData: 0.1, executionLogNoData: 0.1, functionLogs: 0.2 },
    workers: { messages: 1, perMessage: { 'dynamodb.UpdateItem': 2, 'worker.copiesReceived': 1, 'sqs.home.DeleteMessage': 1 } },
    items: { dispatched: { count: 1, meanBytes: 500, maxBytes: 500 }, completed: { count: 1, meanBytes: 600, maxBytes: 600 } },
    payload: { bodyBytes: 300, regionalMessageBytes: 600 },
    incidents: [],
    discardedRounds: 0,
  };
  const settings: CostSettings = {
    perDay: 24_000, // x 730/24 days = 730,000 messages a month
    regions: 1,
    batchingWindowSeconds: 0,
    pollers: 1,
    maxBatch: 1,
    cacheTtlSeconds: 0,
    logLevel: 'ALL',
    executionData: true,
    logRetentionDays: 30,
    memoryMb: { intake: 1024, snapshot: 1024, select: 1024, forward: 1024 },
    idempotencyTtlDays: 7,
    duplicates: 0,
    pitr: false,
    xray: false,
    lambdaPlatformLogs: false,
    alarmMetrics: 0,
    dashboards: 0,
    customMetrics: 0,
    emfLogs: true,
    xraySampling: { reservoirPerSecond: 0, fixedRate: 0.05 },
    workers: 0,
    workerSecondsPerRequest: 0,
    workerReceiver: { idleCycleSeconds: 1, receivesPerIdleCycle: 2, normalOnlyWaitSeconds: 1 },
    kmsCallers: 0,
    alarmTopicKeys: 0,
  };

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
