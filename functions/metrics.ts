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
 * Where the lines go and under which namespace is the handler's MetricsDestination: on Lambda, read
 * once from the environment (METRICS_OUTPUT: `stdout` by default, what Lambda's log pipeline turns into
 * metrics; `capture`, handed to this process's listeners; `off`); the local stack hands each stack's
 * lines to its own sink (tools/local/metrics.ts). A recorder given no destination reads the environment
 * at each flush.
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

/** Receives each EMF line (a JSON document). */
export type MetricLineListener = (line: string) => void;
const listeners = new Set<MetricLineListener>();

/** Listens to the EMF lines written with the `capture` output and no line listener of their own; returns how to stop. */
export function onMetricLines(listener: MetricLineListener): () => void {
  listeners.add(listener);
  return () => void listeners.delete(listener);
}

/** Hands a line to every onMetricLines listener. */
export const metricListeners: MetricLineListener = (line) => {
  for (const listener of listeners) listener(line);
};

/** Where a handler's EMF lines go: printed (as on Lambda), handed to a listener, or nowhere. */
export interface MetricsDestination {
  readonly namespace: string;
  readonly write: 'stdout' | 'off' | MetricLineListener;
}

/** A deployed function's destination, from its environment (`capture`: this process's listeners). */
export function metricsFromEnvironment(env: Readonly<Record<string, string | undefined>>): MetricsDestination {
  const output = metricsOutput(env);
  return { namespace: namespaceFromEnvironment(env), write: output === 'capture' ? metricListeners : output };
}

/** Powertools Metrics, with a listener and `off` beside its own stdout. */
class DispatchMetrics extends Metrics {
  readonly #write: MetricsDestination['write'];

  constructor(options: ConstructorParameters<typeof Metrics>[0], write: MetricsDestination['write']) {
    super(options);
    this.#write = write;
  }

  override publishStoredMetrics(): this {
    const write = this.#write;
    if (write === 'stdout') return super.publishStoredMetrics();
    try {
      if (write !== 'off' && this.hasStoredMetrics() && !this.isDisabled()) write(JSON.stringify(this.serializeMetrics()));
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
    private readonly destination?: MetricsDestination,
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
      const { namespace, write } = this.destination ?? metricsFromEnvironment(process.env);
      const groups = new Map<string, Entry[]>();
      for (const entry of entries) {
        // A metric with an empty set besides its dimensioned one is also aggregated without the dimensions.
        const total = Object.keys(entry.dimensions).length > 0 && entry.spec.dimensionSets.some((set) => set.length === 0);
        const id = JSON.stringify([Object.entries(entry.dimensions).sort(([a], [b]) => a.localeCompare(b)), total]);
        groups.set(id, [...(groups.get(id) ?? []), entry]);
      }
      for (const [id, group] of groups) {
        const total = (JSON.parse(id) as [unknown, boolean])[1];
        const metrics = new DispatchMetrics({ namespace, serviceName: this.service, ...(this.log ? { logger: this.log } : {}) }, write);
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
export async function withMetrics<T>(
  service: MetricService,
  log: Logger | undefined,
  destination: MetricsDestination | undefined,
  work: (metrics: MetricsRecorder) => Promise<T>,
): Promise<T> {
  const metrics = new MetricsRecorder(service, log, destination);
  try {
    return await work(metrics);
  } finally {
    metrics.flush();
  }
}
