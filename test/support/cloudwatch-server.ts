/**
 * A CloudWatch metrics endpoint for tests: GetMetricData over the AWS JSON 1.0 protocol the SDK's
 * CloudWatchClient speaks (no emulator here covers CloudWatch metrics). A test sets the points of each
 * metric (namespace, name, dimensions); a query is answered with the points in its time range, and each
 * query is kept, so a test can see what was asked. `failWith` answers every request with that status.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MetricKey {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
}

export interface AskedQuery extends MetricKey {
  readonly stat: string;
  readonly period: number;
}

export interface CloudWatchServer {
  readonly endpoint: string;
  /** Points of a metric: epoch seconds -> value. */
  set(metric: MetricKey, points: ReadonlyArray<readonly [number, number]>): void;
  /** Every query asked so far. */
  readonly asked: AskedQuery[];
  failWith: number | undefined;
  close(): Promise<void>;
}

const keyOf = (m: MetricKey) => JSON.stringify([m.namespace, m.name, Object.entries(m.dimensions).sort(([a], [b]) => a.localeCompare(b))]);

interface Query {
  Id: string;
  MetricStat: { Metric: { Namespace: string; MetricName: string; Dimensions?: Array<{ Name: string; Value: string }> }; Period: number; Stat: string };
}

export async function startCloudWatchServer(): Promise<CloudWatchServer> {
  const series = new Map<string, ReadonlyArray<readonly [number, number]>>();
  const asked: AskedQuery[] = [];
  const state = { failWith: undefined as number | undefined };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const answer = (status: number, json: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify(json));
      };
      if (state.failWith) return answer(state.failWith, { __type: 'InternalServiceError', message: 'injected failure' });
      const action = String(req.headers['x-amz-target'] ?? '').replace(/^GraniteServiceVersion20100801\./, '');
      if (action !== 'GetMetricData') return answer(400, { __type: 'UnknownOperationException', message: `${action} is not served here` });
      const input = JSON.parse(body || '{}') as { MetricDataQueries: Query[]; StartTime: number; EndTime: number };
      const results = input.MetricDataQueries.map((q) => {
        const metric: MetricKey = {
          namespace: q.MetricStat.Metric.Namespace,
          name: q.MetricStat.Metric.MetricName,
          dimensions: Object.fromEntries((q.MetricStat.Metric.Dimensions ?? []).map((d) => [d.Name, d.Value])),
        };
        asked.push({ ...metric, stat: q.MetricStat.Stat, period: q.MetricStat.Period });
        const points = (series.get(keyOf(metric)) ?? []).filter(([t]) => t >= input.StartTime && t < input.EndTime);
        return { Id: q.Id, Label: metric.name, StatusCode: 'Complete', Timestamps: points.map(([t]) => t), Values: points.map(([, v]) => v) };
      });
      return answer(200, { MetricDataResults: results, Messages: [] });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    set: (metric, points) => void series.set(keyOf(metric), points),
    asked,
    get failWith() {
      return state.failWith;
    },
    set failWith(value) {
      state.failWith = value;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
