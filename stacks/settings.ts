/**
 * Deployment settings that are choices, not contracts: the functions' tunables (read through
 * core/config.ts) and the intake subscription's throttles. Pure data, no AWS import.
 */
import { z } from 'zod';
import { DEFAULT_RECORD_LIFETIME_SECONDS, REDRIVE_WINDOW_SECONDS, SQS_BATCH_SIZE, TIMEOUTS } from '../core/topology.js';

/** Environment values shared by the four functions (names as core/config.ts reads them). */
export const FUNCTION_SETTINGS = {
  CACHE_TTL: '5',
  MAX_QUEUE_DEPTH_THRESHOLD: '5000',
  // The defaults; a stage may set its own (RECORD_LIFETIME_ENV below, checked in stacks/table.ts).
  // 21 days, not the original's 7: a record must outlive the 14 days a DLQ keeps a copy, plus the window.
  IDEMPOTENCY_TTL_SECONDS: String(DEFAULT_RECORD_LIFETIME_SECONDS),
  REDRIVE_WINDOW_SECONDS: String(REDRIVE_WINDOW_SECONDS),
  // Longer than the intake and any execution it starts, shorter than the master visibility timeout,
  // so the redelivery of a crashed batch can take its claims over (core/topology.ts TIMEOUTS).
  CLAIM_LEASE_SECONDS: String(TIMEOUTS.claimLeaseSeconds),
  LOG_LEVEL: 'INFO',
  SELECTION_POLICY: 'least-wait',
} as const;

/**
 * Memory of each function (MB). The task functions are I/O-bound; the intake and the forward hold up to
 * 10 bodies of 256 KiB. The cost model (tools/bench/cost/main.ts) reads these.
 */
export const FUNCTION_MEMORY_MB = {
  // Waits on its synchronous execution most of its time: 256 MB holds 10 bodies of 256 KiB many times
  // over, and halves the GB-seconds of that wait ($0.90 a month at 100,000 requests a day).
  intake: 256,
  snapshot: 256,
  select: 256,
  forward: 512,
} as const;

export const INTAKE_SUBSCRIPTION = {
  batchSize: SQS_BATCH_SIZE,
  // Wait up to 20 s to fill a batch. Every batch pays an execution, four invocations and ~20 log records
  // whatever its size, so at 100,000 requests a day (about 1 a second over 5 pollers) a 1 s window makes
  // batches of 1.2 and a 20 s one of 5.6: $45 a month less at log level ALL, for 11.6 s of latency on
  // average (20 s at most) before a request that then waits minutes for a GPU (docs/cost.md).
  maximumBatchingWindowInSeconds: 20,
  // Caps intake concurrency (each instance drives one execution that invokes ~5 task functions),
  // well below the account's default 1000 concurrent Lambdas; 20 x 10 messages per ~0.5 s batch is
  // ~400 messages/s, far above the original system's 100,000 a day.
  maximumConcurrency: 20,
} as const;

/**
 * The intake's second subscription, to the master queue's high lane (core/lanes.ts): its own pollers
 * and concurrency, so high requests never queue behind normal batches, and a 1 s window, so they do not
 * wait 20 s for a batch to fill (high traffic is a small share: the extra executions cost little).
 */
export const INTAKE_HIGH_SUBSCRIPTION = {
  batchSize: SQS_BATCH_SIZE,
  maximumBatchingWindowInSeconds: 1,
  maximumConcurrency: 5,
} as const;

export const ALARM_SETTINGS = {
  intakeErrors: { threshold: 5, periodSeconds: 300 },
  /** Oldest message in a regional queue: workers are behind by more than this. */
  regionalAgeSeconds: 900,
  /** A high-priority message should start within minutes, not fifteen: the high lanes' age alarm. */
  highLaneAgeSeconds: 300,
  /** Depth above which a region counts as overloaded (same value the selection policy uses). */
  regionalDepth: Number(FUNCTION_SETTINGS.MAX_QUEUE_DEPTH_THRESHOLD),
  /**
   * Messages failed over to another region (the FailedOver metric, all region pairs), above this in a
   * period. Zero: a failover happens only after a region refused a whole send and its retry, which a
   * healthy region never does; the first one is the warning, while the other regions still take the
   * messages. Once no region takes them they go to the DLQ (whose alarm would be the first sign otherwise).
   */
  failovers: { threshold: 0, periodSeconds: 300, evaluationPeriods: 1 },
  /**
   * Claims taken over from an earlier run (ClaimsTakenOver), above this in a period. Zero: a claim is
   * taken over only after an execution ended without settling its messages (a crash, a timeout, a send
   * or a dead-letter send without an answer), none of which a healthy dispatch does; each such message
   * was in doubt (a copy may already be in a queue) and a repeat of it burns a receive towards the
   * master queue's DLQ.
   */
  claimsTakenOver: { threshold: 0, periodSeconds: 300, evaluationPeriods: 1 },
} as const;

