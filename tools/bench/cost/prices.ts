/**
 * AWS list prices used by the cost model: US East (N. Virginia), on-demand, in US dollars, as read on
 * PRICES_READ_ON from the pages named in each `source` (docs/cost.md lists them with every formula).
 * Prices change: check the pages before quoting a figure. The free tier is kept apart (FREE_TIER): the
 * model's totals are without it, and it is shown as a separate credit.
 */

export const PRICES_READ_ON = '2026-11-30';

export interface Price {
  readonly usd: number;
  readonly per: string;
  readonly source: string;
}

const SQS = 'Amazon SQS pricing (aws.amazon.com/sqs/pricing); SQS developer guide, "Amazon SQS long polling"';
const LAMBDA = 'AWS Lambda pricing (aws.amazon.com/lambda/pricing)';
const SFN = 'AWS Step Functions pricing (aws.amazon.com/step-functions/pricing), Express Workflows';
const DDB = 'Amazon DynamoDB pricing, on-demand (aws.amazon.com/dynamodb/pricing/on-demand), after the November 2024 reduction';
/**
 * The provisioned capacity prices of a Standard table class, per unit-hour. Not changed by the November
 * 2024 reduction (on-demand only); the date is when they were entered here from AWS's published figures
 * (DYNAMO_PROVISIONED_READ_ON), not a reading of the page on PRICES_READ_ON: check the page before quoting.
 */
const DDB_PROVISIONED = 'Amazon DynamoDB pricing, provisioned capacity (aws.amazon.com/dynamodb/pricing/provisioned), Standard table class';
export const DYNAMO_PROVISIONED_READ_ON = '2026-12-07';
const CW = 'Amazon CloudWatch pricing (aws.amazon.com/cloudwatch/pricing), Logs tab (vended logs) and Alarms/Dashboards';
const XRAY = 'AWS X-Ray pricing (aws.amazon.com/xray/pricing); X-Ray developer guide, "Configuring sampling rules"';

export const PRICES = {
  sqsRequest: { usd: 0.4 / 1e6, per: 'request (standard queue; each 64 KiB chunk of a payload is one request)', source: SQS },
  lambdaRequest: { usd: 0.2 / 1e6, per: 'request', source: LAMBDA },
  lambdaArmGbSecond: { usd: 0.0000133334, per: 'GB-second (arm64, first 7.5 billion GB-s a month; duration rounded up to 1 ms)', source: LAMBDA },
  expressRequest: { usd: 1.0 / 1e6, per: 'request (execution started)', source: SFN },
  /** First 1,000 GB-hours a month; then $0.03 and $0.01642 per GB-hour (the model applies the tiers). */
  expressGbSecond: { usd: 0.00001667, per: 'GB-second (64 MB chunks, duration rounded up to 100 ms)', source: SFN },
  dynamoWriteUnit: { usd: 0.625 / 1e6, per: 'write request unit (1 KB of item, the larger of before/after)', source: DDB },
  dynamoReadUnit: { usd: 0.125 / 1e6, per: 'read request unit (4 KB, strongly consistent; half for eventual)', source: DDB },
  dynamoWcuHour: { usd: 0.00065, per: 'provisioned write capacity unit-hour (1 write a second of up to 1 KB)', source: DDB_PROVISIONED },
  dynamoRcuHour: { usd: 0.00013, per: 'provisioned read capacity unit-hour (1 strongly consistent read a second of up to 4 KB)', source: DDB_PROVISIONED },
  dynamoStorageGbMonth: { usd: 0.25, per: 'GB-month (item size + 100 bytes of overhead)', source: DDB },
  dynamoPitrGbMonth: { usd: 0.2, per: 'GB-month of table size (continuous backups)', source: DDB },
  logsIngestGb: { usd: 0.5, per: 'GB ingested (vended logs to CloudWatch Logs Standard, first 10 TB a month)', source: CW },
  logsStorageGbMonth: { usd: 0.03, per: 'GB-month stored (compressed)', source: CW },
  alarmMetric: { usd: 0.1, per: 'standard-resolution alarm metric a month (a metric-math alarm counts each metric)', source: CW },
  dashboard: { usd: 3.0, per: 'dashboard a month', source: CW },
  customMetric: { usd: 0.3, per: 'custom metric a month', source: CW },
  xrayTraceRecorded: { usd: 5.0 / 1e6, per: 'trace recorded', source: XRAY },
  kmsKeyMonth: { usd: 1.0, per: 'customer-managed KMS key a month (its first year; +$1 for each of its first two rotations)', source: 'AWS KMS pricing (aws.amazon.com/kms/pricing)' },
  kmsRequest: { usd: 0.03 / 1e4, per: 'KMS request (the table\'s AWS managed key aws/dynamodb)', source: 'AWS KMS pricing (aws.amazon.com/kms/pricing)' },
  interRegionGb: { usd: 0.02, per: 'GB sent from us-east-1 to another AWS region', source: 'Amazon EC2 on-demand pricing, Data Transfer (aws.amazon.com/ec2/pricing/on-demand)' },
} as const satisfies Record<string, Price>;

/** Express duration tiers: GB-hours a month and the price per GB-hour in each. */
export const EXPRESS_GB_HOUR_TIERS: ReadonlyArray<{ readonly upToGbHours: number; readonly usdPerGbHour: number }> = [
  { upToGbHours: 1000, usdPerGbHour: 0.06 },
  { upToGbHours: 5000, usdPerGbHour: 0.03 },
  { upToGbHours: Number.POSITIVE_INFINITY, usdPerGbHour: 0.01642 },
];

/**
 * The always-free tier (does not expire after 12 months), per month. Step Functions' free tier
 * (4,000 state transitions) is for Standard workflows only: Express has none.
 */
export const FREE_TIER = {
  sqsRequests: 1e6,
  lambdaRequests: 1e6,
  lambdaGbSeconds: 400_000,
  dynamoStorageGb: 25,
  /** Provisioned capacity, in units held all month (the whole account's tables together). */
  dynamoWcu: 25,
  dynamoRcu: 25,
  /** Ingestion, archive storage and Logs Insights scans together. */
  logsGb: 5,
  xrayTraces: 100_000,
  alarmMetrics: 10,
  dashboards: 3,
  customMetrics: 10,
  kmsRequests: 20_000,
} as const;

/** Days in the model's month (730 hours, as AWS's calculators use). */
export const DAYS_PER_MONTH = 730 / 24;
export const SECONDS_PER_MONTH = 730 * 3600;

/** The original system's claim (SEED.md): about $18 a month at 100,000 messages a day. */
export const ORIGINAL_CLAIM = { perDay: 100_000, totalUsd: 18, parts: { Lambda: 5, SQS: 10, DynamoDB: 3 } } as const;
