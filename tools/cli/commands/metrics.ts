/**
 * `metrics`: the dispatch's own metrics on the running local stack, as CloudWatch would aggregate them:
 * the functions write Embedded Metric Format lines, the stack keeps their counts (tools/local/metrics.ts) and
 * serves them as JSON at the endpoint named in the stack file.
 */
import { Command } from 'commander';
import type { MetricRow, MetricsReport } from '../../local/metrics.js';
import { readStackFile } from '../stack-file.js';

const num = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(1));
const dims = (row: MetricRow) =>
  Object.entries(row.dimensions)
    .filter(([key]) => key !== 'service')
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');

/** The report as lines of text: a header, then one row per metric and dimension values. */
export function metricsLines(report: MetricsReport): string[] {
  const lines = [`since ${report.since}: ${report.lines} EMF lines (${report.bytes} bytes of function log on AWS)`];
  if (!report.rows.length) return [...lines, 'no metrics yet: send requests (npm run cli -- send --count 30)'];
  const table = report.rows.map((row) => [
    row.namespace,
    row.dimensions.service ?? '',
    row.name,
    dims(row),
    num(row.sum),
    String(row.samples),
    row.unit === 'Count' && row.min === row.max ? '' : `min ${num(row.min)} avg ${num(row.sum / row.samples)} max ${num(row.max)}${row.unit === 'Milliseconds' ? ' ms' : ''}`,
  ]);
  const header = ['namespace', 'service', 'metric', 'dimensions', 'sum', 'samples', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const format = (cells: string[]) => cells.map((cell, i) => (i === 4 || i === 5 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  return [...lines, format(header), ...table.map(format)];
}

export function metricsCommand(): Command {
  return new Command('metrics')
    .description("show the dispatch's metrics (dispatched, duplicates, dead-lettered, failovers, ...) counted by the running local stack")
    .option('--json', 'print the report as JSON')
    .action(async (options: { json?: boolean }) => {
      const stack = readStackFile();
      if (!stack.metricsEndpoint) throw new Error('the running stack serves no metrics (it predates them): restart it with `npm run cli -- up`');
      const response = await fetch(stack.metricsEndpoint, { signal: AbortSignal.timeout(5000) });
      if (!response.ok) throw new Error(`the stack's metrics endpoint answered ${response.status}`);
      const report = (await response.json()) as MetricsReport;
      console.log(options.json ? JSON.stringify(report, null, 2) : metricsLines(report).join('\n'));
    });
}
