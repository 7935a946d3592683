/**
 * The functions' metrics on the local stack, as CloudWatch would see them: an EMF sink that parses the
 * `_aws` lines the functions write (each stack's functions hand theirs to that stack's sink: `take` is
 * their line listener, functions/metrics.ts) and keeps, per namespace, metric and dimension values, the sum,
 * sample count, minimum and maximum; and a tiny JSON endpoint on 127.0.0.1 that serves them, read by
 * `dispatch metrics` (tools/cli/commands/metrics.ts) through the stack file.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { localOnly } from './emulators/local-only.js';

/** One datapoint of an EMF line: a value of one metric under one of its dimension sets. */
export interface Datapoint {
  readonly namespace: string;
  readonly name: string;
  readonly unit: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly value: number;
}

/** What the sink keeps per namespace, metric and dimension values. */
export interface MetricRow {
  readonly namespace: string;
  readonly name: string;
  readonly unit: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly sum: number;
  readonly samples: number;
  readonly min: number;
  readonly max: number;
}

export interface MetricsReport {
  readonly since: string;
  /** EMF lines received, and their bytes (what they would add to the functions' log on AWS). */
  readonly lines: number;
  readonly bytes: number;
  readonly rows: MetricRow[];
}

interface EmfDocument {
  readonly _aws?: {
    readonly CloudWatchMetrics?: ReadonlyArray<{
      readonly Namespace?: string;
      readonly Dimensions?: ReadonlyArray<readonly string[]>;
      readonly Metrics?: ReadonlyArray<{ readonly Name?: string; readonly Unit?: string }>;
    }>;
  };
  readonly [key: string]: unknown;
}

/** The datapoints of one EMF line (CloudWatch's reading of it); none for a line that is not EMF. */
export function parseEmfLine(line: string): Datapoint[] {
  let doc: EmfDocument;
  try {
    doc = JSON.parse(line) as EmfDocument;
  } catch {
    return [];
  }
  const points: Datapoint[] = [];
  for (const directive of doc?._aws?.CloudWatchMetrics ?? []) {
    const sets = directive.Dimensions?.length ? directive.Dimensions : [[]];
    for (const metric of directive.Metrics ?? []) {
      if (!metric.Name) continue;
      const raw = doc[metric.Name];
      const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is number => typeof v === 'number');
      for (const set of sets) {
        const dimensions = Object.fromEntries(set.map((key) => [key, String(doc[key])]));
        for (const value of values) points.push({ namespace: directive.Namespace ?? '', name: metric.Name, unit: metric.Unit ?? 'None', dimensions, value });
      }
    }
  }
  return points;
}

const rowKey = (p: Pick<Datapoint, 'namespace' | 'name' | 'dimensions'>) =>
  JSON.stringify([p.namespace, p.name, Object.entries(p.dimensions).sort(([a], [b]) => a.localeCompare(b))]);

export interface EmfSink {
  /** Every row, sorted by namespace, name and dimensions. */
  report(): MetricsReport;
  /** The sum of a metric over the rows whose dimensions include `dimensions` (0 when none). */
  sum(name: string, dimensions?: Readonly<Record<string, string>>): number;
  /** Takes an EMF line: the functions' line listener. */
  take(line: string): void;
  reset(): void;
  /** Takes no more lines. */
  stop(): void;
}

/** A sink for the metrics of the functions that hand it their lines. */
export function createEmfSink(): EmfSink {
  let rows = new Map<string, MetricRow>();
  let lines = 0;
  let bytes = 0;
  let since = new Date();
  let stopped = false;
  const take = (line: string) => {
    if (stopped) return;
    const points = parseEmfLine(line);
    if (!points.length) return;
    lines++;
    bytes += Buffer.byteLength(line);
    for (const p of points) {
      const key = rowKey(p);
      const row = rows.get(key);
      rows.set(
        key,
        row
          ? { ...row, sum: row.sum + p.value, samples: row.samples + 1, min: Math.min(row.min, p.value), max: Math.max(row.max, p.value) }
          : { namespace: p.namespace, name: p.name, unit: p.unit, dimensions: p.dimensions, sum: p.value, samples: 1, min: p.value, max: p.value },
      );
    }
  };
  return {
    report: () => ({
      since: since.toISOString(),
      lines,
      bytes,
      rows: [...rows.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, row]) => row),
    }),
    sum: (name, dimensions = {}) =>
      [...rows.values()]
        .filter((r) => r.name === name && Object.entries(dimensions).every(([k, v]) => r.dimensions[k] === v))
        // A metric written under several dimension sets is counted once: under its smallest matching set.
        .filter((r, _, all) => !all.some((o) => o !== r && o.name === r.name && Object.keys(o.dimensions).length < Object.keys(r.dimensions).length))
        .reduce((total, r) => total + r.sum, 0),
    take,
    reset() {
      rows = new Map();
      lines = 0;
      bytes = 0;
      since = new Date();
    },
    stop() {
      stopped = true;
    },
  };
}

export interface MetricsEndpoint {
  /** GET it for the sink's report as JSON. */
  readonly url: string;
  stop(): Promise<void>;
}

/** Serves the sink's report as JSON on 127.0.0.1 (`port` 0: any free port), to this machine's clients only. */
export async function startMetricsEndpoint(sink: EmfSink, port = 0): Promise<MetricsEndpoint> {
  const server = createServer(
    localOnly((req, res) => {
      if (req.method !== 'GET') {
        res.writeHead(405, { allow: 'GET' }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(sink.report())}\n`);
    }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/metrics`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
