/**
 * The dispatch's own CloudWatch metrics, written by the functions in Embedded Metric Format
 * (functions/metrics.ts, Powertools Metrics) and read by the alarms and the dashboard
 * (stacks/monitoring.ts): their names, units, dimensions and the function that emits each, in one place,
 * so that the infrastructure tests can check that every metric an alarm or a widget reads is one that a
 * function writes. Names only: no AWS import, no emitting code.
 *
 * Cost: CloudWatch bills each unique namespace + name + dimension set as one custom metric ($0.30 a
 * month, prorated by the hour it receives data). Every metric carries Powertools' `service` dimension
 * (always the one function that emits it, so it adds no combinations); the only other dimensions are a
 * region pair, a region, or a reason class, so the whole set is bounded: see `metricCount`.
 */
import { APP_NAME } from './topology.js';

/** Namespace prefix; the app and the stage follow it (one namespace per app and stage). */
export const METRIC_NAMESPACE = 'InferenceDispatch';
export const metricNamespace = (stage: string, app: string = APP_NAME): string => `${METRIC_NAMESPACE}/${app}/${stage}`;

/** Powertools Metrics adds this dimension to every metric, valued with the emitting function's service name. */
export const SERVICE_DIMENSION = 'service';

/** The functions that emit metrics, by the service name their metrics carry. */
export const METRIC_SERVICES = ['intake', 'select', 'forward'] as const;
export type MetricService = (typeof METRIC_SERVICES)[number];

export const DIMENSION = {
  /** Why a message went to the dispatch DLQ, as a class (DEAD_LETTER_CLASSES). */
  reasonClass: 'ReasonClass',
  /** The region a message failed over from, and the one that took it. */
  from: 'From',
  to: 'To',
  region: 'Region',
} as const;

/**
 * Why a message was dead-lettered, as a class with few values (each value is a custom metric):
 * invalid input (not JSON, schema), too large for an execution, no region would take it, anything else.
 */
export const DEAD_LETTER_CLASSES = ['invalid', 'too-large', 'no-region', 'other'] as const;
export type DeadLetterClass = (typeof DEAD_LETTER_CLASSES)[number];

export interface MetricSpec {
  readonly name: string;
  readonly unit: 'Count' | 'Milliseconds';
  /** The one function that emits it (its `service` dimension). */
  readonly service: MetricService;
  /**
   * The dimension sets it is written with, besides `service` (an empty set: `service` alone). A metric
   * with two sets is aggregated under both by CloudWatch from one EMF line (a total and a breakdown).
   */
  readonly dimensionSets: readonly (readonly string[])[];
  readonly description: string;
}

export const METRICS = {
  dispatched: {
    name: 'Dispatched',
    unit: 'Count',
    service: 'intake',
    dimensionSets: [[]],
    description: 'messages of the batch placed in a regional queue (outcome dispatched)',
  },
  duplicates: {
    name: 'DuplicatesDropped',
    unit: 'Count',
    service: 'intake',
    dimensionSets: [[]],
    description: 'messages dropped as duplicates: repeats within the batch and request_ids already dispatched, dead-lettered or accepted',
  },
  deadLettered: {
    name: 'DeadLettered',
    unit: 'Count',
    service: 'intake',
    dimensionSets: [[DIMENSION.reasonClass]],
    description: 'messages sent to the dispatch DLQ, by reason class',
  },
  retried: {
    name: 'Retried',
    unit: 'Count',
    service: 'intake',
    dimensionSets: [[]],
    description: 'messages returned to the master queue (batch item failures): busy claims, unconfirmed sends, failed executions',
  },
  batchSize: {
    name: 'BatchSize',
    unit: 'Count',
    service: 'intake',
    dimensionSets: [[]],
    description: 'records in the batch the event source delivered (SampleCount: batches; Sum: messages)',
  },
  executionDuration: {
    name: 'ExecutionDuration',
    unit: 'Milliseconds',
    service: 'intake',
    dimensionSets: [[]],
    description: 'how long the intake waited for each synchronous dispatch execution',
  },
  failedOver: {
    name: 'FailedOver',
    unit: 'Count',
    service: 'forward',
    dimensionSets: [[DIMENSION.from, DIMENSION.to], []],
    description: 'messages a region refused that another region took, per (From, To) and in total',
  },
  sendsUnconfirmed: {
    name: 'SendsUnconfirmed',
    unit: 'Count',
    service: 'forward',
    dimensionSets: [[DIMENSION.region]],
    description: 'messages whose send to a region had no answer (they may be in its queue; retried in place, never failed over)',
  },
  claimsTakenOver: {
    name: 'ClaimsTakenOver',
    unit: 'Count',
    service: 'select',
    dimensionSets: [[]],
    description: 'claims taken over from an earlier run that ended without settling them (a released or expired lease)',
  },
} as const satisfies Record<string, MetricSpec>;

export type MetricKey = keyof typeof METRICS;

/**
 * How many custom metrics the set can be at most, for `regions` regions: one per dimension-set value
 * combination. The steady state (no failure) is the intake's five undimensioned metrics and the select's
 * one; the rest appear only in the hours they have data.
 */
export function metricCount(regions: number): { steady: number; max: number } {
  let max = 0;
  for (const spec of Object.values(METRICS) as MetricSpec[]) {
    for (const set of spec.dimensionSets) {
      let combinations = 1;
      for (const dimension of set) {
        if (dimension === DIMENSION.reasonClass) combinations *= DEAD_LETTER_CLASSES.length;
        if (dimension === DIMENSION.region) combinations *= regions;
      }
      // From and To: ordered pairs of distinct regions.
      if (set.includes(DIMENSION.from) && set.includes(DIMENSION.to)) combinations *= regions * (regions - 1);
      max += combinations;
    }
  }
  const steady = (Object.values(METRICS) as MetricSpec[]).filter(
    (spec) => spec.service !== 'forward' && spec.dimensionSets.length === 1 && spec.dimensionSets[0]?.length === 0,
  ).length;
  return { steady, max };
}

/**
 * Where the functions' EMF lines go (read at each flush, so the local runtime may set it after import):
 * `stdout` (the default, what Lambda's log pipeline turns into metrics), `capture` (handed to in-process
 * listeners, nothing printed: the local stack's counts), `off`.
 */
export const METRICS_OUTPUT_ENV = 'METRICS_OUTPUT';
export const METRICS_OUTPUTS = ['stdout', 'capture', 'off'] as const;
export type MetricsOutput = (typeof METRICS_OUTPUTS)[number];

/** Powertools' own variable for the namespace; the local runtime sets it. */
export const METRICS_NAMESPACE_ENV = 'POWERTOOLS_METRICS_NAMESPACE';

/**
 * The namespace the functions write to: POWERTOOLS_METRICS_NAMESPACE when set; else the stage SST
 * gives every deployed function (SST_RESOURCE_App = {"name", "stage"}); else the "local" stage.
 */
export function namespaceFromEnvironment(env: Readonly<Record<string, string | undefined>>): string {
  const explicit = env[METRICS_NAMESPACE_ENV];
  if (explicit) return explicit;
  try {
    const app = JSON.parse(env.SST_RESOURCE_App ?? 'null') as { name?: unknown; stage?: unknown } | null;
    if (typeof app?.stage === 'string' && app.stage) return metricNamespace(app.stage, typeof app.name === 'string' && app.name ? app.name : APP_NAME);
  } catch {
    // Not SST's JSON: the local default.
  }
  return metricNamespace('local');
}
