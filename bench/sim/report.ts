/** Printing the simulation's results: one table per scenario and a one-line verdict. */
import { fixed, pct, table } from '../stats.js';
import type { Aggregate } from './aggregate.js';
import type { SimSettings } from './model.js';
import type { Scenario } from './scenarios.js';

const KIND_MARK: Record<Aggregate['kind'], string> = { real: '', 'what-if': ' (what-if)', baseline: ' (baseline)' };
const label = (a: Aggregate) => `${a.contender}${KIND_MARK[a.kind]}`;

/** Lowest mean p95 wait, mean wait as the tie-breaker. */
const better = (a: Aggregate, b: Aggregate) => a.wait.p95 - b.wait.p95 || a.wait.mean - b.wait.mean;

/** One line: who has the lowest p95 wait, whether the runner-up is within the seed-to-seed spread, and the shipped policies' figures. */
export function verdict(results: readonly Aggregate[]): string {
  const ranked = [...results].sort(better);
  const [best, second] = ranked;
  if (!best) return 'no results';
  const close = second && second.p95Range[0] <= best.p95Range[1] ? ` (${label(second)} ${fixed(second.wait.p95)} s is within the seed spread)` : '';
  const shipped = ranked
    .filter((r) => r.kind === 'real')
    .map((r) => `${r.contender} ${fixed(r.wait.p95)} s`)
    .join(' < ');
  return `lowest p95 wait: ${label(best)} ${fixed(best.wait.p95)} s${close}; shipped policies: ${shipped}`;
}

export function describeScenario(scenario: Scenario, settings: SimSettings, seeds: readonly number[]): string {
  const throughput = settings.regions.map((r) => r.workers / r.meanServiceSeconds);
  const total = throughput.reduce((a, b) => a + b, 0);
  const regions = settings.regions
    .map(
      (r, i) =>
        `${r.region} ${r.workers} workers x ${r.meanServiceSeconds} s (capacity ${r.capacity}, ${fixed(throughput[i] as number, 2)}/s` +
        `${r.initialBacklog ? `, ${r.initialBacklog} queued at start` : ''})`,
    )
    .join('; ');
  const seedText = seeds.length > 1 ? `seeds ${seeds[0]}..${seeds.at(-1)}` : `seed ${seeds[0]}`;
  return [
    `== ${scenario.name}: ${scenario.description}`,
    `   ${regions}`,
    `   arrivals ${fixed(settings.arrivalsPerSecond, 2)}/s = ${pct(scenario.load)} of ${fixed(total, 2)}/s; CACHE_TTL ${settings.cacheTtlSeconds} s; ` +
      `threshold ${settings.maxQueueDepthThreshold}; ${settings.durationSeconds} s simulated per run; ${seedText}`,
  ].join('\n');
}

export function resultsTable(results: readonly Aggregate[]): string {
  const first = results[0];
  if (!first) return '';
  const order = first.regions.map((r) => r.region.replace(/^us-/, '')).join(' / ');
  const slash = (values: readonly string[]) => values.join(' / ');
  const many = first.seeds.length > 1;
  return table([
    ['policy', 'wait mean s', 'p95 s', ...(many ? ['p95 range'] : []), 'p99 s', 'max s', `max depth (${order})`, 'share of requests', 'over thr', 'left at end'],
    ...results.map((r) => [
      label(r),
      fixed(r.wait.mean, 2),
      fixed(r.wait.p95),
      ...(many ? [`${fixed(r.p95Range[0])}-${fixed(r.p95Range[1])}`] : []),
      fixed(r.wait.p99),
      fixed(r.wait.max),
      slash(r.regions.map((g) => String(g.maxDepth))),
      slash(r.regions.map((g) => pct(g.share))),
      fixed(r.overThresholdPerRun, 0),
      fixed(r.backlogAtEndPerRun, 0),
    ]),
    ['(share of real capacity)', '', '', ...(many ? [''] : []), '', '', '', slash(first.regions.map((g) => pct(g.capacityShare))), '', ''],
  ]);
}

export const LEGEND = [
  'wait: from arrival in the regional queue to a worker starting the request (mean, p95, p99: means over seeds; max: of any seed)',
  'max depth: longest queue of waiting requests per region; over thr: requests sent (per run) to a region whose true backlog',
  '  was >= the threshold; left at end: requests still queued when arrivals stopped (per run; they drain and count)',
  'real = core/policy.ts as shipped; least-wait+since = with the select function counting every placement since the',
  '  readings (one warm container); plain least-wait = counting none (many containers): the deployed system lies between;',
  '  baseline = bench/sim/baselines.ts (not dispatcher code)',
].join('\n');
