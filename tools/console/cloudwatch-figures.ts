/**
 * The Regions page's figures on a deployed stage, from CloudWatch (GetMetricData), one point a period
 * (a minute) over the last hour: each region's queue depth and messages in flight (AWS/SQS, its lanes
 * together), the messages sent to its queues (what was dispatched there), the messages that failed over
 * from and to it (the dispatch's FailedOver, core/metrics.ts), and the master queue's and the DLQs'
 * depths. In the shape of the local stack's samples (console/queues.ts Sample), so that the page draws
 * both alike; read again every period, not every few seconds (CloudWatch has a point a minute).
 */
import { Repeater } from './repeater.js';
import { GetMetricDataCommand, type CloudWatchClient, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { DIMENSION, METRICS, SERVICE_DIMENSION } from '../../core/metrics.js';
import type { StackDescription } from '../local/stack.js';
import { queueName } from '../ops/dlq-model.js';
import type { QueueDepth } from '../ops/queue-reader.js';
import type { RegionSample, Sample } from './queues.js';

export interface FiguresOptions {
  /** The dispatch's metric namespace (core/metrics.ts metricNamespace). */
  readonly namespace: string;
  /** Seconds per point (default 60: SQS sends its metrics once a minute). */
  readonly periodSeconds?: number;
  /** How far back (default 60 minutes). */
  readonly windowMinutes?: number;
  readonly now?: () => number;
}

type Queue = { readonly url: string; readonly region: string };

/** One series asked of CloudWatch: a gauge (the last value holds until the next) or a count per period. */
interface SeriesSpec {
  readonly id: string;
  readonly region: string;
  readonly query: MetricDataQuery;
}

const SQS = 'AWS/SQS';
const VISIBLE = 'ApproximateNumberOfMessagesVisible';
const IN_FLIGHT = 'ApproximateNumberOfMessagesNotVisible';
const SENT = 'NumberOfMessagesSent';

export class CloudWatchFigures {
  readonly samples: Sample[] = [];
  readonly intervalMs: number;
  /** Why the last read failed, if it did (the figures before it are kept). */
  private failure?: string;
  private repeater: Repeater | undefined;
  private readonly period: number;
  private readonly window: number;
  private readonly now: () => number;

  constructor(
    private readonly description: StackDescription,
    /** The DLQs as the local sampler labels them (RegionSampler.dlqUrls). */
    private readonly dlqs: ReadonlyArray<{ label: string; url: string; region: string }>,
    private readonly cloudwatch: (region: string) => CloudWatchClient,
    private readonly options: FiguresOptions,
  ) {
    this.period = options.periodSeconds ?? 60;
    this.window = (options.windowMinutes ?? 60) * 60;
    this.intervalMs = this.period * 1000;
    this.now = options.now ?? Date.now;
  }

  dlqUrls() {
    return [...this.dlqs];
  }

  /** What the page says of its figures. */
  note(): string {
    const what =
      `CloudWatch metrics of stage ${this.description.stage}, a point every ${this.period} s over the last ${this.window / 60} min: ` +
      "queue depths and in flight from AWS/SQS; dispatched is what was sent to each region's queues; failed over is the dispatch's FailedOver metric.";
    return this.failure ? `${what} The last read failed (${this.failure}): the figures shown are older.` : what;
  }

  start(): void {
    this.repeater ??= new Repeater(() => this.read(), this.intervalMs);
    this.repeater.start();
  }

  async stop(): Promise<void> {
    await this.repeater?.stop();
  }

  private specs(): { specs: SeriesSpec[]; gauges: Map<string, string[]>; counts: Map<string, string[]> } {
    const d = this.description;
    const specs: SeriesSpec[] = [];
    // Each figure is the sum of its series (a queue and its high lane; a region's failovers to each other).
    const gauges = new Map<string, string[]>();
    const counts = new Map<string, string[]>();
    const add = (into: Map<string, string[]>, figure: string, region: string, namespace: string, metricName: string, dimensions: Record<string, string>, stat: string) => {
      const id = `q${specs.length}`;
      specs.push({
        id,
        region,
        query: {
          Id: id,
          ReturnData: true,
          MetricStat: {
            Metric: { Namespace: namespace, MetricName: metricName, Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })) },
            Period: this.period,
            Stat: stat,
          },
        },
      });
      into.set(figure, [...(into.get(figure) ?? []), id]);
    };
    const depth = (figure: string, queues: readonly Queue[]) => {
      for (const q of queues) {
        add(gauges, `${figure}.visible`, q.region, SQS, VISIBLE, { QueueName: queueName(q.url) }, 'Maximum');
        add(gauges, `${figure}.inFlight`, q.region, SQS, IN_FLIGHT, { QueueName: queueName(q.url) }, 'Maximum');
      }
    };
    const lanes = (url: string, high: string | undefined, region: string): Queue[] => [{ url, region }, ...(high ? [{ url: high, region }] : [])];
    depth('master', lanes(d.masterQueueUrl, d.masterHighQueueUrl, d.homeRegion));
    for (const r of d.regions) {
      const queues = lanes(r.queueUrl, r.highQueueUrl, r.region);
      depth(`region.${r.region}`, queues);
      for (const q of queues) add(counts, `region.${r.region}.dispatched`, q.region, SQS, SENT, { QueueName: queueName(q.url) }, 'Sum');
    }
    for (const q of this.dlqs) depth(`dlq.${q.label}`, [q]);
    // The forward function writes FailedOver per (From, To) in the home region (core/metrics.ts).
    const failedOver = METRICS.failedOver;
    for (const from of d.regions) {
      for (const to of d.regions) {
        if (from.region === to.region) continue;
        const dimensions = { [SERVICE_DIMENSION]: failedOver.service, [DIMENSION.from]: from.region, [DIMENSION.to]: to.region };
        add(counts, `region.${from.region}.failedOverFrom`, d.homeRegion, this.options.namespace, failedOver.name, dimensions, 'Sum');
        add(counts, `region.${to.region}.failedOverTo`, d.homeRegion, this.options.namespace, failedOver.name, dimensions, 'Sum');
      }
    }
    return { specs, gauges, counts };
  }

  /** Reads the window from CloudWatch and replaces the samples with it. */
  async read(): Promise<Sample[]> {
    const end = Math.floor(this.now() / 1000 / this.period) * this.period;
    const start = end - this.window;
    const { specs, gauges, counts } = this.specs();
    const values = new Map<string, Map<number, number>>();
    try {
      const byRegion = new Map<string, SeriesSpec[]>();
      for (const s of specs) byRegion.set(s.region, [...(byRegion.get(s.region) ?? []), s]);
      await Promise.all(
        [...byRegion].map(async ([region, list]) => {
          // GetMetricData takes up to 500 queries a call.
          for (let i = 0; i < list.length; i += 500) {
            let nextToken: string | undefined;
            do {
              const page = await this.cloudwatch(region).send(
                new GetMetricDataCommand({
                  MetricDataQueries: list.slice(i, i + 500).map((s) => s.query),
                  StartTime: new Date(start * 1000),
                  EndTime: new Date(end * 1000),
                  ScanBy: 'TimestampAscending',
                  ...(nextToken ? { NextToken: nextToken } : {}),
                }),
              );
              for (const result of page.MetricDataResults ?? []) {
                const series = values.get(result.Id ?? '') ?? new Map<number, number>();
                (result.Timestamps ?? []).forEach((t, j) => series.set(Math.floor(t.getTime() / 1000), result.Values?.[j] ?? 0));
                values.set(result.Id ?? '', series);
              }
              nextToken = page.NextToken;
            } while (nextToken);
          }
        }),
      );
    } catch (error) {
      const e = error as Error;
      this.failure = `${e.name}: ${e.message}`;
      throw error;
    }
    this.failure = undefined;
    const samples: Sample[] = [];
    const last = new Map<string, number>();
    const total = new Map<string, number>();
    // A gauge holds its last value until the next point (an idle queue sends none); a count adds up.
    const gauge = (figure: string, t: number) =>
      (gauges.get(figure) ?? []).reduce((sum, id) => {
        const v = values.get(id)?.get(t);
        if (v !== undefined) last.set(id, v);
        return sum + (last.get(id) ?? 0);
      }, 0);
    const count = (figure: string, t: number) => {
      const added = (counts.get(figure) ?? []).reduce((sum, id) => sum + (values.get(id)?.get(t) ?? 0), 0);
      total.set(figure, (total.get(figure) ?? 0) + added);
      return total.get(figure) as number;
    };
    const depthAt = (figure: string, t: number): QueueDepth => ({ visible: gauge(`${figure}.visible`, t), inFlight: gauge(`${figure}.inFlight`, t) });
    for (let t = start; t < end; t += this.period) {
      samples.push({
        t: t * 1000,
        master: depthAt('master', t),
        regions: Object.fromEntries(
          this.description.regions.map((r): [string, RegionSample] => {
            const figure = `region.${r.region}`;
            return [
              r.region,
              {
                ...depthAt(figure, t),
                dispatched: count(`${figure}.dispatched`, t),
                failedOverFrom: count(`${figure}.failedOverFrom`, t),
                failedOverTo: count(`${figure}.failedOverTo`, t),
              },
            ];
          }),
        ),
        dlqs: Object.fromEntries(this.dlqs.map((q) => [q.label, depthAt(`dlq.${q.label}`, t)])),
      });
    }
    this.samples.splice(0, this.samples.length, ...samples);
    return samples;
  }
}
