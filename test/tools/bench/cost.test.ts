/** The cost model (tools/bench/cost/model.ts) and the log records it bills (tools/bench/cost/log-records.ts): pure functions, known answers. */
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { deployedSettings } from '../../../tools/bench/cost/deployed.js';
import { renderLogs } from '../../../tools/bench/cost/measure.js';
import { makeRequest } from '../../../tools/ops/requests.js';
import { localDefinition } from '../../../tools/local/dispatch.js';
import { sqsAt } from '../../../tools/local/resources.js';
import { startLocalStack } from '../../../tools/local/stack.js';
import { logBytes, logRecords, logsEventType, toLogRecord, type HistoryEventLike } from '../../../tools/bench/cost/log-records.js';
import {
  batchDistributionForFill,
  batchingDelaySeconds,
  batchSizeDistribution,
  cacheMissShare,
  computeBill,
  dynamoItemBytes,
  dynamoReadUnits,
  dynamoWriteUnits,
  expressBilledMemoryMb,
  expressBilledMs,
  expressDurationUsd,
  meanBatch,
  sqsBilledRequests,
  xrayTracesPerSecond,
} from '../../../tools/bench/cost/model.js';
import { FIXED_MEASURED, FIXED_SETTINGS } from './cost-fixture.js';

describe('the event source batching model', () => {
  const batching = (ratePerSecond: number, windowSeconds: number, pollers = 1) => ({ ratePerSecond, windowSeconds, pollers, maxBatch: 10 });

  it('gives batches of about one when few messages arrive within a window', () => {
    expect(meanBatch(batchSizeDistribution(batching(0.001, 1)))).toBeCloseTo(1.001, 4);
    expect(meanBatch(batchSizeDistribution(batching(5, 0)))).toBe(1);
  });

  it('gives full batches of 10 when many arrive within a window', () => {
    expect(meanBatch(batchSizeDistribution(batching(100, 10)))).toBeCloseTo(10, 6);
  });

  it('is 1 + E[min(9, Poisson(rate x window / pollers))], a distribution over 1..10', () => {
    const p = batchSizeDistribution(batching(1, 1));
    expect(p).toHaveLength(10);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(p[0]).toBeCloseTo(Math.exp(-1), 12); // no other arrival: a batch of one
    expect(meanBatch(p)).toBeCloseTo(2, 6); // P(N >= 10) for Poisson(1) is ~1e-7
  });

  it('shares the arrivals among the pollers', () => {
    expect(meanBatch(batchSizeDistribution(batching(1, 5, 5)))).toBeCloseTo(meanBatch(batchSizeDistribution(batching(1, 1, 1))), 12);
  });

  it('a fixed fill is that mean, over its two neighbouring sizes', () => {
    const p = batchDistributionForFill(3.25, 10);
    expect(meanBatch(p)).toBeCloseTo(3.25, 12);
    expect(p[2]).toBeCloseTo(0.75, 12);
    expect(p[3]).toBeCloseTo(0.25, 12);
    expect(() => batchDistributionForFill(0.5, 10)).toThrow(RangeError);
  });

  it('adds the whole window to a lone message and little to a batch that fills at once', () => {
    expect(batchingDelaySeconds(batching(1e-6, 5)).mean).toBeCloseTo(5, 3);
    expect(batchingDelaySeconds(batching(100, 10)).mean).toBeLessThan(0.1);
    expect(batchingDelaySeconds(batching(1, 0))).toEqual({ mean: 0, max: 0 });
  });

  it('matches the uncapped closed form (W + rate W^2 / 2) / (1 + rate W) when batches rarely fill', () => {
    // rate 0.5/s, window 2 s: (2 + 0.5 x 4 / 2) / (1 + 1) = 1.5 s (Poisson(1) reaching 9 more is ~1e-6)
    expect(batchingDelaySeconds(batching(0.5, 2)).mean).toBeCloseTo(1.5, 4);
  });
});

