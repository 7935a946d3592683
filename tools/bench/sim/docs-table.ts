/**
 * Writes docs/benchmarks.md's placement figures from the JSON that `npm run bench:policy -- --out
 * tools/bench/sim/last-run.json` writes: the text between the placement-table markers is replaced, the
 * rest of the file is left alone. `npx tsx tools/bench/sim/docs-table.ts [--json <path>] [--docs <path>]`.
 * test/tools/bench/placement-docs.test.ts fails when the docs differ from what this writes, or when the
 * last run's settings are not today's.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const BEGIN = '<!-- placement-table:begin: written by `npx tsx tools/bench/sim/docs-table.ts` from tools/bench/sim/last-run.json; do not edit by hand -->';
export const END = '<!-- placement-table:end -->';
export const DEFAULT_JSON = 'tools/bench/sim/last-run.json';
export const DEFAULT_DOCS = 'docs/benchmarks.md';

interface IntervalJson {
  mean: number | null;
  low: number | null;
  high: number | null;
}
interface CellJson {
  contender: string;
  kind: string;
  load: number;
  p99: number;
  mean: number;
  p99RatioCI: IntervalJson;
  p99RatioInformedCI: IntervalJson;
  endToEndP99: number;
  endToEndMean: number;
  batchingMean: number;
  batchingP99: number;
  meanBatch: number;
  informationAge: number;
}
export interface BenchJson {
  seeds: number[];
  loads: number[];
  durationSeconds: number;
  sqsLagSeconds: number;
  deployed: { cacheTtlSeconds: number; batchWindowSeconds: number; batchSize: number; pollers: number; maxQueueDepthThreshold: number };
  elapsedSeconds: number;
  targets: Array<{ target: string; load: number; value: number; low: number | null; high: number | null; seeds: number; verdict: string; limit: number; sense: string }>;
  scenarios: Array<{ scenario: string; description: string; cells: CellJson[] }>;
}

const num = (v: number | null | undefined) => (typeof v === 'number' && Number.isFinite(v) ? v : Number.NaN);
const f = (v: number | null | undefined, d = 2) => (Number.isFinite(num(v)) ? num(v).toFixed(d) : '-');
const ci = (i: IntervalJson) => (Number.isFinite(num(i.mean)) ? `${f(i.mean)}${Number.isFinite(num(i.high)) ? ` ±${f((num(i.high) - num(i.low)) / 2)}` : ''}` : '-');
const pct = (l: number) => `${Math.round(l * 100)}%`;

export function placementSection(run: BenchJson): string {
  const loads = run.loads;
  const seedText = run.seeds.length > 1 ? `seeds ${run.seeds[0]}-${run.seeds.at(-1)}` : `seed ${run.seeds[0]}`;
  const d = run.deployed;
  const find = (scenario: string, contender: string, load: number) => run.scenarios.find((s) => s.scenario === scenario)?.cells.find((c) => c.contender === contender && c.load === load);
  const row = (label: string, value: (load: number) => string) => `| ${label} | ${loads.map(value).join(' | ')} |`;
  const head = `| p99 queueing wait | ${loads.map(pct).join(' | ')} |\n|---|${loads.map(() => '---').join('|')}|`;
  const scenarios = run.scenarios.map((s) => s.scenario);
  const lines: string[] = [
    BEGIN,
    `\`npm run bench:policy -- --out ${DEFAULT_JSON}\` (${seedText}, ${run.durationSeconds.toLocaleString('en-US')} s of arrivals per run; ` +
      `the deployed event source: batches of up to ${d.batchSize}, window ${d.batchWindowSeconds} s, ${d.pollers} pollers; CACHE_TTL ${d.cacheTtlSeconds} s; ` +
      `SQS counts ${run.sqsLagSeconds} s behind; ${Math.round(run.elapsedSeconds)} s on this machine). Ratios: mean over seeds of the per-seed ratio, ` +
      '± the half-width of its 95% t-interval over seeds. Queueing wait: regional queue to a worker; end to end: master queue to a worker.',
    '',
    head,
    row('clairvoyant oracle p99 (s)', (l) => f(find('deployed', 'oracle', l)?.p99, 1)),
    row('perfect-information oracle (oracle@now) p99 (s)', (l) => f(find('deployed', 'oracle@now', l)?.p99, 1)),
    row('oracle@now, x clairvoyant', (l) => ci((find('deployed', 'oracle@now', l) as CellJson).p99RatioCI)),
  ];
  for (const scenario of scenarios) {
    const lw = `**${scenario}**: least-wait`;
    if (find(scenario, 'least-wait', loads[0] as number)) {
      lines.push(row(`${lw}, x clairvoyant`, (l) => ci((find(scenario, 'least-wait', l) as CellJson).p99RatioCI)));
      lines.push(row(`${scenario}: least-wait, x oracle@now`, (l) => ci((find(scenario, 'least-wait', l) as CellJson).p99RatioInformedCI)));
    }
    if (scenario === 'deployed' || scenario === 'original-60s') {
      lines.push(row(`${scenario}: seed-inverse${scenario === 'original-60s' ? ' (the original)' : ''}, x clairvoyant`, (l) => ci((find(scenario, 'seed-inverse', l) as CellJson).p99RatioCI)));
    }
  }
  lines.push(row('least-wait@fresh (reference), deployed, x oracle@now', (l) => ci((find('deployed', 'least-wait@fresh', l) as CellJson).p99RatioInformedCI)));
  lines.push(
    '',
    `| deployed, seconds | ${loads.map(pct).join(' | ')} |\n|---|${loads.map(() => '---').join('|')}|`,
    row('least-wait: queueing p99', (l) => f(find('deployed', 'least-wait', l)?.p99, 1)),
    row('least-wait: end to end p99 / mean', (l) => `${f(find('deployed', 'least-wait', l)?.endToEndP99, 1)} / ${f(find('deployed', 'least-wait', l)?.endToEndMean, 1)}`),
    row('clairvoyant oracle: end to end p99 / mean', (l) => `${f(find('deployed', 'oracle', l)?.endToEndP99, 1)} / ${f(find('deployed', 'oracle', l)?.endToEndMean, 1)}`),
    row('batching alone (master queue to the execution): mean / p99', (l) => `${f(find('deployed', 'oracle', l)?.batchingMean, 1)} / ${f(find('deployed', 'oracle', l)?.batchingP99, 1)}`),
    row('messages per execution', (l) => f(find('deployed', 'oracle', l)?.meanBatch, 2)),
  );
  const stale = find('stale-30s-20', 'least-wait', loads[0] as number);
  if (stale) lines.push('', `In stale-30s-20 the information behind each least-wait placement is ${f(stale.informationAge, 1)} s old on average (30 s reading + ${run.sqsLagSeconds} s SQS lag).`);
  lines.push('', 'Targets, from the same run (met or missed only when the whole 95% interval is on one side of the limit):', '', '| target | load | mean [95% interval] | verdict |', '|---|---|---|---|');
  for (const t of run.targets) lines.push(`| ${t.target} | ${pct(t.load)} | ${f(t.value)} [${f(t.low)}, ${f(t.high)}] | ${t.verdict === 'met' ? 'met' : `**${t.verdict}**`} |`);
  lines.push(END);
  return lines.join('\n');
}

/** The docs with the placement section replaced (markers required). */
export function withPlacementSection(docs: string, run: BenchJson): string {
  const a = docs.indexOf(BEGIN);
  const b = docs.indexOf(END);
  if (a < 0 || b < a) throw new Error(`the docs have no placement-table markers (${BEGIN} ... ${END})`);
  return docs.slice(0, a) + placementSection(run) + docs.slice(b + END.length);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (name: string, fallback: string) => {
    const i = process.argv.indexOf(name);
    return i >= 0 && process.argv[i + 1] ? (process.argv[i + 1] as string) : fallback;
  };
  const json = resolve(arg('--json', DEFAULT_JSON));
  const docs = resolve(arg('--docs', DEFAULT_DOCS));
  const run = JSON.parse(readFileSync(json, 'utf8')) as BenchJson;
  writeFileSync(docs, withPlacementSection(readFileSync(docs, 'utf8'), run));
  console.log(`wrote the placement figures of ${arg('--docs', DEFAULT_DOCS)} from ${arg('--json', DEFAULT_JSON)}`);
}
