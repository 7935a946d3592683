/**
 * `npm run bench:lanes`: priority lanes, by seeded simulation driving the shipped code (core/lanes.ts
 * laneLoads/pollOrder/afterTake, core/policy.ts least-wait; tools/bench/sim/fleet-model.ts). Prints, per
 * priority, the wait (master batching + regional queue) with and without lanes per load, the targets,
 * the starvation guard against strict priority, and the high lane's batching window. See docs/lanes.md.
 */
import { Command } from 'commander';
import { STARVATION_LIMIT } from '../../core/lanes.js';
import { PRIORITIES } from '../../core/request.js';
import { secondsAtLeast, wholeNumber } from '../args.js';
import { fixed, pct, table } from './stats.js';
import { fractionList, mixText, priorityMix, secondsList } from './sim/fleet-args.js';
import { simulateFleet, type FleetResult, type PriorityMix } from './sim/fleet-model.js';
import { guardCell, guardTable, laneCell, laneTargets, laneTargetsText, partsTable, priorityTable, type GuardCell, type LaneCell } from './sim/lane-report.js';
import { DEFAULT_MIX, HIGH_BATCH_WINDOW_SECONDS, LANE_VARIANTS, LEAST_WAIT, laneRunSettings, type LaneRunOptions, type LaneVariant } from './sim/lane-scenarios.js';
import { DEPLOYED } from './sim/scenarios.js';

interface Options {
  seed: number;
  runs: number;
  duration: number;
  loads: number[];
  mix: PriorityMix;
  highWindow: number;
  starvationLimit: number;
  guardShares: number[];
  guardLoad: number;
  windows: number[] | false;
  dispatchers: number;
  sqsLag: number;
  cacheTtl?: number;
  json?: boolean;
}