describe('billing rules', () => {
  it('Express rounds each execution up to 100 ms, at least 100 ms', () => {
    expect([0, 1, 100, 101, 250, 1000].map(expressBilledMs)).toEqual([100, 100, 100, 200, 300, 1000]);
  });

  it('Express memory is 50 MB + definition + payload x Map/Parallel steps, in 64 MB chunks', () => {
    expect(expressBilledMemoryMb({ definitionBytes: 49_114, maxPayloadBytes: 7_794, mapParallelSteps: 23 })).toBe(64);
    expect(expressBilledMemoryMb({ definitionBytes: 50_000, maxPayloadBytes: 32_000, mapParallelSteps: 400 })).toBe(64);
    expect(expressBilledMemoryMb({ definitionBytes: 50_000, maxPayloadBytes: 100_000, mapParallelSteps: 200 })).toBe(128);
  });

  it('Express duration goes over its GB-hour tiers', () => {
    expect(expressDurationUsd(3600 * 1000)).toBeCloseTo(60, 9);
    expect(expressDurationUsd(3600 * 2000)).toBeCloseTo(60 + 30, 9);
    expect(expressDurationUsd(3600 * 6000)).toBeCloseTo(60 + 120 + 16.42, 9);
  });

  it('SQS bills every 64 KiB chunk of a payload as a request', () => {
    expect([0, 1, 65_536, 65_537, 262_144].map(sqsBilledRequests)).toEqual([1, 1, 1, 2, 4]);
  });

  it('DynamoDB writes cost a unit per KB, reads per 4 KB (half when eventually consistent)', () => {
    expect([1, 1024, 1025, 3000].map(dynamoWriteUnits)).toEqual([1, 1, 2, 3]);
    expect(dynamoReadUnits(4096, true)).toBe(1);
    expect(dynamoReadUnits(4097, true)).toBe(2);
    expect(dynamoReadUnits(600, false)).toBe(0.5);
  });

  it('DynamoDB item size: names plus values, numbers at a byte per two digits plus one', () => {
    expect(dynamoItemBytes({ request_id: { S: 'req-1' } })).toBe(10 + 5);
    expect(dynamoItemBytes({ n: { N: '12345' } })).toBe(1 + 4);
    expect(dynamoItemBytes({ m: { M: { a: { S: 'xy' } } } })).toBe(1 + 3 + 1 + 1 + 2);
  });

  it('a cache of TTL t misses on 1 / (1 + rate x t) of executions', () => {
    expect(cacheMissShare(1, 0)).toBe(1);
    expect(cacheMissShare(1, 60)).toBeCloseTo(1 / 61, 12);
  });

  it('X-Ray default sampling: nearly every root at low rates, 1/s + 5% at high ones', () => {
    expect(xrayTracesPerSecond(0.001)).toBeCloseTo(0.001, 5);
    expect(xrayTracesPerSecond(100)).toBeCloseTo(0.95 + 5, 9);
  });
});

describe('state machine log records', () => {
  const event = (id: number, type: string, details: object = {}): HistoryEventLike => ({ id, previousEventId: id - 1, timestamp: 1764671000.123, type, ...details });
  const arn = 'arn:aws:states:us-east-1:123456789012:express:m:n:u';

  it('ERROR logs failures only, FATAL only the execution ending badly, OFF nothing', () => {
    expect(logsEventType('ALL', 'TaskStateEntered')).toBe(true);
    expect(logsEventType('ERROR', 'TaskStateEntered')).toBe(false);
    expect(logsEventType('ERROR', 'TaskFailed')).toBe(true);
    expect(logsEventType('ERROR', 'LambdaFunctionFailed')).toBe(true);
    expect(logsEventType('FATAL', 'TaskFailed')).toBe(false);
    expect(logsEventType('FATAL', 'ExecutionFailed')).toBe(true);
    expect(logsEventType('OFF', 'ExecutionFailed')).toBe(false);
  });

  it('a record carries the event details, ids as strings and the timestamp in ms', () => {
    const record = toLogRecord(event(3, 'TaskStateEntered', { stateEnteredEventDetails: { name: 'Claim', input: '{}' } }), arn);
    expect(record).toEqual({
      id: '3',
      type: 'TaskStateEntered',
      details: { name: 'Claim', input: '{}' },
      previous_event_id: '2',
      event_timestamp: '1764671000123',
      execution_arn: arn,
      redrive_count: '0',
    });
  });

  it('bytes are the JSON lines plus 26 per record', () => {
    const events = [event(1, 'ExecutionStarted'), event(2, 'TaskFailed', { taskFailedEventDetails: { error: 'E' } })];
    const all = logRecords(events, arn, 'ALL');
    const bytes = logBytes(all);
    expect(bytes.records).toBe(2);
    expect(bytes.messageBytes).toBe(all.reduce((s, r) => s + Buffer.byteLength(JSON.stringify(r)), 0));
    expect(bytes.ingestedBytes).toBe(bytes.messageBytes + 52);
    expect(logRecords(events, arn, 'ERROR').map((r) => r.type)).toEqual(['TaskFailed']);
  });
});

