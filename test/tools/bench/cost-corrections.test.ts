/**
 * The cost model's corrections of issue 19 (tools/bench/cost/model.ts), each against a figure worked out
 * by hand: X-Ray priced from the deployed sampling rule, the workers' lane receives, the event source's
 * empty receives only while a poller gathers no batch, and the functions' EMF lines in their log bytes.
 */
import { describe, expect, it } from 'vitest';
import { LaneReceiver, type ReceiveOne } from '../../../worker/lanes.js';
import type { MeasuredFigures } from '../../../tools/bench/cost/figures.js';
import { deployedSettings } from '../../../tools/bench/cost/deployed.js';
import { batchSizeDistribution, computeBill, idleReceivesPerSecond, type CostSettings } from '../../../tools/bench/cost/model.js';
import { TRACE_SAMPLING } from '../../../stacks/settings.js';

const zeroLogs = { records: 0, messageBytes: 0, ingestedBytes: 0 };
const measured: MeasuredFigures = {
  schema: 2,
  measuredAt: '2026-01-01T00:00:00.000Z',
  command: 'test',
  machine: { cores: 1, cpu: 'test', node: 'v24', platform: 'test' },
  code: { commit: null, changedSinceCommit: [], fingerprint: 'test' },
  setup: { stage: 'test', sizes: [1], regionCounts: [1], repeats: 1, functionLogLevel: 'INFO', requests: 'test', notes: [], lanes: true },
  cells: [
    {
      regions: 1,
      messages: 1,
      samples: 1,
      executionMs: [150],
      lambda: { intake: { invocations: 1, ms: 100 }, snapshot: { invocations: 1, ms: 10 }, select: { invocations: 1, ms: 1 }, forward: { invocations: 1, ms: 20 } },
      calls: { 'dynamodb.UpdateItem': 2, 'sqs.home.SendMessageBatch': 1, 'sqs.home.DeleteMessageBatch': 1 },
      logs: { allData: zeroLogs, allNoData: zeroLogs, errorData: zeroLogs, errorNoData: zeroLogs, fatal: zeroLogs },
      functionLogBytes: { intake: 474 },
      functionLogLines: { intake: 1 },
      emfLogBytes: 600,
      emfLogLines: 2,
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

/** 730,000 messages a month, one per execution, one region, nothing optional. */
const base = {
  perDay: 24_000,
  regions: 1,
  batchingWindowSeconds: 0,
  pollers: 1,
  maxBatch: 1,
  cacheTtlSeconds: 0,
  logLevel: 'OFF',
  executionData: false,
  logRetentionDays: 30,
  memoryMb: { intake: 1024, snapshot: 1024, select: 1024, forward: 1024 },
  idempotencyTtlDays: 7,
  duplicates: 0,
  pitr: false,
  xray: false,
  xraySampling: { reservoirPerSecond: 0, fixedRate: 0.05 },
  lambdaPlatformLogs: false,
  alarmMetrics: 0,
  dashboards: 0,
  customMetrics: 0,
  emfLogs: true,
  workers: 0,
  workerSecondsPerRequest: 0,
  workerReceiver: { idleCycleSeconds: 1, receivesPerIdleCycle: 2, normalOnlyWaitSeconds: 1 },
  kmsCallers: 0,
  alarmTopicKeys: 0,
} satisfies CostSettings as CostSettings;

const SECONDS_PER_MONTH = 730 * 3600;
const line = (bill: ReturnType<typeof computeBill>, start: string) => bill.lines.filter((l) => l.component.startsWith(start));

describe('X-Ray: the deployed sampling rule, one trace per sampled execution', () => {
  it('records fixedRate of the executions when the rule has no reservoir (5%: 36,500 of 730,000, $0.1825)', () => {
    const bill = computeBill({ ...base, xray: true, xraySampling: { reservoirPerSecond: 0, fixedRate: 0.05 } }, measured);
    expect(bill.derived.xrayTracesPerMonth).toBeCloseTo(0.05 * 730_000, 6);
    expect(bill.byService['X-Ray']).toBeCloseTo(36_500 * 5e-6, 9);
  });

  it('a reservoir of r a second takes the first r executions of each second before the fixed rate', () => {
    // 730,000 executions a month is 0.2778 a second: a reservoir of 1 takes 1 - e^-0.2778 of the seconds' first, then 5% of the rest.
    const rate = 730_000 / SECONDS_PER_MONTH;
    const reservoir = 1 - Math.exp(-rate);
    const bill = computeBill({ ...base, xray: true, xraySampling: { reservoirPerSecond: 1, fixedRate: 0.05 } }, measured);
    expect(bill.derived.xrayTracesPerMonth).toBeCloseTo(SECONDS_PER_MONTH * (reservoir + 0.05 * (rate - reservoir)), 3);
  });

  it('the deployed rule is the one stacks/settings.ts gives the sampling rule', () => {
    const root = new URL('../../../', import.meta.url).pathname;
    expect(deployedSettings(root).settings.xraySampling).toEqual({
      reservoirPerSecond: TRACE_SAMPLING.reservoirPerSecond,
      fixedRate: TRACE_SAMPLING.fixedRate,
    });
  });
});

describe("the workers' lane receives", () => {
  const lanes = { ...base, highLane: { share: 0.1, windowSeconds: 0, pollers: 1 } } as CostSettings;

  it('a normal message costs the empty high-lane receive before it, a high one its own receive only', () => {
    const bill = computeBill(lanes, measured);
    // 730,000 messages: 10% high (1 receive), 90% normal (2 receives), then 1 delete each: 2.9 x 730,000 requests.
    const worker = line(bill, 'regional queues: workers receive');
    expect(worker).toHaveLength(1);
    expect(worker[0]?.quantity).toBeCloseTo(730_000 * (0.1 * 1 + 0.9 * 2 + 1), 3);
    // Without lanes a worker asks one queue.
    const none = line(computeBill(base, measured), 'regional queues: workers receive');
    expect(none[0]?.quantity).toBeCloseTo(730_000 * 2, 3);
  });

  it('an idle worker makes an idle cycle of receives every idle wait: 2 a second today, $2.10 a month', () => {
    const idle = computeBill({ ...lanes, workers: 1 }, measured);
    const without = computeBill(lanes, measured);
    expect(idle.byService.SQS - without.byService.SQS).toBeCloseTo(2 * SECONDS_PER_MONTH * 0.4e-6, 6);
    expect(idle.derived.idleWorkerUsdPerMonth).toBeCloseTo(2.1024, 4);
    // A receiver whose idle cycle is 9 receives per 100 s: 236,520 a month, $0.0946.
    const longPoll = computeBill({ ...lanes, workerReceiver: { idleCycleSeconds: 100, receivesPerIdleCycle: 9, normalOnlyWaitSeconds: 20 } }, measured);
    expect(longPoll.derived.idleWorkerUsdPerMonth).toBeCloseTo(236_520 * 0.4e-6, 9);
    // Without lanes a worker long-polls the normal lane alone.
    const alone = computeBill({ ...base, workerReceiver: { idleCycleSeconds: 100, receivesPerIdleCycle: 9, normalOnlyWaitSeconds: 20 } }, measured);
    expect(alone.derived.idleWorkerUsdPerMonth).toBeCloseTo((SECONDS_PER_MONTH / 20) * 0.4e-6, 9);
  });

  it("a worker's busy time takes no idle receives: a fleet's idle seconds are its seconds less the requests' GPU time", () => {
    // 2 workers, 730,000 requests of 3 s: 2 x 2,628,000 - 2,190,000 = 3,066,000 idle seconds, 2 receives each.
    const fleet = computeBill({ ...lanes, workers: 2, workerSecondsPerRequest: 3 }, measured);
    expect(line(fleet, 'regional queues: 2 workers')[0]?.quantity).toBeCloseTo(2 * 3_066_000, 3);
  });

  it('the receiver of worker/lanes.ts, on a clock that moves only by its waits, makes the receives the model reads', async () => {
    // A virtual clock: an empty receive resolves after its wait, a sleep after its time; the clock jumps
    // to the earliest of them whenever the receiver is blocked.
    let now = 0;
    const timers: Array<{ at: number; fire: () => void }> = [];
    const after = (seconds: number, fire: () => void) => timers.push({ at: now + seconds, fire });
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    const queues: Record<string, string[]> = { normal: [], high: [] };
    let receives = 0;
    const receive: ReceiveOne = (queueUrl, waitSeconds) => {
      receives++;
      const body = queues[queueUrl]?.shift();
      if (body !== undefined || waitSeconds <= 0) return Promise.resolve(body === undefined ? undefined : { Body: body });
      return new Promise((resolve) => after(waitSeconds, () => resolve(queues[queueUrl]?.shift() === undefined ? undefined : { Body: 'late' })));
    };
    const clock = { now: () => now * 1000, sleep: (ms: number) => new Promise<void>((resolve) => after(ms / 1000, resolve)) };
    const receiver = new LaneReceiver(receive, { normal: 'normal', high: 'high' }, { clock } as ConstructorParameters<typeof LaneReceiver>[2]);
    const drive = async <T>(work: Promise<T>): Promise<T> => {
      let done = false;
      let value: T | undefined;
      void work.then((v) => ((done = true), (value = v)));
      for (;;) {
        await settle();
        if (done) return value as T;
        timers.sort((a, b) => a.at - b.at);
        const next = timers.shift();
        if (!next) throw new Error('the receiver waits on nothing');
        now = next.at;
        next.fire();
      }
    };
    // A message in a lane, the worker busy: a normal one after the empty high-lane receive, a high one at once.
    queues.normal?.push('n');
    expect((await drive(receiver.next()))?.lane).toBe('normal');
    expect(receives).toBe(2);
    receives = 0;
    queues.high?.push('h');
    expect((await drive(receiver.next()))?.lane).toBe('high');
    expect(receives).toBe(1);
    // Idle for a virtual hour: the receives a second the model reads from worker/lanes.ts.
    receives = 0;
    const start = now;
    while (now - start < 3600) await drive(receiver.next());
    const { settings } = deployedSettings(new URL('../../../', import.meta.url).pathname);
    expect(receives / (now - start)).toBeCloseTo(idleReceivesPerSecond(settings.workerReceiver, true), 2);
  });
});

describe("the event source's empty receives", () => {
  it('a poller long-polls 20 s only while it gathers no batch: 1 poller, batches of 1 within a 1 s window', () => {
    // maxBatch 1: each batch closes on its first message at once, no window close; a poller gathers nothing.
    const idle = computeBill({ ...base, xray: false }, measured);
    const receives = line(idle, 'master queue: event source receives')[0];
    expect(receives?.quantity).toBeCloseTo(730_000 + SECONDS_PER_MONTH / 20, 3);
    // A 20 s window and batches of up to 10 at 730,000 a month (0.2778/s): batches gather, and while one
    // gathers its poller receives per message, not every 20 s. E[gathering] = int_0^20 P(N(t) <= 8) dt.
    const windowed = computeBill({ ...base, batchingWindowSeconds: 20, maxBatch: 10 }, measured);
    const rate = 730_000 / SECONDS_PER_MONTH;
    let gathering = 0;
    const steps = 20_000;
    for (let i = 0; i < steps; i++) {
      const t = ((i + 0.5) * 20) / steps;
      let p = 0;
      let term = Math.exp(-rate * t);
      for (let n = 0; n <= 8; n++) {
        p += term;
        term *= (rate * t) / (n + 1);
      }
      gathering += (p * 20) / steps;
    }
    const executions = windowed.derived.executionsPerMonth;
    const closedByWindow = 1 - (batchSizeDistribution({ ratePerSecond: rate, windowSeconds: 20, pollers: 1, maxBatch: 10 })[9] ?? 0);
    const idlePolls = (SECONDS_PER_MONTH - executions * gathering) / 20;
    expect(idlePolls).toBeLessThan(SECONDS_PER_MONTH / 20 / 2); // most of the month a batch is gathering
    // receives = one per message + one per batch closed by its window + the 20 s polls outside batches
    expect(line(windowed, 'master queue: event source receives')[0]?.quantity).toBeCloseTo(730_000 + executions * closedByWindow + idlePolls, 0);
  });
});

describe("the functions' EMF lines", () => {
  it('are log bytes of the functions: their bytes plus 26 per line, per execution', () => {
    const bill = computeBill(base, measured);
    const ingestion = line(bill, 'function logs: ingestion')[0];
    // 730,000 executions x (474 + 26 + 600 + 2 x 26) bytes = 0.84096 GB
    expect(ingestion?.quantity).toBeCloseTo((730_000 * (474 + 26 + 600 + 52)) / 1e9, 9);
    // Without metrics (the floor), no EMF lines.
    expect(line(computeBill({ ...base, emfLogs: false }, measured), 'function logs: ingestion')[0]?.quantity).toBeCloseTo((730_000 * 500) / 1e9, 9);
  });
});
