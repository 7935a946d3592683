/** The load model of `npm run bench:scale` (tools/bench/scale/model.ts): hand-computed figures, which limit binds first. */
import { describe, expect, it } from 'vitest';
import {
  bindingOrder,
  bindsFirst,
  duplicatesPerSecondOfOneKey,
  lambdaPerBatch,
  limitRates,
  logBytesPerSecond,
  rampMinutes,
  timing,
  writesPerMessage,
  type LimitId,
  type ModelInput,
  type QuotaValues,
} from '../../../tools/bench/scale/model.js';
import { DEFAULT_QUOTAS, LIMITS, RAISED_QUOTAS } from '../../../tools/bench/scale/quotas.js';

/** The deployed shape: batch 10, window 1 s, ESM 20, 3 regions, Map concurrency 10. */
const input: ModelInput = {
  settings: { batchSize: 10, batchingWindowSeconds: 1, esmMaximumConcurrency: 20, regions: 3, mapConcurrency: 10 },
  measured: { localExecutionMs: 50, workflowWritesPerMessage: 2, workerWritesPerMessage: 1, logBytesPerMessage: 50_000 },
  latency: { serviceCallMs: 10, invokeMs: 25, crossRegionSendMs: 70, startSyncMs: 30 },
  batchFill: 10,
};

const quotas = (overrides: Partial<QuotaValues> = {}): QuotaValues => ({ ...DEFAULT_QUOTAS, esmMaximumConcurrency: 20, ...overrides });
const rateOf = (id: LimitId, q: QuotaValues, i: ModelInput = input) => {
  const row = limitRates(i, q).find((r) => r.id === id);
  if (!row) throw new Error(`no ${id}`);
  return row.requestsPerSecond;
};

describe('timing of one batch on AWS', () => {
  it('adds the critical path to the local execution: 2 DynamoDB rounds, 3 invokes, 1 cross-region send', () => {
    // 2 x 10 + 3 x 25 + 70 = 165; 50 + 165 = 215; + 30 = 245.
    expect(timing(input)).toEqual({ mapRounds: 1, criticalPathMs: 165, executionMs: 215, intakeMs: 245 });
  });

  it('counts one DynamoDB round per Map concurrency of messages', () => {
    // 10 messages at 4 at a time: 3 rounds per Map, 2 Maps: 6 x 10 + 75 + 70 = 205.
    const t = timing({ ...input, settings: { ...input.settings, mapConcurrency: 4 } });
    expect(t.mapRounds).toBe(3);
    expect(t.criticalPathMs).toBe(205);
  });
});

describe('requests per second each limit allows', () => {
  it('event source mapping: 20 batches x 10 messages / 0.245 s', () => {
    expect(rateOf('esm', quotas())).toBeCloseTo(816.33, 2);
  });

  it('caps the ESM at 1,000 batches whatever MaximumConcurrency says', () => {
    const row = limitRates(input, quotas({ esmMaximumConcurrency: 5000 })).find((r) => r.id === 'esm');
    expect(row?.value).toBe(1000);
    expect(row?.requestsPerSecond).toBeCloseTo((1000 * 10) / 0.245, 6);
  });

  it('Lambda: 1,000 concurrent / 4 per batch (intake + 3 forwards) x 10 / 0.245 s', () => {
    expect(lambdaPerBatch(input.settings)).toBe(4);
    expect(rateOf('lambda', quotas())).toBeCloseTo(10_204.08, 2);
  });

  it('synchronous Express: 1,000 at once x 10 / 0.215 s (the execution, not the intake)', () => {
    expect(rateOf('syncExpress', quotas())).toBeCloseTo(46_511.63, 2);
  });

  it('start rate: 6,000 executions/s x the messages per execution', () => {
    expect(rateOf('startRate', quotas())).toBe(60_000);
    expect(rateOf('startRate', quotas(), { ...input, batchFill: 5 })).toBe(30_000);
  });

  it('DynamoDB: 40,000 WRU / 3 writes per message; a new table 4,000 / 3', () => {
    expect(writesPerMessage(input.measured)).toBe(3);
    expect(rateOf('dynamoTable', quotas())).toBeCloseTo(13_333.33, 2);
    expect(rateOf('dynamoInitial', quotas())).toBeCloseTo(1_333.33, 2);
  });

  it('SQS in flight: 120,000 / 0.245 s in flight per message', () => {
    expect(rateOf('sqsInFlight', quotas())).toBeCloseTo(489_795.92, 2);
  });

  it('a hot request_id: each duplicate costs 1 WRU and 1 RRU of a 1,000 WRU / 3,000 RRU partition: 750 per second', () => {
    expect(duplicatesPerSecondOfOneKey(DEFAULT_QUOTAS)).toBeCloseTo(750, 9);
    expect(rateOf('hotKey', quotas())).toBeCloseTo(750, 9);
  });

  it('SQS API calls and the execution log are no caps', () => {
    expect(rateOf('sqsApi', quotas())).toBe(Number.POSITIVE_INFINITY);
    expect(rateOf('logs', quotas())).toBe(Number.POSITIVE_INFINITY);
    // 50,000 bytes per message at 816 requests/s: 40.8 MB/s.
    expect(logBytesPerSecond(input.measured, 816)).toBe(40_800_000);
  });
});