describe('the bill for a small fixed input, computed by hand', () => {
  const measured = FIXED_MEASURED;
  const settings = FIXED_SETTINGS;

  it('adds up every line as worked out in the comments', () => {
    const bill = computeBill(settings, measured);
    // One message per execution: 730,000 of each.
    expect(bill.derived.messagesPerMonth).toBeCloseTo(730_000, 6);
    expect(bill.derived.executionsPerMonth).toBeCloseTo(730_000, 6);
    // SQS: sends 730,000 + receives (730,000 + 0 window closes + 1 poller x 2,628,000 s / 20 = 131,400)
    //   + deletes 730,000 + forward 730,000 + depth reads 730,000 (no cache) + workers 2 x 730,000 = 5,241,400 x $0.40/M
    expect(bill.byService.SQS).toBeCloseTo(2.09656, 9);
    // Lambda: 4 x 730,000 requests x $0.20/M = 0.584; duration per execution, local + AWS latency + 0.5 ms rounding:
    //   intake 100 + (2 x (15 + 8) + 3 x 25 + 8 + 8) + 25 + 0.5 = 262.5; snapshot 10 + 8 + 0.5; select 1 + 0.5; forward 20 + 8 + 0.5
    //   = 311 ms at 1 GB: 227,030 GB-s x $0.0000133334 = 3.0270818...
    expect(bill.byService.Lambda).toBeCloseTo(0.584 + 227_030 * 0.0000133334, 9);
    // Express: 730,000 x $1/M; 150 + 137 ms -> 300 ms billed at 64 MB: 13,687.5 GB-s = 3.8021 GB-h x $0.06
    expect(bill.byService['Step Functions']).toBeCloseTo(0.73 + (13_687.5 / 3600) * 0.06, 9);
    // DynamoDB: claims 730,000 + marks 730,000 + worker writes 1,460,000 = 2,920,000 WRU x $0.625/M = 1.825;
    //   health reads 730,000 RRU x $0.125/M = 0.09125; storage 24,000 x 7 x 700 B = 0.1176 GB x $0.25 = 0.0294
    expect(bill.byService.DynamoDB).toBeCloseTo(1.825 + 0.09125 + 0.0294, 9);
    // Logs: 730,000 x 10,000 B = 7.3 GB x $0.50 = 3.65; stored 7.3 / 30.4167 x 30 days x 10% = 0.72 GB-month x $0.03
    expect(bill.byService['CloudWatch Logs']).toBeCloseTo(3.65 + 0.0216, 9);
    expect(bill.byService['X-Ray']).toBe(0);
    expect(bill.byService.CloudWatch).toBe(0);
    expect(bill.byService.Other).toBe(0);
    expect(bill.totalUsd).toBeCloseTo(12.2830168, 6);
  });

  it('prices the priority lanes: the high lane batches apart, a reading is two queues, its pollers poll too', () => {
    const without = computeBill(settings, measured);
    // 10% high through a master lane with its own poller; one message per batch either way (maxBatch 1).
    const lanes = computeBill({ ...settings, highLane: { share: 0.1, windowSeconds: 0, pollers: 1 } }, measured);
    expect(lanes.derived.executionsPerMonth).toBeCloseTo(730_000, 6);
    // SQS: one more poller's idle long polls (131,400), the depth reads doubled (730,000 more) and the
    // workers' empty high-lane receive before each normal message (90%: 657,000): 1,518,400 x $0.40/M.
    expect(lanes.byService.SQS - without.byService.SQS).toBeCloseTo(0.60736, 9);
    // Batches fuller on the normal lane than on the high one: the high lane adds executions.
    const wide = { ...settings, maxBatch: 10, batchingWindowSeconds: 20, perDay: 100_000 };
    const wideLanes = computeBill({ ...wide, highLane: { share: 0.1, windowSeconds: 1, pollers: 5 } }, measured);
    expect(wideLanes.derived.executionsPerMonth).toBeGreaterThan(computeBill(wide, measured).derived.executionsPerMonth);
    // A measurement made with lanes counts both lanes' reads already: no doubling.
    const measuredWithLanes = { ...measured, setup: { ...measured.setup, lanes: true } };
    const lanesMeasured = computeBill({ ...settings, highLane: { share: 0.1, windowSeconds: 0, pollers: 1 } }, measuredWithLanes);
    expect(lanesMeasured.byService.SQS - without.byService.SQS).toBeCloseTo(0.05256 + 0.2628, 9);
  });

  it("prices the alarm topics' KMS keys at $1 a month each", () => {
    const without = computeBill(settings, measured);
    const keys = computeBill({ ...settings, alarmTopicKeys: 3 }, measured);
    expect(keys.totalUsd - without.totalUsd).toBeCloseTo(3, 9);
    expect(keys.byService.Other - without.byService.Other).toBeCloseTo(3, 9);
  });

  it('a lower log level takes the state machine log out, and only that', () => {
    const all = computeBill(settings, measured);
    const off = computeBill({ ...settings, logLevel: 'OFF' }, measured);
    expect(all.totalUsd - off.totalUsd).toBeCloseTo(3.65 + 0.0216, 9);
  });
});

