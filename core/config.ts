/**
 * The functions' configuration, read from the environment once per container and validated with zod.
 * A bad value fails at start with a message naming the variable. No AWS import.
 */
import { z } from 'zod';
import {
  DEFAULT_RECORD_LIFETIME_SECONDS,
  HOME_REGION,
  LONGEST_RETENTION_SECONDS,
  MAX_SQS_REQUEST_TIMEOUT_MS,
  REDRIVE_WINDOW_SECONDS,
  recordLifetimeFloor,
  TIMEOUTS,
} from './topology.js';

export const POLICIES = ['least-wait', 'seed-inverse'] as const;
export type PolicyName = (typeof POLICIES)[number];

export interface RegionQueue {
  readonly region: string;
  /** The normal lane (normal and low priority; every message when the region has no high lane). */
  readonly queueUrl: string;
  /** The high-priority lane (core/lanes.ts); absent: high requests share the normal lane. */
  readonly highQueueUrl?: string;
  readonly capacity: number;
}

export interface DispatchConfig {
  readonly homeRegion: string;
  /** In configured order; the workflow has one Forward branch per entry. */
  readonly regions: readonly RegionQueue[];
  readonly cacheTtlSeconds: number;
  readonly maxQueueDepthThreshold: number;
  readonly idempotencyTableName: string;
  /** A record's lifetime after each refresh: at least the longest queue retention + the redrive window. */
  readonly idempotencyTtlSeconds: number;
  readonly redriveWindowSeconds: number;
  readonly claimLeaseSeconds: number;
  /** How long one SQS call may take before the region counts as unreachable. */
  readonly sqsRequestTimeoutMs: number;
  /** How long a region whose send failed gets no new placements (core/health.ts); 0 turns health off. */
  readonly regionHealthSeconds: number;
  readonly logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
  readonly selectionPolicy: PolicyName;
  /** Set for the intake only. */
  readonly stateMachineArn: string | undefined;
  readonly dispatchDeadLetterQueueUrl: string | undefined;
  /** Endpoint overrides for local servers; absent on AWS. */
  readonly endpoints: {
    readonly sqs: Readonly<Record<string, string>>;
    readonly dynamodb: string | undefined;
    readonly stepFunctions: string | undefined;
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const regionName = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region name such as us-west-2');
const queueUrl = z.url({ error: 'must be a queue URL' });
const capacity = z.number().positive('capacity must be > 0').finite();

/**
 * REGION_QUEUES: the original's {"region": "url"} map, or {"region": {"url": "...", "capacity": 2,
 * "highUrl": "..."}} (highUrl: the region's high-priority lane).
 */
const regionQueuesSchema = z
  .record(regionName, z.union([queueUrl, z.strictObject({ url: queueUrl, capacity: capacity.optional(), highUrl: queueUrl.optional() })]))
  .refine((map) => Object.keys(map).length > 0, 'must name at least one region');

const jsonText = <T extends z.ZodType>(schema: T) =>
  z.string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') }).transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be JSON' });
      return z.NEVER;
    }
  }).pipe(schema);

const number = () => z.coerce.number({ error: 'must be a number' });
const seconds = (fallback: number) => number().int('must be a whole number').positive('must be > 0').default(fallback);
const optionalUrl = z.url({ error: 'must be a URL' }).optional();

export const envSchema = z.object({
  HOME_REGION: regionName.default(HOME_REGION),
  REGION_QUEUES: jsonText(regionQueuesSchema),
  REGION_CAPACITY: jsonText(z.record(regionName, capacity)).optional(),
  CACHE_TTL: number().min(0, 'must be >= 0').default(5),
  MAX_QUEUE_DEPTH_THRESHOLD: seconds(5000),
  IDEMPOTENCY_TABLE_NAME: z.string().min(3).max(255).default('inference-dispatch-idempotency-dev'),
  // Checked against the redrive window below (docs/architecture.md, invariant 11). The original's 7 days fell short
  // of the 14 days its DLQs and regional queues keep a copy.
  IDEMPOTENCY_TTL_SECONDS: seconds(DEFAULT_RECORD_LIFETIME_SECONDS),
  REDRIVE_WINDOW_SECONDS: number().int('must be a whole number').min(0, 'must be >= 0').default(REDRIVE_WINDOW_SECONDS),
  // The time budget (core/topology.ts TIMEOUTS): a claim must outlive the intake and a same-name rerun
  // of its execution, and lapse before the master queue delivers the message again.
  CLAIM_LEASE_SECONDS: seconds(TIMEOUTS.claimLeaseSeconds)
    .refine((v) => v >= TIMEOUTS.intakeTimeoutSeconds + TIMEOUTS.dispatchTimeoutSeconds, {
      message: `must be >= the intake timeout + the execution timeout (${TIMEOUTS.intakeTimeoutSeconds} + ${TIMEOUTS.dispatchTimeoutSeconds} = ${TIMEOUTS.intakeTimeoutSeconds + TIMEOUTS.dispatchTimeoutSeconds} s)`,
    })
    .refine((v) => v < TIMEOUTS.masterVisibilitySeconds, {
      message: `must be < the master queue's visibility timeout (${TIMEOUTS.masterVisibilitySeconds} s), so a redelivered message can take its claim over`,
    }),
  // The forward function must finish its sends within its own timeout (core/topology.ts).
  SQS_REQUEST_TIMEOUT_MS: number()
    .int('must be a whole number')
    .min(100, 'must be >= 100')
    .max(MAX_SQS_REQUEST_TIMEOUT_MS, `must be <= ${MAX_SQS_REQUEST_TIMEOUT_MS} (the forward function's time budget)`)
    .default(3000),
  REGION_HEALTH_SECONDS: number().min(0, 'must be >= 0 (0 turns region health off)').default(30),
  LOG_LEVEL: z
    .string()
    .transform((level) => level.toUpperCase())
    .pipe(z.enum(['DEBUG', 'INFO', 'WARN', 'WARNING', 'ERROR', 'SILENT']))
    .transform((level) => (level === 'WARNING' ? 'WARN' : level))
    .default('INFO'),
  SELECTION_POLICY: z.enum(POLICIES).default('least-wait'),
  STATE_MACHINE_ARN: z.string().startsWith('arn:', 'must be a state machine ARN').optional(),
  DISPATCH_DLQ_URL: queueUrl.optional(),
  SQS_ENDPOINTS: jsonText(z.record(regionName, z.url())).optional(),
  DYNAMODB_ENDPOINT: optionalUrl,
  SFN_ENDPOINT: optionalUrl,
});

