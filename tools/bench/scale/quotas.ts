/**
 * The AWS quotas and limits the load model (tools/bench/scale/model.ts) uses: default and raised values, each
 * with the AWS documentation page it comes from (its title). docs/scale.md quotes the same table.
 * "Raised" is what an adjustable quota can be raised to where the documentation names a figure, or the
 * setting's documented maximum; where it names none, the default stays and the note says so.
 */
import type { LimitId, QuotaValues } from './model.js';

export interface QuotaSource {
  /** The AWS documentation page's title. */
  readonly title: string;
  /** What the page says, in short. */
  readonly says: string;
}

export interface LimitInfo {
  readonly id: LimitId;
  readonly name: string;
  /** For tables and lists. */
  readonly short: string;
  readonly unit: string;
  readonly raisedNote: string;
  readonly sources: readonly QuotaSource[];
}

const ESM_SCALING: QuotaSource = {
  title: 'Configuring scaling behavior for SQS event source mappings (AWS Lambda Developer Guide)',
  says:
    'starts with five concurrent batches, adds up to 300 instances per minute; at most 1,000 batches processed ' +
    'simultaneously by one event source mapping; MaximumConcurrency caps the concurrent instances the SQS event source invokes',
};

export const DEFAULT_QUOTAS: QuotaValues = {
  esmMaximumConcurrency: 20,
  esmMaxBatches: 1000,
  lambdaConcurrency: 1000,
  syncExpressConcurrency: 1000,
  startRatePerSecond: 6000,
  tableWriteUnits: 40_000,
  initialWriteUnits: 4000,
  partitionWriteUnits: 1000,
  partitionReadUnits: 3000,
  sqsInFlight: 120_000,
};

export const RAISED_QUOTAS: QuotaValues = {
  ...DEFAULT_QUOTAS,
  // The setting's documented maximum.
  esmMaximumConcurrency: 1000,
  // "Tens of thousands": the smallest such figure.
  lambdaConcurrency: 10_000,
  syncExpressConcurrency: 10_000,
  // Warm throughput: a table can be pre-warmed so that it takes its quota at once.
  initialWriteUnits: 40_000,
};

