/**
 * `npm run bench:policy`: the selection policies compared by simulation, driving the real code in
 * core/policy.ts. Prints one table per scenario and a verdict (lowest p95 wait). See docs/benchmarks.md.
 */
import { Command } from 'commander';
import { secondsAtLeast, wholeNumber, choices } from './args.js';
import { aggregate, type Aggregate } from './sim/aggregate.js';
import { simulate, type SimSettings } from './sim/model.js';
import { describeScenario, LEGEND, resultsTable, verdict } from './sim/report.js';
import { CONTENDERS, SCENARIO_NAMES, SCENARIOS, settingsFor } from './sim/scenarios.js';

interface Options {
  seed: number;
  runs: number;
  duration: number;
  scenario?: string[];
  cacheTtl: number;
  threshold: number;
  json?: boolean;
}

interface ScenarioReport {
  readonly scenario: string;
  readonly description: string;
  readonly settings: SimSettings;
  readonly results: readonly Aggregate[];
  readonly verdict: string;
}

const program = new Command('bench:policy')
  .description('simulate the selection policies (real core/policy.ts code) against baselines, per scenario')
  .option('--seed <n>', 'random seed (same seed, same figures)', wholeNumber('--seed', 0, 2 ** 32 - 1), 1)
  .option('--runs <n>', 'seeds per scenario (seed, seed+1, ...); figures are means over them', wholeNumber('--runs', 1, 100), 3)
  .option('--duration <s>', 'simulated seconds of arrivals per run (queues then drain)', secondsAtLeast('--duration', 10, 86_400), 1800)
  .option('--scenario <names>', `scenarios to run, comma-separated or repeated: ${SCENARIO_NAMES.join(', ')} (default: all)`, choices('--scenario', SCENARIO_NAMES))
  .option('--cache-ttl <s>', 'CACHE_TTL of scenarios that do not fix their own (stale and fresh do)', secondsAtLeast('--cache-ttl', 0, 3600), 60)
  .option('--threshold <n>', 'MAX_QUEUE_DEPTH_THRESHOLD, scaled to the simulated fleet', wholeNumber('--threshold', 1), 200)
  .option('--json', 'print the results as JSON instead of tables')
  .action((options: Options) => {
    const picked = SCENARIOS.filter((s) => !options.scenario || options.scenario.includes(s.name));
    const seeds = Array.from({ length: options.runs }, (_, i) => (options.seed + i) >>> 0);
    const started = performance.now();
    if (!options.json) console.log(`${LEGEND}\n`);
    const reports: ScenarioReport[] = picked.map((scenario) => {
      const base = { durationSeconds: options.duration, cacheTtlSeconds: options.cacheTtl, maxQueueDepthThreshold: options.threshold };
      const settings = settingsFor(scenario, { ...base, seed: options.seed });
      const results = CONTENDERS.map((contender) =>
        aggregate(seeds.map((seed) => simulate(settingsFor(scenario, { ...base, seed }), contender)), seeds),
      );
      const report = { scenario: scenario.name, description: scenario.description, settings, results, verdict: verdict(results) };
      if (!options.json) console.log(`${describeScenario(scenario, settings, seeds)}\n\n${resultsTable(results)}\n   verdict: ${report.verdict}\n`);
      return report;
    });
    const elapsed = (performance.now() - started) / 1000;
    if (options.json) console.log(JSON.stringify({ seeds, durationSeconds: options.duration, elapsedSeconds: elapsed, scenarios: reports }, null, 2));
    else console.log(`${reports.length} scenarios x ${CONTENDERS.length} policies x ${seeds.length} seeds simulated in ${elapsed.toFixed(1)} s`);
  });

program.parse();