/** Builds the typed config; throws ConfigError naming every bad variable. */
export function parseConfig(env: Record<string, string | undefined>): DispatchConfig {
  // Empty (or blank) values count as unset, as they do in Lambda's console.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const where = issue.path.join('.') || 'environment';
      // A bad map key: zod says only "Invalid key in record"; say what a key must be.
      return issue.code === 'invalid_key' ? `${where}: "${String(issue.path.at(-1))}" is not an AWS region name such as us-west-2` : `${where}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  const lifetimeFloor = recordLifetimeFloor([LONGEST_RETENTION_SECONDS], e.REDRIVE_WINDOW_SECONDS);
  if (e.IDEMPOTENCY_TTL_SECONDS < lifetimeFloor) {
    // The functions know the retentions the deployment gives every queue (core/topology.ts RETENTION).
    throw new ConfigError(
      `invalid configuration:\n  IDEMPOTENCY_TTL_SECONDS: must be >= the longest queue retention (${LONGEST_RETENTION_SECONDS} s) + ` +
        `REDRIVE_WINDOW_SECONDS (${e.REDRIVE_WINDOW_SECONDS} s) = ${lifetimeFloor} s, so that a record outlives every copy that can refer to it`,
    );
  }
  const regions = Object.entries(e.REGION_QUEUES).map(([region, entry]) => ({
    region,
    queueUrl: typeof entry === 'string' ? entry : entry.url,
    ...(typeof entry !== 'string' && entry.highUrl ? { highQueueUrl: entry.highUrl } : {}),
    capacity: e.REGION_CAPACITY?.[region] ?? (typeof entry === 'string' ? 1 : (entry.capacity ?? 1)),
  }));
  for (const region of Object.keys(e.REGION_CAPACITY ?? {})) {
    if (!regions.some((r) => r.region === region)) {
      throw new ConfigError(`invalid configuration:\n  REGION_CAPACITY: names ${region}, which REGION_QUEUES does not`);
    }
  }
  return {
    homeRegion: e.HOME_REGION,
    regions,
    cacheTtlSeconds: e.CACHE_TTL,
    maxQueueDepthThreshold: e.MAX_QUEUE_DEPTH_THRESHOLD,
    idempotencyTableName: e.IDEMPOTENCY_TABLE_NAME,
    idempotencyTtlSeconds: e.IDEMPOTENCY_TTL_SECONDS,
    redriveWindowSeconds: e.REDRIVE_WINDOW_SECONDS,
    claimLeaseSeconds: e.CLAIM_LEASE_SECONDS,
    sqsRequestTimeoutMs: e.SQS_REQUEST_TIMEOUT_MS,
    regionHealthSeconds: e.REGION_HEALTH_SECONDS,
    logLevel: e.LOG_LEVEL as DispatchConfig['logLevel'],
    selectionPolicy: e.SELECTION_POLICY,
    stateMachineArn: e.STATE_MACHINE_ARN,
    dispatchDeadLetterQueueUrl: e.DISPATCH_DLQ_URL,
    endpoints: { sqs: e.SQS_ENDPOINTS ?? {}, dynamodb: e.DYNAMODB_ENDPOINT, stepFunctions: e.SFN_ENDPOINT },
  };
}

/** A setting one function needs and the others do not: fails naming the variable. */
export function required<T>(value: T | undefined, variable: string): T {
  if (value === undefined) throw new ConfigError(`invalid configuration:\n  ${variable}: is required by this function`);
  return value;
}

let cached: DispatchConfig | undefined;

/** The container's config, parsed from its environment on first use (the deployed functions' entry points). */
export function config(): DispatchConfig {
  cached ??= parseConfig(process.env);
  return cached;
}

/** For code that changes the environment between runs in one process. */
export function resetConfig(): void {
  cached = undefined;
}
