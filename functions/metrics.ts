/**
 * The functions' metrics in Embedded Metric Format, written by Powertools Metrics under the names,
 * units and dimensions of core/metrics.ts (which the alarms and the dashboard read too).
 *
 * Each invocation records into its own MetricsRecorder (the local stack runs many invocations at once
 * in one process, so no state is shared between them) and flushes it when the handler ends, returned or
 * thrown: one EMF line per dimension set, written synchronously. Counts of one name and dimension set
 * are summed into one value; durations stay one sample each. A recorder with nothing in it writes
 * nothing. Metrics never change what a handler does: a failing flush is logged and swallowed.
 *
 * Where the lines go (METRICS_OUTPUT, read at each flush): `stdout` by default, what Lambda's log
 * pipeline turns into metrics; `capture`, handed to in-process listeners and not printed (the local
 * stack's counts: local/metrics.ts); `off`.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  METRICS,
  METRICS_OUTPUT_ENV,
  METRICS_OUTPUTS,
  namespaceFromEnvironment,
  type DeadLetterClass,
  type MetricKey,
  type MetricService,
  type MetricSpec,
  type MetricsOutput,
} from '../core/metrics.js';

/** How the forward's reason starts for a message no region took (functions/forward.ts). */
export const NO_REGION_REASON = 'no region accepted the message';

/** The reason class of a dead-lettered message, from the reason its outcome carries. */
export function deadLetterClass(reason: string | undefined): DeadLetterClass {
  if (reason?.startsWith('invalid request:')) return 'invalid';
  if (reason?.startsWith('too large:')) return 'too-large';
  if (reason?.startsWith(NO_REGION_REASON)) return 'no-region';
  return 'other';
}

export function metricsOutput(env: Readonly<Record<string, string | undefined>> = process.env): MetricsOutput {
  const value = env[METRICS_OUTPUT_ENV]?.toLowerCase();
  return (METRICS_OUTPUTS as readonly string[]).includes(value ?? '') ? (value as MetricsOutput) : 'stdout';
}

/** Receives each EMF line (a JSON document) written while METRICS_OUTPUT is `capture`. */
export type MetricLineListener = (line: string) => void;
const listeners = new Set<MetricLineListener>();

/** Listens to the EMF lines of every function in this process; returns how to stop. */
export function onMetricLines(listener: MetricLineListener): () => void {
  listeners.add(listener);
  return () => void listeners.delete(listener);
}

/** Powertools Metrics, with the `capture` and `off` outputs beside its own stdout. */
class DispatchMetrics extends Metrics {
  override publishStoredMetrics(): this {
    const output = metricsOutput();
    if (output === 'stdout') return super.publishStoredMetrics();
    try {
      if (output === 'capture' && this.hasStoredMetrics() && !this.isDisabled()) {
        const line = JSON.stringify(this.serializeMetrics());
        for (const listener of listeners) listener(line);
      }
    } finally {
      this.clearMetrics();
      this.clearDimensions();
      this.clearMetadata();
    }
    return this;
  }
}

interface Entry {
  readonly spec: MetricSpec;
  readonly dimensions: Record<string, string>;
  readonly values: number[];
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((key) => b.includes(key));

export class MetricsRecorder {
  readonly #entries = new Map<string, Entry>();

  constructor(
    readonly service: MetricService,
    private readonly log?: Logger,
  ) {}

  /** Records `value` of a metric, with values for the dimensions of one of its dimension sets. */
  add(key: MetricKey, value: number, dimensions: Record<string, string> = {}): void {
    const spec: MetricSpec = METRICS[key];
    if (spec.service !== this.service) throw new Error(`${spec.name} is emitted by ${spec.service}, not ${this.service} (core/metrics.ts)`);
    const keys = Object.keys(dimensions);
    if (!spec.dimensionSets.some((set) => set.length > 0 && sameSet(set, keys)) && !(keys.length === 0 && spec.dimensionSets.some((set) => set.length === 0))) {
      throw new Error(`${spec.name} has no dimension set [${keys.join(', ')}] (core/metrics.ts)`);
    }
    const id = JSON.stringify([spec.name, Object.entries(dimensions).sort(([a], [b]) => a.localeCompare(b))]);
    const entry = this.#entries.get(id) ?? { spec, dimensions, values: [] };
    this.#entries.set(id, entry);
    if (spec.unit === 'Count' && entry.values.length) entry.values[0] = (entry.values[0] ?? 0) + value;
    else entry.values.push(value);
  }

  get isEmpty(): boolean {
    return this.#entries.size === 0;
  }

  /** Writes what was recorded, one EMF line per dimension set, and forgets it. Never throws. */
  flush(): void {
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    if (!entries.length) return;
    try {
      const namespace = namespaceFromEnvironment(process.env);
      const groups = new Map<string, Entry[]>();
      for (const entry of entries) {
        // A metric with an empty set besides its dimensioned one is also aggregated without the dimensions.
        const total = Object.keys(entry.dimensions).length > 0 && entry.spec.dimensionSets.some((set) => set.length === 0);
        const id = JSON.stringify([Object.entries(entry.dimensions).sort(([a], [b]) => a.localeCompare(b)), total]);
        groups.set(id, [...(groups.get(id) ?? []), entry]);
      }
      for (const [id, group] of groups) {
        const total = (JSON.parse(id) as [unknown, boolean])[1];
        const metrics = new DispatchMetrics({ namespace, serviceName: this.service, ...(this.log ? { logger: this.log } : {}) });
        const dimensions = group[0]!.dimensions;
        if (Object.keys(dimensions).length) metrics.addDimensions(dimensions);
        if (total) metrics.addDimensions({});
        for (const { spec, values } of group) for (const value of values) metrics.addMetric(spec.name, spec.unit, value);
        metrics.publishStoredMetrics();
      }
    } catch (error) {
      this.log?.warn('metrics not written', { error: `${(error as Error).name}: ${(error as Error).message}` });
    }
  }
}

/** Runs one invocation's work with a recorder, flushed when the work ends, returned or thrown. */
export async function withMetrics<T>(service: MetricService, log: Logger | undefined, work: (metrics: MetricsRecorder) => Promise<T>): Promise<T> {
  const metrics = new MetricsRecorder(service, log);
  try {
    return await work(metrics);
  } finally {
    metrics.flush();
  }
}
