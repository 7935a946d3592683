/**
 * The small fixed input the bill's hand-worked tests share: one region, one message per execution,
 * 730,000 messages a month, 2 table writes per execution and 2 per message by the workers, and nothing
 * optional. test/tools/bench/cost.test.ts works the bill out from it line by line.
 */
import type { MeasuredFigures } from '../../../tools/bench/cost/figures.js';
import type { CostSettings } from '../../../tools/bench/cost/model.js';

const zeroLogs = { records: 0, messageBytes: 0, ingestedBytes: 0 };
export const FIXED_MEASURED: MeasuredFigures = {
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
export const FIXED_SETTINGS: CostSettings = {
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