describe('one real batch, rendered as the log group would receive it', () => {
  it('logs every event at ALL, less without data, nothing at ERROR or FATAL for a success', async () => {
    const stack = await startLocalStack({ pollers: 1, batchWindowSeconds: 0.25, masterVisibilitySeconds: 30, env: { cacheTtlSeconds: 0 } });
    const producer = sqsAt('us-east-1', stack.description.endpoints.sqs['us-east-1'] as string);
    try {
      await producer.send(
        new SendMessageBatchCommand({
          QueueUrl: stack.description.masterQueueUrl,
          Entries: [0, 1].map((i) => ({ Id: String(i), MessageBody: JSON.stringify(makeRequest(i, { requestId: `req-cost-test-${i}` })) })),
        }),
      );
      await expect.poll(() => stack.eventSource.stats().succeeded, { timeout: 15_000 }).toBe(2);
      const execution = stack.stepFunctions.executions().find((e) => e.status === 'SUCCEEDED');
      expect(execution).toBeDefined();
      const { bytes, data, noData } = renderLogs(execution as NonNullable<typeof execution>, localDefinition(stack.resources));
      expect(data.map((r) => r.type)).toContain('TaskStateEntered');
      expect(data[0]?.type).toBe('ExecutionStarted');
      expect(data.at(-1)?.type).toBe('ExecutionSucceeded');
      expect(noData).toHaveLength(data.length);
      expect(bytes.allData.records).toBe(data.length);
      expect(bytes.allNoData.ingestedBytes).toBeLessThan(bytes.allData.ingestedBytes);
      expect(JSON.stringify(noData)).not.toContain('s3://inference-inputs'); // no bodies without execution data
      expect(JSON.stringify(data)).toContain('s3://inference-inputs');
      expect(bytes.errorData.records).toBe(0);
      expect(bytes.fatal.records).toBe(0);
    } finally {
      producer.destroy();
      await stack.stop();
    }
  });
});

describe('the stage priced', () => {
  it('follows the stage\'s execution log: no data unless the stage is named inspectable', () => {
    const root = new URL('../../../', import.meta.url).pathname;
    expect(deployedSettings(root).settings).toMatchObject({ logLevel: 'ERROR', executionData: false });
    expect(deployedSettings(root, { stage: 'dev' }).settings).toMatchObject({ logLevel: 'ALL', executionData: false });
    expect(deployedSettings(root, { stage: 'dev', inspectable: true }).settings).toMatchObject({ logLevel: 'ALL', executionData: true });
    expect(() => deployedSettings(root, { stage: 'production', inspectable: true })).toThrow(/"production" is a production stage/);
  });

  it('prices the monitoring as deployed: no dashboard unless asked for, no platform records', () => {
    const root = new URL('../../../', import.meta.url).pathname;
    const plain = deployedSettings(root).settings;
    expect(plain).toMatchObject({ dashboards: 0, lambdaPlatformLogs: false });
    const withDashboard = deployedSettings(root, { dashboard: true }).settings;
    expect(withDashboard.dashboards).toBe(1);
    const measured = FIXED_MEASURED;
    const difference = computeBill(withDashboard, measured).totalUsd - computeBill(plain, measured).totalUsd;
    expect(difference).toBeCloseTo(3, 6);
    // Lambda's platform records are a share of the function logs: pricing them back costs more.
    expect(computeBill({ ...plain, lambdaPlatformLogs: true }, measured).totalUsd).toBeGreaterThan(computeBill(plain, measured).totalUsd + 1);
  });
});

describe("the high master lane's own event source, priced by flag", () => {
  it('--high-window and --high-pollers change only the high lane, and a 20 s window costs less than 1 s', async () => {
    const { costSettings, DEFAULTS } = await import('../../../tools/bench/cost/main.js');
    const root = new URL('../../../', import.meta.url).pathname;
    const d = deployedSettings(root).settings;
    const base = { ...DEFAULTS, lanes: true, executionData: true };
    const overridden = new Set<string>();
    const batched = costSettings(d, { ...base, highWindow: 20 }, false, overridden);
    expect(batched.highLane).toEqual({ ...d.highLane, windowSeconds: 20 });
    expect(overridden.has('highLane')).toBe(true);
    expect(costSettings(d, { ...base, highPollers: 2 }).highLane).toEqual({ ...d.highLane, pollers: 2 });
    expect(costSettings(d, base).highLane).toEqual(d.highLane);
    const bill = (s: typeof d) => computeBill(s, FIXED_MEASURED).totalUsd;
    expect(bill(batched)).toBeLessThan(bill(costSettings(d, base)));
  });
});