/**
 * X-Ray sampling of the dispatch executions (stacks/tracing.ts: a sampling rule for the state machine,
 * which decides for an execution started without a sampling decision; its task functions follow it).
 * No reservoir and a fixed 5%: the default rule's reservoir of one a second would trace nearly every
 * batch at 100,000 requests a day (a batch every ~5 s). At 100,000 a day with 20 s batching windows
 * (~17,900 executions a day, 543,000 a month) that is ~890 traces a day, ~27,000 a month: $0.14 a month
 * at $5.00 per million traces recorded (inside X-Ray's free 100,000), against ~$2.40 for the default
 * rule; enough traces to read each region's SendMessageBatch latency, not to count anything (the
 * metrics count). See stacks/tracing.ts for when the rule applies.
 */
export const TRACE_SAMPLING = {
  /** Traces a second taken before the fixed rate applies. */
  reservoirPerSecond: 0,
  /** Share of the other executions traced. */
  fixedRate: 0.05,
  /** Before X-Ray's default rule (10000); lower is evaluated first. */
  priority: 100,
} as const;

/**
 * The functions' log levels as Lambda filters them (JSON log format). System WARN: Lambda's own
 * platform.start and platform.report records (two a call, ~$1.60 a month at 100,000 requests a day)
 * are left out; Lambda's Duration, Errors and Throttles metrics count the same calls at no charge.
 * The application level is left to the code (FUNCTION_SETTINGS.LOG_LEVEL), so that raising LOG_LEVEL on
 * a function to debug it is not filtered out by Lambda.
 */
export const FUNCTION_LOG_LEVELS = { system: 'WARN' } as const;

/**
 * The deploy-time variable that adds the stage's CloudWatch dashboard: `on` or `off` (the default).
 * A dashboard costs $3 a month whether anyone opens it; the alarms page, and the same metrics can be
 * graphed in the CloudWatch console at no charge (docs/cost.md, "Levers").
 */
export const DASHBOARD_ENV = 'DISPATCH_DASHBOARD';

/** Thrown at synthesis when DISPATCH_DASHBOARD is neither on nor off. */
export class DashboardSettingError extends Error {
  override readonly name = 'DashboardSettingError';
}

export function dashboardEnabled(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  const raw = env[DASHBOARD_ENV]?.trim().toLowerCase() ?? '';
  if (raw === '' || raw === 'off') return false;
  if (raw === 'on') return true;
  throw new DashboardSettingError(`${DASHBOARD_ENV}=${env[DASHBOARD_ENV]}: expected on or off (unset: off)`);
}

/** Log retention of the functions and the state machine. */
export const LOG_RETENTION_DAYS = 30;

/**
 * The state machine's execution log per stage (docs/cost.md, docs/deploy.md). Execution data (each
 * state's input and output: request bodies, and `input_data_url`, where a presigned URL is a credential)
 * is opt-in: only a stage named in DISPATCH_INSPECTABLE_STAGES at deploy logs it, for 30 days, each
 * dispatch then inspectable in the console. Every other stage logs no data: production stages failures
 * only (ERROR), which the bill at 100,000 requests a day needs; the rest (dev, staging, a personal stage)
 * every execution's path (ALL) without inputs or outputs.
 */
export const PRODUCTION_STAGES: readonly string[] = ['prod', 'production'];

/** The deploy-time variable that names the stages whose executions are logged with their data. */
export const INSPECTABLE_STAGES_ENV = 'DISPATCH_INSPECTABLE_STAGES';

export interface StateMachineLogging {
  readonly level: 'ALL' | 'ERROR' | 'FATAL' | 'OFF';
  readonly includeExecutionData: boolean;
}

