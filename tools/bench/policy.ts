/**
 * `npm run bench:policy`: the selection policies against an oracle, by a seeded simulation that drives
 * the real code in core/policy.ts (tools/bench/sim/model.ts). Prints, per scenario, p99 and mean wait as a
 * ratio to the oracle per load, then the acceptance targets; writes the chart docs/placement-p99.svg.
 * `--sweep <name>` varies one setting of the deployed scenario instead. See docs/benchmarks.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { choices, secondsAtLeast, wholeNumber } from '../args.js';
import { fixed, meanInterval, pct, table, verdict } from './stats.js';
import { cell, type Cell } from './sim/aggregate.js';
import { erlangChecks } from './sim/check.js';
import { lineChart } from './sim/chart.js';
import { simulate, type Contender, type SimResult } from './sim/model.js';
import { checkTargets, describeScenario, label, LEGEND, ratioCIText, scenarioTables, targetsText } from './sim/report.js';
import {
  CONTENDER_NAMES,
  CONTENDERS,
  DEPLOYED,
  INFORMED,
  ORACLE,
  SCENARIO_NAMES,
  SCENARIOS,
  settingsFor,
  SWEEP_NAMES,
  SWEEPS,
  type RunOptions,
  type Scenario,
  type SweepName,
} from './sim/scenarios.js';

interface Options {
  seed: number;
  runs: number;
  duration: number;
  scenario?: string[];
  loads: number[];
  dispatchers: number;
  sqsLag: number;
  cacheTtl?: number;
  sweep?: SweepName;
  chart: string | false;
  erlang?: boolean;
  json?: boolean;
  out?: string;
}

const DEFAULT_LOADS = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95];
const TARGET_SCENARIOS = SCENARIOS.filter((s) => s.target).map((s) => s.name);
const DEFAULT_CHART = 'docs/placement-p99.svg';

const loadList = (value: string): number[] => {
  const loads = value.split(',').map((v) => v.trim());
  const parsed = loads.map(Number);
  if (!loads.length || loads.some((v, i) => v === '' || !(Number(parsed[i]) > 0 && Number(parsed[i]) < 1))) {
    throw new InvalidArgumentError(`--loads must be comma-separated fractions of capacity between 0 and 1 (e.g. 0.5,0.9), got "${value}".`);
  }
  return [...new Set(parsed)].sort((a, b) => a - b);
};

const program = new Command('bench:policy')
  .description('the selection policies (real core/policy.ts code) against an oracle, by seeded simulation')
  .option('--seed <n>', 'first random seed (same seed, same figures)', wholeNumber('--seed', 0, 2 ** 32 - 1), 1)
  .option('--runs <n>', 'seeds per cell (seed, seed+1, ...); figures are means over them', wholeNumber('--runs', 1, 50), 10)
  .option('--duration <s>', 'simulated seconds of arrivals per run for the 1:2:4 fleet (others: the same request count)', secondsAtLeast('--duration', 1000, 10_000_000), 100_000)
  .option('--scenario <names>', `scenarios, comma-separated or repeated: ${SCENARIO_NAMES.join(', ')} (default: all)`, choices('--scenario', SCENARIO_NAMES))
  .option('--loads <list>', 'loads (fractions of real capacity), comma-separated', loadList, DEFAULT_LOADS)
  .option('--dispatchers <n>', 'dispatching containers, for scenarios that do not fix their own', wholeNumber('--dispatchers', 1, 1000), 2)
  .option('--sqs-lag <s>', "how far SQS's approximate counts trail the queues", secondsAtLeast('--sqs-lag', 0, 600), 2)
  .option('--cache-ttl <s>', `CACHE_TTL for scenarios that do not fix their own (default: the deployed ${DEPLOYED.cacheTtlSeconds})`, secondsAtLeast('--cache-ttl', 0, 3600))
  .addOption(new Option('--sweep <name>', 'vary one setting of the deployed scenario instead of running the scenarios').choices(SWEEP_NAMES))
  .option('--chart <path>', `where to write the SVG chart (written when the run includes ${TARGET_SCENARIOS.join(', ')})`, DEFAULT_CHART)
  .option('--no-chart', 'write no chart')
  .option('--erlang', 'check the simulator against M/M/c (Erlang C) instead, and print the figures')
  .option('--json', 'print the results as JSON instead of tables')
  .option('--out <path>', 'also write the results as JSON to this file (tools/bench/placement-docs.ts writes the docs from it)')
  .action((options: Options) => {
    const started = performance.now();
    const seeds = Array.from({ length: options.runs }, (_, i) => (options.seed + i) >>> 0);
    const base = (load: number, seed: number): RunOptions => ({
      load,
      seed,
      durationSeconds: options.duration,
      dispatchers: options.dispatchers,
      sqsLagSeconds: options.sqsLag,
      ...(options.cacheTtl === undefined ? {} : { cacheTtlSeconds: options.cacheTtl }),
    });
    const log = (text: string) => {
      if (!options.json) console.log(text);
    };
    // The oracles ignore caches, lags and dispatchers: one set of runs per oracle, fleet, load and seed.
    const oracleRuns = new Map<string, SimResult>();
    const oracleRun = (scenario: Scenario, run: RunOptions, which: Contender = ORACLE) => {
      const settings = settingsFor(scenario, run);
      const key = JSON.stringify([which.name, settings.regions, settings.arrivalsPerSecond, settings.durationSeconds, run.seed]);
      let result = oracleRuns.get(key);
      if (!result) oracleRuns.set(key, (result = simulate(settings, which)));
      return result;
    };
    const cellsFor = (scenario: Scenario, contenders: readonly Contender[], loads: readonly number[], options: (load: number, seed: number) => RunOptions) =>
      loads.flatMap((load) => {
        const oracle = seeds.map((seed) => oracleRun(scenario, options(load, seed)));
        const informed = seeds.map((seed) => oracleRun(scenario, options(load, seed), INFORMED));
        return contenders.map((contender) =>
          cell(
            load,
            seeds,
            contender.kind === 'oracle' ? oracle : contender.kind === 'informed' ? informed : seeds.map((seed) => simulate(settingsFor(scenario, options(load, seed)), contender)),
            oracle,
            informed,
          ),
        );
      });

    if (options.erlang) {
      const checks = erlangChecks(options.seed);
      const diff = (a: number, b: number) => `${a >= b ? '+' : ''}${(((a - b) / b) * 100).toFixed(1)}%`;
      log(
        table([
          ['case (10 s per request, 70% load, no batching)', 'requests', 'mean wait s: sim / formula', 'share waiting', 'p99 s'],
          ...checks.map((c) => [
            c.name,
            String(c.requests),
            `${fixed(c.simulated.meanWait, 3)} / ${fixed(c.formula.meanWait, 3)} (${diff(c.simulated.meanWait, c.formula.meanWait)})`,
            `${fixed(c.simulated.waitedShare, 3)} / ${fixed(c.formula.waitedShare, 3)}`,
            `${fixed(c.simulated.p99)} / ${fixed(c.formula.p99)}`,
          ]),
        ]),
      );
      if (options.json) console.log(JSON.stringify({ seed: options.seed, checks }, null, 2));
      return;
    }

    if (options.sweep) {
      const sweep = SWEEPS[options.sweep];
      const deployed = SCENARIOS.find((s) => s.name === 'deployed') as Scenario;
      const leastWait = CONTENDERS.find((c) => c.name === 'least-wait') as Contender;
      const seedInverse = CONTENDERS.find((c) => c.name === 'seed-inverse') as Contender;
      // Rows: least-wait as deployed; told the true lag and service time when those are swept; the
      // original policy with its 60 s cache (the targets' baseline).
      const rowsOf: Array<{ name: string; contender: Contender; override: Partial<RunOptions> }> = [
        { name: 'least-wait', contender: leastWait, override: {} },
        ...(options.sweep === 'sqs-lag' || options.sweep === 'service'
          ? [{ name: 'least-wait, told lag and service time', contender: { ...leastWait, name: 'least-wait (told)', told: true }, override: {} }]
          : []),
        { name: 'seed-inverse, CACHE_TTL 60', contender: seedInverse, override: { cacheTtlSeconds: 60 } },
      ];
      const first = settingsFor(deployed, base(options.loads[0] as number, options.seed));
      const rest = describeScenario(deployed, first, seeds).split('\n').slice(1).join(';').replace(/\s+/g, ' ').trim();
      log(`${LEGEND}\n\n== sweep of ${sweep.label} over ${sweep.values.join(', ')}; otherwise the deployed scenario: ${rest}\n`);
      const results = sweep.values.map((value) => {
        const opts = (load: number, seed: number, override: Partial<RunOptions> = {}) => ({ ...sweep.apply(base(load, seed), value), ...override });
        const cells = options.loads.flatMap((load) => {
          const oracle = seeds.map((seed) => oracleRun(deployed, opts(load, seed)));
          return [
            cell(load, seeds, oracle, oracle),
            ...rowsOf.map(({ name, contender, override }) => ({
              ...cell(load, seeds, seeds.map((seed) => simulate(settingsFor(deployed, opts(load, seed, override)), contender)), oracle),
              contender: name,
            })),
          ];
        });
        return { value, cells };
      });
      const at = (cells: readonly Cell[], name: string, load: number) => cells.find((c) => c.contender === name && c.load === load);
      // T3 per seed (the same arrivals and work), then its mean and 95% interval over seeds.
      const t3Text = (original: Cell, deployed: Cell) => {
        const i = meanInterval(original.p99PerSeed.map((p, k) => p / (deployed.p99PerSeed[k] as number)));
        return `${fixed(i.mean, 2)}${Number.isFinite(i.high) ? ` [${fixed(i.low, 2)}, ${fixed(i.high, 2)}] ${verdict(i, 3, 'ge')}` : ''}`;
      };
      const t3 = options.loads.includes(0.9);
      const lines = results.flatMap(({ value, cells }) =>
        rowsOf.map(({ name }, k) => [
          k === 0 ? String(value) : '',
          name,
          ...options.loads.map((load) => {
            const c = at(cells, name, load);
            return c ? ratioCIText(c.p99RatioCI) : '-';
          }),
          ...(t3 && k === 0 ? [t3Text(at(cells, 'seed-inverse, CACHE_TTL 60', 0.9) as Cell, at(cells, 'least-wait', 0.9) as Cell)] : t3 ? [''] : []),
          k === 0 ? fixed((at(cells, name, options.loads.at(-1) as number) as Cell).readingsPer1000) : '',
        ]),
      );
      log(table([[sweep.label, 'policy', ...options.loads.map((l) => `p99 x oracle ${pct(l)}`), ...(t3 ? ['T3 at 90% [95% interval]'] : []), 'readings/1000 req'], ...lines]));
      log(
        `   oracle p99 (s): ${results[0]?.cells.filter((c) => c.kind === 'oracle').map((c) => `${pct(c.load)} ${fixed(c.p99)}`).join(', ')}${options.sweep === 'service' ? ' (at the first value)' : ''}\n` +
          '   T3: seed-inverse p99 with its 60 s cache / least-wait p99 at 90% load, per seed: mean [95% interval] and verdict (target >= 3); readings: snapshots per 1000 requests at the highest load,\n' +
          '   each one GetQueueAttributes call per region',
      );
      const elapsed = (performance.now() - started) / 1000;
      if (options.json) console.log(JSON.stringify({ sweep: options.sweep, seeds, loads: options.loads, elapsedSeconds: elapsed, results }, null, 2));
      else console.log(`\n${sweep.values.length} values x ${options.loads.length} loads x ${seeds.length} seeds simulated in ${elapsed.toFixed(1)} s`);
      return;
    }

    log(`${LEGEND}\n`);
    const picked = SCENARIOS.filter((s) => !options.scenario || options.scenario.includes(s.name));
    const results = new Map<string, Cell[]>();
    const reports = picked.map((scenario) => {
      const cells = cellsFor(scenario, CONTENDERS, options.loads, base);
      results.set(scenario.name, cells);
      const settings = settingsFor(scenario, base(options.loads[0] as number, options.seed));
      log(`${describeScenario(scenario, settings, seeds)}\n\n${scenarioTables(cells, options.loads)}\n`);
      return { scenario: scenario.name, description: scenario.description, settings, cells };
    });
    const checks = checkTargets(results);
    log(targetsText(checks));
    if (DEPLOYED.cacheTtlSeconds !== DEPLOYED.configDefaultCacheTtlSeconds) {
      log(`note: stacks/settings.ts deploys CACHE_TTL ${DEPLOYED.cacheTtlSeconds} but core/config.ts defaults to ${DEPLOYED.configDefaultCacheTtlSeconds}`);
    }

    let chart: string | undefined;
    if (options.chart && TARGET_SCENARIOS.every((name) => results.has(name))) {
      const panels = TARGET_SCENARIOS.map((name) => {
        const scenario = SCENARIOS.find((s) => s.name === name) as Scenario;
        const settings = settingsFor(scenario, base(options.loads[0] as number, options.seed));
        const cells = results.get(name) as Cell[];
        return {
          title: `${name}: ${settings.readingAgeSeconds === undefined ? `CACHE_TTL ${settings.cacheTtlSeconds} s` : `readings ${settings.readingAgeSeconds} s old`}, ${settings.dispatchers} containers`,
          series: CONTENDER_NAMES.map((contender) => ({
            name: label(cells.find((c) => c.contender === contender) as Cell),
            points: cells.filter((c) => c.contender === contender).map((c) => [c.load, c.p99] as const),
          })),
        };
      });
      const names = CONTENDER_NAMES.map((contender) => label((results.get('deployed') as Cell[]).find((c) => c.contender === contender) as Cell));
      const svg = lineChart(
        'p99 wait against load: regions of 1, 2 and 4 workers, 10 s per request',
        `npm run bench:policy (seeds ${seeds.join(', ')}; ${options.duration} s of arrivals per run; SQS counts ${options.sqsLag} s behind; batches as deployed)`,
        panels,
        names,
      );
      chart = resolve(options.chart);
      mkdirSync(dirname(chart), { recursive: true });
      writeFileSync(chart, svg);
      log(`\nchart: ${options.chart}`);
    }
    const elapsed = (performance.now() - started) / 1000;
    const output = { seeds, loads: options.loads, durationSeconds: options.duration, sqsLagSeconds: options.sqsLag, deployed: DEPLOYED, elapsedSeconds: elapsed, chart, targets: checks, scenarios: reports };
    if (options.out) {
      mkdirSync(dirname(resolve(options.out)), { recursive: true });
      writeFileSync(resolve(options.out), `${JSON.stringify(output, null, 2)}\n`);
    }
    if (options.json) console.log(JSON.stringify(output, null, 2));
    else console.log(`${picked.length} scenarios x ${CONTENDERS.length} contenders x ${options.loads.length} loads x ${seeds.length} seeds simulated in ${elapsed.toFixed(1)} s`);
  });

program.parse();
