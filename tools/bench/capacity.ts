/**
 * `npm run bench:capacity`: a fleet that changes mid-run (one region loses half its workers, another
 * gains), by seeded simulation driving the shipped least-wait (core/policy.ts; tools/bench/sim/fleet-model.ts),
 * told the configured capacity (static), what a hook sets some seconds after the change (live), or the
 * effectiveCapacity estimate (estimated), against the oracle. Prints the p99 wait after the change per
 * load, and in the first minutes after it. See docs/capacity.md.
 */
import { Command } from 'commander';
import { choices, secondsAtLeast, wholeNumber } from '../args.js';
import { capacityCell, capacityTable, liveAgainstStatic, type CapacityCell, type CapacityWindows } from './sim/capacity-report.js';
import { CAPACITY_CONTENDERS, CAPACITY_SCENARIO_NAMES, CAPACITY_SCENARIOS, capacityRunSettings, LIVE_DELAY_SECONDS, type CapacityScenario } from './sim/capacity-scenarios.js';
import { fractionList } from './sim/fleet-args.js';
import { simulateFleet, type FleetContender } from './sim/fleet-model.js';
import { DEPLOYED } from './sim/scenarios.js';

interface Options {
  seed: number;
  runs: number;
  changeAt: number;
  after: number;
  transientRuns: number;
  first: number;
  liveDelay: number;
  loads: number[];
  scenario?: string[];
  dispatchers: number;
  sqsLag: number;
  cacheTtl?: number;
  json?: boolean;
}