export const LIMITS: readonly LimitInfo[] = [
  {
    id: 'esm',
    short: 'ESM concurrency',
    name: 'event source mapping: concurrent batches (MaximumConcurrency)',
    unit: 'batches at once',
    raisedNote: 'setting maximum 1000',
    sources: [
      {
        title: 'AWS::Lambda::EventSourceMapping ScalingConfig (AWS CloudFormation Template Reference)',
        says: 'MaximumConcurrency: minimum 2, maximum 1000',
      },
      ESM_SCALING,
    ],
  },
  {
    id: 'lambda',
    short: 'Lambda concurrency',
    name: 'Lambda concurrent executions (account, region)',
    unit: 'executions at once',
    raisedNote: '"tens of thousands"',
    sources: [
      { title: 'Lambda quotas (AWS Lambda Developer Guide)', says: 'concurrent executions: default 1,000, can be increased up to tens of thousands; new accounts have reduced concurrency' },
      {
        title: 'Lambda scaling behavior (AWS Lambda Developer Guide)',
        says: 'each function scales by at most 1,000 execution environments every 10 seconds',
      },
    ],
  },
  {
    id: 'syncExpress',
    short: 'sync Express concurrency',
    name: 'Synchronous Express executions at once',
    unit: 'executions at once',
    raisedNote: '"tens of thousands" (default 1,000-3,700)',
    sources: [
      {
        title: 'Quotas (AWS Step Functions Developer Guide, quotas related to accounts; archived copy, awsdocs/aws-step-functions-developer-guide)',
        says: 'Synchronous Express Workflows concurrent executions: 1,000-3,700 (varies per region), can be increased to tens of thousands',
      },
      {
        title: 'Synchronous and Asynchronous Express Workflows (AWS Step Functions Developer Guide)',
        says: 'synchronous Express execution API calls do not contribute to existing account capacity limits; capacity is provided on demand and scales with sustained workload; surges may be throttled until capacity is available',
      },
    ],
  },
  {
    id: 'startRate',
    short: 'Express start rate',
    name: 'Express executions started per second (token bucket)',
    unit: 'per second',
    raisedNote: 'by request, no figure named',
    sources: [
      {
        title: 'Step Functions service quotas (AWS Step Functions Developer Guide, quotas related to API action throttling)',
        says: 'StartExecution, Express: bucket size 6,000, refill rate 6,000 per second, per account per region',
      },
    ],
  },
  {
    id: 'dynamoTable',
    short: 'DynamoDB table writes',
    name: 'DynamoDB on-demand table write throughput (per table)',
    unit: 'WRU per second',
    raisedNote: 'by request, no figure named',
    sources: [
      {
        title: 'DynamoDB on-demand capacity mode (Amazon DynamoDB Developer Guide)',
        says: 'table-level read and write throughput limit of 40,000 per table by default; a quota increase can be requested',
      },
    ],
  },
  {
    id: 'dynamoInitial',
    short: 'DynamoDB initial on-demand',
    name: 'DynamoDB on-demand initial throughput (new table, or a new peak)',
    unit: 'WRU per second',
    raisedNote: 'pre-warmed (warm throughput)',
    sources: [
      {
        title: 'Understanding DynamoDB warm throughput in different scenarios (Amazon DynamoDB Developer Guide)',
        says: 'a new on-demand table starts with a warm throughput of 4,000 write units per second and 12,000 read units per second',
      },
      {
        title: 'DynamoDB on-demand capacity mode (Amazon DynamoDB Developer Guide)',
        says: 'on-demand accommodates up to double the previous peak instantly; beyond that within 30 minutes it may throttle',
      },
    ],
  },
  {
    id: 'sqsInFlight',
    short: 'SQS in-flight (master)',
    name: 'SQS in-flight messages (master queue, standard)',
    unit: 'messages',
    raisedNote: 'by request, no figure named',
    sources: [
      {
        title: 'Amazon SQS standard queue quotas (Amazon SQS Developer Guide)',
        says: 'approximately 120,000 in-flight messages per standard queue',
      },
    ],
  },
  {
    id: 'sqsApi',
    short: 'SQS API calls',
    name: 'SQS API calls (SendMessageBatch, ReceiveMessage, DeleteMessageBatch) per region',
    unit: 'calls per second',
    raisedNote: '-',
    sources: [
      {
        title: 'Amazon SQS standard queues (Amazon SQS Developer Guide)',
        says: 'standard queues support a nearly unlimited number of API calls per second, per API action',
      },
    ],
  },
  {
    id: 'logs',
    short: 'CloudWatch Logs (execution log)',
    name: 'CloudWatch Logs: the state machine\'s execution log (vended)',
    unit: 'bytes per second',
    raisedNote: 'a cost, not a cap',
    sources: [
      {
        title: 'Logging using CloudWatch Logs (AWS Step Functions Developer Guide)',
        says: 'publishing logs does not block or slow down executions; escaped input or output over 248 KB is truncated',
      },
    ],
  },
  {
    id: 'hotKey',
    short: 'DynamoDB partition (one request_id)',
    name: 'DynamoDB partition: one request_id (a duplicate storm)',
    unit: 'duplicates per second of one request_id',
    raisedNote: 'hard',
    sources: [
      {
        title: 'Understanding DynamoDB warm throughput in different scenarios (Amazon DynamoDB Developer Guide)',
        says: 'each partition is limited to 1,000 write units per second and 3,000 read units per second',
      },
      {
        title: 'powertools-lambda-typescript issue #1573 (not AWS documentation)',
        says: 'a failed conditional write is still paid for as a write, and the read that follows it as a read',
      },
    ],
  },
];

export const limitInfo = (id: LimitId): LimitInfo => {
  const info = LIMITS.find((l) => l.id === id);
  if (!info) throw new Error(`no limit ${id}`);
  return info;
};