/** Thrown at synthesis when DISPATCH_INSPECTABLE_STAGES is malformed or names a production stage. */
export class InspectableStagesError extends Error {
  override readonly name = 'InspectableStagesError';
}

const stageName = z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/, 'is not a stage name (a letter, then letters, digits and -)');

/** The stages named inspectable (comma-separated; blank: none), refusing production stages. */
export function inspectableStages(env: Readonly<Record<string, string | undefined>>): readonly string[] {
  const raw = env[INSPECTABLE_STAGES_ENV]?.trim() ?? '';
  if (!raw) return [];
  const names = raw.split(',').map((name) => name.trim());
  const problems = names.flatMap((name) => {
    const parsed = stageName.safeParse(name);
    if (!parsed.success) return [`"${name}" ${parsed.error.issues[0]!.message}`];
    if (PRODUCTION_STAGES.includes(name)) return [`"${name}" is a production stage: its executions are never logged with their data`];
    return [];
  });
  if (problems.length > 0) throw new InspectableStagesError(`${INSPECTABLE_STAGES_ENV}=${raw}:\n  ${problems.join('\n  ')}`);
  return names;
}

export function stateMachineLogging(stage: string, env: Readonly<Record<string, string | undefined>> = process.env): StateMachineLogging {
  // Read first: a malformed list refuses every stage, a production one included.
  const inspectable = inspectableStages(env);
  if (PRODUCTION_STAGES.includes(stage)) return { level: 'ERROR', includeExecutionData: false };
  return { level: 'ALL', includeExecutionData: inspectable.includes(stage) };
}

/**
 * `sst dev` deploys a stub in place of each live function; when `sst dev` is not running, the stub
 * waits 16 s and then answers the invocation *successfully* with {"statusCode":"500","body":"sst dev
 * is not running ..."}. For the intake that is a batch without failures: the event source mapping
 * would delete every master message it received. So the intake is never live (its deployed code runs
 * under `sst dev` too); the other three may be, because the state machine takes no such answer for a
 * dispatch (test/workflows/ambiguous-outcomes.test.ts) and fails the execution instead.
 */
export const LIVE_IN_SST_DEV = { intake: false, snapshot: true, select: true, forward: true } as const;

/**
 * Under `sst dev` the master queue keeps a message, retried every visibility timeout, for its whole
 * retention (the SQS maximum) rather than sending it to the master DLQ after MAX_RECEIVE_COUNT
 * attempts: while `sst dev` is stopped every execution fails, and those failures say nothing about
 * the message. A message the intake finds invalid is still dead-lettered at once, with its reason.
 */
export const SST_DEV_MASTER_QUEUE = { retentionSeconds: 14 * 24 * 3600 } as const;

/**
 * The record lifetime settings a stage may take from the deployer's environment at `sst deploy`
 * (docs/deploy.md). Unset: the redrive window is 7 days and the lifetime is derived from the queues'
 * retention (stacks/table.ts); a lifetime set below that refuses the stage.
 */
export const RECORD_LIFETIME_ENV = {
  recordLifetime: 'DISPATCH_IDEMPOTENCY_TTL_SECONDS',
  redriveWindow: 'DISPATCH_REDRIVE_WINDOW_SECONDS',
} as const;

export interface RecordLifetimeSettings {
  /** Absent: derived. */
  readonly recordLifetimeSeconds?: number;
  readonly redriveWindowSeconds: number;
}

const wholeSeconds = z.coerce.number({ error: 'must be a number of seconds' }).int('must be a whole number of seconds');

/** Reads RECORD_LIFETIME_ENV (blank counts as unset); throws naming the variable when one is malformed. */
export function recordLifetimeSettings(env: Readonly<Record<string, string | undefined>>): RecordLifetimeSettings {
  const value = (name: string) => (env[name]?.trim() ? env[name] : undefined);
  const parsed = z
    .object({
      [RECORD_LIFETIME_ENV.recordLifetime]: wholeSeconds.positive('must be > 0').optional(),
      [RECORD_LIFETIME_ENV.redriveWindow]: wholeSeconds.min(0, 'must be >= 0').default(REDRIVE_WINDOW_SECONDS),
    })
    .safeParse({
      [RECORD_LIFETIME_ENV.recordLifetime]: value(RECORD_LIFETIME_ENV.recordLifetime),
      [RECORD_LIFETIME_ENV.redriveWindow]: value(RECORD_LIFETIME_ENV.redriveWindow),
    });
  if (!parsed.success) {
    throw new Error(`record lifetime settings:\n  ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n  ')}`);
  }
  const lifetime = parsed.data[RECORD_LIFETIME_ENV.recordLifetime];
  const window = parsed.data[RECORD_LIFETIME_ENV.redriveWindow] as number;
  return { ...(lifetime !== undefined ? { recordLifetimeSeconds: lifetime } : {}), redriveWindowSeconds: window };
}