const program = new Command('bench:lanes')
  .description('priority lanes against one FIFO per region (real core/lanes.ts and core/policy.ts code), by seeded simulation')
  .option('--seed <n>', 'first random seed (same seed, same figures)', wholeNumber('--seed', 0, 2 ** 32 - 1), 1)
  .option('--runs <n>', 'seeds per cell (seed, seed+1, ...); percentiles pooled over them', wholeNumber('--runs', 1, 50), 4)
  .option('--duration <s>', 'simulated seconds of arrivals per run', secondsAtLeast('--duration', 1000, 10_000_000), 200_000)
  .option('--loads <list>', 'loads (fractions of the fleet\'s throughput), comma-separated', fractionList('--loads'), [0.5, 0.7, 0.8, 0.9, 0.95])
  .option('--mix <h,n,l>', 'percent of requests high,normal,low', priorityMix('--mix'), DEFAULT_MIX)
  .option('--high-window <s>', "the high lane's event source batching window (the normal lane keeps the deployed one)", secondsAtLeast('--high-window', 0, 300), HIGH_BATCH_WINDOW_SECONDS)
  .option('--starvation-limit <n>', 'high messages a worker takes in a row while normal ones wait (core/lanes.ts)', wholeNumber('--starvation-limit', 1, 1000), STARVATION_LIMIT)
  .option('--guard-shares <list>', 'high shares for the guard against strict priority (the rest normal)', fractionList('--guard-shares'), [0.5, 0.7, 0.9])
  .option('--guard-load <f>', 'load for the guard comparison', (v: string) => fractionList('--guard-load')(v)[0] as number, 0.95)
  .option('--windows <list>', "high lane batching windows to compare at 90% load", secondsList('--windows'), [0, 1, 5, 20])
  .option('--no-windows', 'skip the high lane window comparison')
  .option('--dispatchers <n>', 'dispatching containers', wholeNumber('--dispatchers', 1, 1000), 2)
  .option('--sqs-lag <s>', "how far SQS's approximate counts trail the queues", secondsAtLeast('--sqs-lag', 0, 600), 2)
  .option('--cache-ttl <s>', `CACHE_TTL (default: the deployed ${DEPLOYED.cacheTtlSeconds})`, secondsAtLeast('--cache-ttl', 0, 3600))
  .option('--json', 'print the results as JSON instead of tables')
  .action((options: Options) => {
    const started = performance.now();
    const seeds = Array.from({ length: options.runs }, (_, i) => (options.seed + i) >>> 0);
    const log = (text: string) => {
      if (!options.json) console.log(text);
    };
    const run = (variant: LaneVariant, load: number, over: Partial<LaneRunOptions> = {}): FleetResult[] =>
      seeds.map((seed) =>
        simulateFleet(
          laneRunSettings(variant, {
            load,
            seed,
            durationSeconds: options.duration,
            dispatchers: options.dispatchers,
            sqsLagSeconds: options.sqsLag,
            ...(options.cacheTtl === undefined ? {} : { cacheTtlSeconds: options.cacheTtl }),
            mix: options.mix,
            starvationLimit: options.starvationLimit,
            highBatchWindowSeconds: options.highWindow,
            ...over,
          }),
          LEAST_WAIT,
        ),
      );

    const first = laneRunSettings('with lanes', { load: options.loads[0] as number, seed: options.seed, durationSeconds: options.duration, dispatchers: options.dispatchers, sqsLagSeconds: options.sqsLag, ...(options.cacheTtl === undefined ? {} : { cacheTtlSeconds: options.cacheTtl }), mix: options.mix });
    const seedText = seeds.length > 1 ? `seeds ${seeds[0]}..${seeds.at(-1)}` : `seed ${seeds[0]}`;
    log(
      [
        'wait = master batching (arrival on the master queue to the dispatch of its batch) + regional queue (to a worker starting it);',
        'percentiles pooled over the seeds; every variant sees the same requests (arrival, priority, service time) per seed.',
        `fleet: ${first.regions.map((r) => `${r.region} ${r.workers} x ${r.meanServiceSeconds} s`).join(', ')}; policy least-wait (core/policy.ts); ` +
          `CACHE_TTL ${first.cacheTtlSeconds} s; ${first.dispatchers} dispatching containers; SQS counts ${first.sqsLagSeconds} s behind`,
        `requests: ${mixText(options.mix)}; ${options.duration} s of arrivals per run (first 1% not counted); ${seedText}`,
        `without lanes: one master queue batched ${first.batchSize} / ${first.batchWindowSeconds} s, batch sorted high first, one FIFO per region`,
        `with lanes: a high and a normal lane per region (low shares normal), workers take high first, one normal after ${options.starvationLimit} high in a row while normal waits;`,
        `  a master queue per lane: normal batched ${first.batchSize} / ${first.batchWindowSeconds} s, high ${first.batchSize} / ${options.highWindow} s; ` +
          'high placed on laneLoads(..., "high"), normal and low on the combined loads',
        'lanes, one master queue: lanes in the regions, but one master queue (mixed batches; high placed first)',
        '',
      ].join('\n'),
    );

    const cells: LaneCell[] = options.loads.flatMap((load) => LANE_VARIANTS.map((variant) => laneCell(variant, load, run(variant, load))));
    for (const priority of PRIORITIES) {
      if (!options.mix[priority]) continue;
      log(`== ${priority} priority (${pct(options.mix[priority])} of requests): total wait, s\n${priorityTable(cells, priority, options.loads, LANE_VARIANTS)}\n`);
    }
    log(`== high priority: the two parts of the wait, p99 of each alone (s); executions per 1000 requests per variant\n${partsTable(cells, 'high', options.loads, LANE_VARIANTS)}\n`);
    const checks = laneTargets(cells, options.loads);
    log(`${laneTargetsText(checks)}\n`);

    const guard: GuardCell[] = options.guardShares.flatMap((share) =>
      [options.starvationLimit, Number.POSITIVE_INFINITY].map((limit) =>
        guardCell(share, limit, run('with lanes', options.guardLoad, { mix: { high: share, normal: 1 - share, low: 0 }, starvationLimit: limit })),
      ),
    );
    log(
      `== starvation guard (limit ${options.starvationLimit}) against strict priority (no guard), lanes at ${pct(options.guardLoad)} load, the rest of the requests normal; total wait, s\n` +
        `${guardTable(guard, options.starvationLimit)}\n`,
    );

    let windows: Array<{ window: number; high: LaneCell['byPriority']['high']; normal: LaneCell['byPriority']['normal']; executionsPer1000: number }> = [];
    if (options.windows) {
      windows = options.windows.map((window) => {
        const cell = laneCell('with lanes', 0.9, run('with lanes', 0.9, { highBatchWindowSeconds: window }));
        return { window, high: cell.byPriority.high, normal: cell.byPriority.normal, executionsPer1000: cell.executionsPer1000 };
      });
      const without = cells.find((c) => c.variant === 'without lanes' && c.load === 0.9)?.byPriority.high.p99;
      log(
        `== the high lane's batching window, lanes at 90% load (normal lane: ${first.batchWindowSeconds} s)\n` +
          table([
            ['high window s', 'high p50 / p95 / p99 s', 'high p99 without lanes / with', 'normal p99 s', 'executions per 1000 requests'],
            ...windows.map((w) => [
              String(w.window),
              `${fixed(w.high.p50)} / ${fixed(w.high.p95)} / ${fixed(w.high.p99)}`,
              without ? `${(without / w.high.p99).toFixed(2)}x` : '-',
              fixed(w.normal.p99),
              fixed(w.executionsPer1000, 0),
            ]),
          ]) +
          '\n',
      );
    }
    const elapsed = (performance.now() - started) / 1000;
    if (options.json) console.log(JSON.stringify({ seeds, options: { ...options, windows: options.windows || [] }, elapsedSeconds: elapsed, cells, targets: checks, guard: guard.map((g) => ({ ...g, limit: Number.isFinite(g.limit) ? g.limit : 'none (strict priority)' })), windows }, null, 2));
    else console.log(`simulated in ${elapsed.toFixed(1)} s`);
  });

program.parse();