describe('which limit binds first', () => {
  it('as deployed (MaximumConcurrency 20, default quotas): the event source mapping', () => {
    const first = bindsFirst(limitRates(input, quotas()));
    expect(first.id).toBe('esm');
    expect(first.requestsPerSecond).toBeCloseTo(816.33, 2);
  });

  it('MaximumConcurrency raised to 1,000 with the default 1,000 Lambda concurrency: Lambda', () => {
    const first = bindsFirst(limitRates(input, quotas({ esmMaximumConcurrency: 1000 })));
    expect(first.id).toBe('lambda');
    expect(first.requestsPerSecond).toBeCloseTo(10_204.08, 2);
  });

  it('with the raised quotas: the table\'s 40,000 WRU, then the ESM, then the start rate', () => {
    const rates = limitRates(input, RAISED_QUOTAS);
    expect(bindsFirst(rates).id).toBe('dynamoTable');
    expect(bindingOrder(rates).map((r) => r.id).slice(0, 3)).toEqual(['dynamoTable', 'esm', 'startRate']);
  });

  it('with a slower execution the order holds but every concurrency cap falls: 20 x 10 / 0.53 s', () => {
    const slow = { ...input, measured: { ...input.measured, localExecutionMs: 335 } };
    const first = bindsFirst(limitRates(slow, quotas()));
    expect(first.id).toBe('esm');
    expect(first.requestsPerSecond).toBeCloseTo(200 / 0.53, 6);
  });

  it('leaves the transient and per-key limits out: a new table\'s 1,333/s does not bind first at sustained load', () => {
    const rates = limitRates(input, { ...RAISED_QUOTAS, initialWriteUnits: 4000 });
    const initial = rates.find((r) => r.id === 'dynamoInitial');
    expect(initial?.requestsPerSecond).toBeLessThan(bindsFirst(rates).requestsPerSecond);
    expect(bindsFirst(rates).id).toBe('dynamoTable');
    expect(bindingOrder(rates).map((r) => r.id)).not.toContain('dynamoInitial');
    expect(bindingOrder(rates).map((r) => r.id)).not.toContain('hotKey');
  });

  it('with raised quotas a slow batch hands the cap back to the ESM: an intake of 1 s allows 1,000 x 10 / 1 s < 13,333', () => {
    // 805 local + 165 round trips = 970 ms execution, + 30 = 1,000 ms intake.
    const slow = { ...input, measured: { ...input.measured, localExecutionMs: 805 } };
    expect(timing(slow).intakeMs).toBe(1000);
    const first = bindsFirst(limitRates(slow, RAISED_QUOTAS));
    expect(first.id).toBe('esm');
    expect(first.requestsPerSecond).toBeCloseTo(10_000, 6);
  });

  it('a table quota raised far enough hands the cap to the ESM: 1,000 x 10 / 0.245 s', () => {
    const first = bindsFirst(limitRates(input, { ...RAISED_QUOTAS, tableWriteUnits: 200_000 }));
    expect(first.id).toBe('esm');
    expect(first.requestsPerSecond).toBeCloseTo(40_816.33, 2);
  });
});

describe('the quota table', () => {
  it('names a documentation source for every limit the model computes', () => {
    const ids = limitRates(input, quotas()).map((r) => r.id).sort();
    expect(LIMITS.map((l) => l.id).sort()).toEqual(ids);
    for (const limit of LIMITS) expect(limit.sources.length, limit.id).toBeGreaterThan(0);
  });

  it('the ESM ramp: 300 more concurrent batches a minute, from 5 to 1,000 in 995 / 300 minutes', () => {
    expect(rampMinutes(5, 1000, 300)).toBeCloseTo(3.3167, 4);
    expect(rampMinutes(20, 5, 300)).toBe(0);
  });
});

describe('the figures `npm run bench:scale` reads from the cost bench', () => {
  it("counts the workers' fence writes as measured (accept and complete), not one", async () => {
    const { execFileSync } = await import('node:child_process');
    const { readFileSync } = await import('node:fs');
    const measured = JSON.parse(readFileSync(new URL('../../../tools/bench/cost/measured.json', import.meta.url), 'utf8')) as {
      workers: { perMessage: Record<string, number> };
    };
    const out = JSON.parse(execFileSync('npx', ['tsx', 'tools/bench/scale/main.ts', '--json'], { encoding: 'utf8' })) as {
      measured: { workerWritesPerMessage: number; workflowWritesPerMessage: number };
    };
    expect(measured.workers.perMessage['dynamodb.UpdateItem']).toBe(2);
    expect(out.measured.workerWritesPerMessage).toBe(2);
    expect(writesPerMessage(out.measured as never)).toBe(out.measured.workflowWritesPerMessage + 2);
  }, 60_000);
});