const program = new Command('bench:capacity')
  .description('capacity that follows the fleet: static, live and estimated capacity against the oracle when workers move mid-run, by seeded simulation')
  .option('--seed <n>', 'first random seed (same seed, same figures)', wholeNumber('--seed', 0, 2 ** 32 - 1), 1)
  .option('--runs <n>', 'long runs per cell (seed, seed+1, ...); percentiles pooled over them', wholeNumber('--runs', 1, 50), 2)
  .option('--change-at <s>', 'when the fleet changes (simulated seconds after the start)', secondsAtLeast('--change-at', 100, 1_000_000), 5000)
  .option('--after <s>', 'simulated seconds of arrivals after the change in the long runs', secondsAtLeast('--after', 1000, 10_000_000), 100_000)
  .option('--transient-runs <n>', 'short runs (to the end of the first window) for the wait right after the change; seeds from seed+1000', wholeNumber('--transient-runs', 0, 1000), 40)
  .option('--first <s>', 'the window right after the change', secondsAtLeast('--first', 10, 100_000), 600)
  .option('--live-delay <s>', 'how long after the change the live hook\'s capacity setting takes effect', secondsAtLeast('--live-delay', 0, 100_000), LIVE_DELAY_SECONDS)
  .option('--loads <list>', 'loads (fractions of the throughput BEFORE the change), comma-separated', fractionList('--loads'), [0.5, 0.7, 0.8, 0.9, 0.95])
  .option('--scenario <names>', `scenarios, comma-separated or repeated: ${CAPACITY_SCENARIO_NAMES.join(', ')} (default: all)`, choices('--scenario', CAPACITY_SCENARIO_NAMES))
  .option('--dispatchers <n>', 'dispatching containers', wholeNumber('--dispatchers', 1, 1000), 2)
  .option('--sqs-lag <s>', "how far SQS's approximate counts trail the queues", secondsAtLeast('--sqs-lag', 0, 600), 2)
  .option('--cache-ttl <s>', `CACHE_TTL (default: the deployed ${DEPLOYED.cacheTtlSeconds})`, secondsAtLeast('--cache-ttl', 0, 3600))
  .option('--json', 'print the results as JSON instead of tables')
  .action((options: Options) => {
    const started = performance.now();
    const seeds = Array.from({ length: options.runs }, (_, i) => (options.seed + i) >>> 0);
    const transientSeeds = Array.from({ length: options.transientRuns }, (_, i) => (options.seed + 1000 + i) >>> 0);
    const windows: CapacityWindows = { changeAtSeconds: options.changeAt, firstSeconds: options.first };
    const contenders = CAPACITY_CONTENDERS(options.liveDelay);
    const live = (contenders.find((c) => c.capacity === 'live') as FleetContender).name;
    const log = (text: string) => {
      if (!options.json) console.log(text);
    };
    const settings = (scenario: CapacityScenario, load: number, seed: number, afterSeconds: number) =>
      capacityRunSettings(scenario, {
        load,
        seed,
        dispatchers: options.dispatchers,
        sqsLagSeconds: options.sqsLag,
        ...(options.cacheTtl === undefined ? {} : { cacheTtlSeconds: options.cacheTtl }),
        changeAtSeconds: options.changeAt,
        afterSeconds,
      });
    const seedText = (list: readonly number[]) => (list.length > 1 ? `seeds ${list[0]}..${list.at(-1)}` : `seed ${list[0]}`);
    log(
      [
        'wait: from a message reaching its regional queue to a worker starting it (the master batching does not depend on capacity); p99 pooled over the runs.',
        'oracle: places each message where its exact wait is shortest (true queues, work ahead, workers present); x oracle: p99 / the oracle\'s p99 on the same seeds.',
        `static: the policy keeps the configured capacity 1:2:4; live: a hook sets the true worker counts (\`capacity set\`) ${options.liveDelay} s after the change;`,
        '  estimated: nothing set, effectiveCapacity on each reading (an explicit setting wins; else max(configured, in flight) when messages wait; else configured).',
        'Removed workers: idle ones stop at once, busy ones finish their current request and stop; added workers start polling at once.',
        '',
      ].join('\n'),
    );
    const picked = CAPACITY_SCENARIOS.filter((s) => !options.scenario || options.scenario.includes(s.name));
    const reports = picked.map((scenario) => {
      const cells: CapacityCell[] = options.loads.flatMap((load) =>
        contenders.map((contender) => {
          const long = seeds.map((seed) => simulateFleet(settings(scenario, load, seed, options.after), contender));
          const transient = transientSeeds.map((seed) => simulateFleet(settings(scenario, load, seed, options.first), contender));
          return capacityCell(scenario.name, contender.name, load, long, transient, windows);
        }),
      );
      const s = settings(scenario, options.loads[0] as number, options.seed, options.after);
      log(
        [
          `== ${scenario.name}: ${scenario.description}`,
          `   least-wait (core/policy.ts); 10 s per request; CACHE_TTL ${s.cacheTtlSeconds} s; ${s.dispatchers} dispatching containers; SQS counts ${s.sqsLagSeconds} s behind; ` +
            `batches of ${s.batchSize}, window ${s.batchWindowSeconds} s; one priority, no lanes`,
          `   change at ${options.changeAt} s; long runs: ${options.after} s of arrivals after it, ${seedText(seeds)}; ` +
            `first ${options.first} s after it: ${options.transientRuns} short runs, ${transientSeeds.length ? seedText(transientSeeds) : 'none'}`,
          '',
          capacityTable(cells, options.loads, 'p99 wait after the change: x oracle (s)', (c) => c.afterP99),
          liveAgainstStatic(cells, options.loads, live),
          '',
          ...(transientSeeds.length
            ? [
                capacityTable(cells, options.loads, `p99 wait, first ${options.first} s after the change`, (c) => c.firstP99),
                `   requests in that window per cell: ${[...new Set(cells.filter((c) => c.contender === 'oracle').map((c) => c.firstCount))].join(', ')} (per load)`,
                '',
              ]
            : []),
        ].join('\n'),
      );
      return { scenario: scenario.name, description: scenario.description, after: scenario.after, cells };
    });
    const elapsed = (performance.now() - started) / 1000;
    if (options.json) console.log(JSON.stringify({ seeds, transientSeeds, options, elapsedSeconds: elapsed, scenarios: reports }, null, 2));
    else console.log(`simulated in ${elapsed.toFixed(1)} s`);
  });

program.parse();