/**
 * The idempotency table's capacity mode, from the deployer's environment at `sst deploy` (docs/deploy.md,
 * docs/cost.md "Table capacity"): `on-demand` (unset or blank: the default, PAY_PER_REQUEST) or
 * `provisioned:<read units>:<write units>`, a fixed capacity without auto scaling. Auto scaling is left
 * out on purpose: its target tracking adds four CloudWatch alarms to the bill and reacts to minutes of
 * consumption, while a throttled commit gives up after ~13 s (workflows/settle.ts); a fixed capacity is
 * sized once for the peak, with its headroom.
 */
export const TABLE_CAPACITY_ENV = 'DISPATCH_TABLE_CAPACITY';

export type TableCapacity =
  | { readonly mode: 'on-demand' }
  | { readonly mode: 'provisioned'; readonly readUnits: number; readonly writeUnits: number };

export const ON_DEMAND: TableCapacity = { mode: 'on-demand' };

/**
 * The least write capacity a provisioned table may have: one full intake batch's claims (SQS_BATCH_SIZE
 * conditional writes issued together) in a second, without leaning on burst capacity.
 */
export const MIN_PROVISIONED_WRITE_UNITS = SQS_BATCH_SIZE;
/** DynamoDB's default per-table quota of read (and of write) capacity units in us-east-1. */
export const MAX_PROVISIONED_UNITS = 40_000;

/** Thrown at synthesis when DISPATCH_TABLE_CAPACITY is malformed. */
export class TableCapacityError extends Error {
  override readonly name = 'TableCapacityError';
}

const capacityUnits = (what: string, min: number) =>
  z.coerce
    .number({ error: `${what} must be a number` })
    .int(`${what} must be a whole number`)
    .min(min, `${what} must be >= ${min}`)
    .max(MAX_PROVISIONED_UNITS, `${what} must be <= ${MAX_PROVISIONED_UNITS} (the per-table quota)`);

const capacitySchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('on-demand') }),
  z.object({
    mode: z.literal('provisioned'),
    readUnits: capacityUnits('read units', 1),
    writeUnits: capacityUnits(`write units (a full batch's ${SQS_BATCH_SIZE} claims at once)`, MIN_PROVISIONED_WRITE_UNITS),
  }),
]);

/**
 * Parses `on-demand` or `provisioned:<read units>:<write units>`; throws a plain Error saying what is
 * wrong (the callers name where the value came from).
 */
export function parseTableCapacity(text: string): TableCapacity {
  const value = text.trim().toLowerCase();
  const parts = value.split(':');
  const candidate =
    value === 'on-demand'
      ? { mode: 'on-demand' }
      : parts[0] === 'provisioned' && parts.length === 3
        ? { mode: 'provisioned', readUnits: parts[1]?.trim() || undefined, writeUnits: parts[2]?.trim() || undefined }
        : undefined;
  if (!candidate) throw new Error('must be "on-demand" or "provisioned:<read units>:<write units>"');
  const parsed = capacitySchema.safeParse(candidate);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => i.message).join('; '));
  return parsed.data;
}

/** The stage's table capacity from DISPATCH_TABLE_CAPACITY (blank counts as unset: on-demand); throws naming the variable. */
export function tableCapacity(env: Readonly<Record<string, string | undefined>>): TableCapacity {
  const raw = env[TABLE_CAPACITY_ENV]?.trim() ?? '';
  if (!raw) return ON_DEMAND;
  try {
    return parseTableCapacity(raw);
  } catch (error) {
    throw new TableCapacityError(`${TABLE_CAPACITY_ENV}=${raw}: ${(error as Error).message}`);
  }
}
