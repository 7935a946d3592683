/**
 * `npm run bench:stealing`: work stealing, by seeded simulation driving the shipped code (core/stealing.ts
 * chooseSteal for where from, core/lanes.ts for lane order, core/policy.ts least-wait for placement;
 * tools/bench/sim/fleet-model.ts, steal-sim.ts, steal-scenarios.ts). Prints the p99 end-to-end wait with
 * stealing, without it and for the pooled queue (the clairvoyant oracle) per load; a region that loses
 * its fleet with a backlog; the high lane's p99; issue 20's targets; a recommendation. See docs/stealing.md.
 */
import { Command, InvalidArgumentError } from 'commander';
import { stealingSettingsSchema } from '../../core/stealing.js';
import { LANE_RECEIVE } from '../../worker/lanes.js';
import { workerStealingSchema } from '../../worker/stealing.js';
import { secondsAtLeast, wholeNumber } from '../args.js';
import { fixed, meanInterval, pct, table, type Interval, type Verdict } from './stats.js';
import { fractionList } from './sim/fleet-args.js';
import {
  highFigures,
  loadRow,
  POOLED,
  PRESENCE_LAG_SECONDS,
  strandedFigures,
  TARGETS,
  type LoadRow,
  type StealKnobs,
  type StealVariant,
} from './sim/steal-scenarios.js';
import { deployedScenario } from './sim/lane-scenarios.js';

interface Options {
  seed: number;
  runs: number;
  duration: number;
  loads: number[];
  dispatchers: number;
  sqsLag: number;
  checkEvery: number;
  idlePoll: number;
  receiveLatency: number;
  startup: number;
  minBacklog: number;
  presenceLag: number;
  tuned: boolean;
  tunedCheckEvery: number;
  tunedIdlePoll: number;
  tunedMinBacklog: number;
  lostRegion: string;
  backlog: number;
  strandedLoad: number;
  strandedAt: number;
  strandedDuration: number;
  highLoad: number;
  costPerWorkerMonth: number;
  sweep?: boolean;
  otherHighFirst: boolean;
  fleetlessFirst: boolean;
  weighStartup?: boolean;
  whatIf: boolean;
  sweepLoads: number[];
  json?: boolean;
}

const DEFAULT_CHECK_EVERY = workerStealingSchema.parse({}).checkEverySeconds;
const DEFAULT_MIN_BACKLOG = stealingSettingsSchema.parse({}).minBacklogPerWorker;
const DEFAULT_IDLE_POLL = LANE_RECEIVE.idleWaitSeconds.normal;
const { otherHighFirst: DEFAULT_OTHER_HIGH_FIRST, fleetlessFirst: DEFAULT_FLEETLESS_FIRST } = stealingSettingsSchema.parse({});
const onOff = (flag: string) => (v: string) => {
  if (v !== 'on' && v !== 'off') throw new InvalidArgumentError(`${flag} must be on or off, got "${v}".`);
  return v === 'on';
};
const onOffText = (b: boolean) => (b ? 'on' : 'off');
/** test/worker/stealing-cost.test.ts's printed figure (docs/worker-fence.md): stealing + presence per idle worker-month. */
const MEASURED_COST = { total: 0.233, readingsShare: 0.14 + 0.011, presence: 0.082, checkEverySeconds: 30 };

const oneFraction = (flag: string) => (v: string) => fractionList(flag)(v)[0] as number;
const number = (flag: string, min: number) => (v: string) => {
  const n = Number(v);
  if (!(v.trim() !== '' && Number.isFinite(n) && n >= min)) throw new InvalidArgumentError(`${flag} must be a number >= ${min}, got "${v}".`);
  return n;
};

const ci = (i: Interval, digits = 1) => (Number.isFinite(i.low) ? `${fixed(i.mean, digits)} [${fixed(i.low, digits)}, ${fixed(i.high, digits)}]` : Number.isFinite(i.mean) ? fixed(i.mean, digits) : 'never');
const ratioCi = (i: Interval) => (Number.isFinite(i.mean) ? `${i.mean.toFixed(3)}x [${i.low.toFixed(3)}, ${i.high.toFixed(3)}]` : 'never drained');
const verdictText = (v: Verdict) => v.toUpperCase();

const program = new Command('bench:stealing')
  .description('work stealing against none and against the pooled queue (real core/stealing.ts, core/lanes.ts, core/policy.ts code), by seeded simulation')
  .option('--seed <n>', 'first random seed (same seed, same figures)', wholeNumber('--seed', 0, 2 ** 32 - 1), 1)
  .option('--runs <n>', 'seeds (seed, seed+1, ...); figures are per seed, intervals over seeds', wholeNumber('--runs', 2, 50), 10)
  .option('--duration <s>', 'simulated seconds of arrivals per run (loads and high lane)', secondsAtLeast('--duration', 1000, 10_000_000), 100_000)
  .option('--loads <list>', "loads (fractions of the fleet's throughput), comma-separated", fractionList('--loads'), [0.5, 0.7, 0.8, 0.9, 0.95])
  .option('--dispatchers <n>', 'dispatching containers', wholeNumber('--dispatchers', 1, 1000), 2)
  .option('--sqs-lag <s>', "how far SQS's approximate counts trail the queues (dispatchers' and stealers' readings)", secondsAtLeast('--sqs-lag', 0, 600), 2)
  .option('--check-every <s>', 'shortest time between two readings of the other regions by one worker (worker/stealing.ts checkEverySeconds)', secondsAtLeast('--check-every', 0.01, 3600), DEFAULT_CHECK_EVERY)
  .option('--idle-poll <s>', "an idle worker's own long poll: it tries to steal again at the end of each (worker/lanes.ts LANE_RECEIVE)", secondsAtLeast('--idle-poll', 0.01, 3600), DEFAULT_IDLE_POLL)
  .option('--receive-latency <s>', 'round trip of a cross-region request (a reading, a receive)', secondsAtLeast('--receive-latency', 0, 60), 0.1)
  .option('--startup <s>', "extra time before a stolen request can start: its input data fetched from the request's region", secondsAtLeast('--startup', 0, 3600), 0)
  .option('--weigh-startup', 'the worker weighs --startup against the wait there (core/stealing.ts startupSeconds, serviceSeconds: 10 s)')
  .option('--min-backlog <n>', 'waiting messages per live worker a region must show before anyone steals from it (core/stealing.ts)', number('--min-backlog', 0), DEFAULT_MIN_BACKLOG)
  .option('--presence-lag <s>', "how long a vanished worker still counts (its presence lease): the dispatcher and the stealers' readings", secondsAtLeast('--presence-lag', 0, 3600), PRESENCE_LAG_SECONDS)
  .option('--no-tuned', 'skip the tuned stealing variant')
  .option('--tuned-check-every <s>', 'the tuned variant: --check-every', secondsAtLeast('--tuned-check-every', 0.01, 3600), 5)
  .option('--tuned-idle-poll <s>', 'the tuned variant: --idle-poll', secondsAtLeast('--tuned-idle-poll', 0.01, 3600), 5)
  .option('--tuned-min-backlog <n>', 'the tuned variant: --min-backlog', number('--tuned-min-backlog', 0), 0)
  .option('--lost-region <name>', 'the region whose workers all vanish (none restarting)', 'us-west-2')
  .option('--backlog <n>', "messages in that region's queue when they vanish", wholeNumber('--backlog', 1, 1_000_000), 500)
  .option('--stranded-load <f>', 'load (of the whole fleet) during the lost-fleet run', oneFraction('--stranded-load'), 0.5)
  .option('--stranded-at <s>', 'when the fleet vanishes', secondsAtLeast('--stranded-at', 0, 1_000_000), 2000)
  .option('--stranded-duration <s>', 'seconds of arrivals in the lost-fleet run', secondsAtLeast('--stranded-duration', 1000, 10_000_000), 20_000)
  .option('--high-load <f>', 'load for the high lane comparison', oneFraction('--high-load'), 0.9)
  .option('--cost-per-worker-month <usd>', 'stealing + presence per idle worker-month at the default reading interval (test/worker/stealing-cost.test.ts)', number('--cost-per-worker-month', 0), MEASURED_COST.total)
  .option('--other-high-first <on|off>', "another region's high lane before the own normal lane (core/stealing.ts otherHighFirst)", onOff('--other-high-first'), DEFAULT_OTHER_HIGH_FIRST)
  .option('--fleetless-first <on|off>', 'a region with no live worker before the own normal lane (core/stealing.ts fleetlessFirst)', onOff('--fleetless-first'), DEFAULT_FLEETLESS_FIRST)
  .option('--no-what-if', 'skip the runs with otherHighFirst / fleetlessFirst turned the other way (high lane, lost fleet)')
  .option('--sweep', "also print what each of the worker's settings is worth (p99 over the pooled queue's, per setting changed)")
  .option('--sweep-loads <list>', 'loads of the sweep', fractionList('--sweep-loads'), [0.5, 0.8, 0.9])
  .option('--json', 'print the results as JSON instead of tables')
  .action((o: Options) => {
    const started = performance.now();
    const log = (text: string) => {
      if (!o.json) console.log(text);
    };
    const seeds = Array.from({ length: o.runs }, (_, i) => (o.seed + i) >>> 0);
    const base = { durationSeconds: o.duration, dispatchers: o.dispatchers, sqsLagSeconds: o.sqsLag };
    const knobs: StealKnobs = {
      checkEverySeconds: o.checkEvery,
      idlePollSeconds: o.idlePoll,
      receiveSeconds: o.receiveLatency,
      startupSeconds: o.startup,
      minBacklogPerWorker: o.minBacklog,
      presenceLagSeconds: o.presenceLag,
      otherHighFirst: o.otherHighFirst,
      fleetlessFirst: o.fleetlessFirst,
      ...(o.weighStartup ? { weighStartup: true } : {}),
    };
    const tunedKnobs: StealKnobs = { ...knobs, checkEverySeconds: o.tunedCheckEvery, idlePollSeconds: o.tunedIdlePoll, minBacklogPerWorker: o.tunedMinBacklog };
    const STEAL = 'stealing';
    const TUNED = 'stealing, tuned';
    const variants: StealVariant[] = [{ name: 'without stealing' }, { name: STEAL, knobs }, ...(o.tuned ? [{ name: TUNED, knobs: tunedKnobs }] : [])];
    const stealers = variants.filter((v) => v.knobs);
    const fleet = deployedScenario().regions;
    if (!fleet.some((r) => r.region === o.lostRegion)) {
      console.error(`error: --lost-region must be one of ${fleet.map((r) => r.region).join(', ')}, got "${o.lostRegion}".`);
      process.exit(1);
    }
    const knobText = (k: StealKnobs) =>
      `a reading at most every ${k.checkEverySeconds} s, retried at the end of each ${k.idlePollSeconds} s idle poll, min backlog ${k.minBacklogPerWorker} per worker, ` +
      `otherHighFirst ${onOffText(k.otherHighFirst)}, fleetlessFirst ${onOffText(k.fleetlessFirst)}`;
    log(
      [
        'wait = end to end: arrival on the master queue to a worker starting it (event source batching, dispatch, regional queue, and for a stolen',
        'request the cross-region reading and receive and any start-up cost). One figure per seed (its p99); intervals: 95% over the seeds.',
        `fleet: ${fleet.map((r) => `${r.region} ${r.workers} x ${r.meanServiceSeconds} s`).join(', ')}; least-wait (core/policy.ts) as deployed ` +
          `(CACHE_TTL, batching 10 / 20 s, 5 pollers, ${o.dispatchers} containers, SQS counts ${o.sqsLag} s behind); seeds ${seeds[0]}..${seeds.at(-1)}`,
        `stealing: a worker whose own lanes are empty receives again from the lane it last stole from, else reads the other regions' depths (${o.sqsLag} s old) and live`,
        `  workers (presence, a vanished worker counted ${o.presenceLag} s on), asks core/stealing.ts chooseSteal and receives one message;`,
        `  each reading and receive ${o.receiveLatency} s, start-up ${o.startup} s per stolen request; every region may take from every other`,
        `  ${STEAL} (shipped defaults): ${knobText(knobs)}`,
        ...(o.tuned ? [`  ${TUNED}: ${knobText(tunedKnobs)}`] : []),
        `${POOLED.name}: one FIFO that every worker takes from (the first free worker anywhere), same batching: the clairvoyant oracle's waits exactly`,
        '',
      ].join('\n'),
    );

    // 1. per load
    const rows: LoadRow[] = o.loads.map((load) => loadRow(load, seeds, base, variants));
    const names = [POOLED.name, ...variants.map((v) => v.name)];
    log(
      `== p99 end-to-end wait, s (mean of the seeds' p99 [95% interval]); ${o.duration} s of arrivals per run\n` +
        table([
          ['load', ...names],
          ...rows.map((r) => [pct(r.load), ...names.map((n) => ci((r.p99[n] as { interval: Interval }).interval))]),
        ]) +
        `\n\n== the same over the pooled queue's, per seed, and the share of requests stolen\n` +
        table([
          ['load', ...variants.map((v) => `${v.name} / pooled`), ...stealers.map((v) => `stolen (${v.name})`)],
          ...rows.map((r) => [
            pct(r.load),
            ...variants.map((v) => ratioCi((r.ratio[v.name] as { interval: Interval }).interval)),
            ...stealers.map((v) => pct(r.stolenShare[v.name] ?? 0)),
          ]),
        ]) +
        '\n',
    );

    // 2. a region that loses its fleet
    const strandedOptions = {
      load: o.strandedLoad,
      lostRegion: o.lostRegion,
      backlog: o.backlog,
      atSeconds: o.strandedAt,
      presenceLagSeconds: o.presenceLag,
      durationSeconds: o.strandedDuration,
      dispatchers: o.dispatchers,
      sqsLagSeconds: o.sqsLag,
    };
    const FLEETLESS_OTHER = `stealing, fleetlessFirst ${onOffText(!o.fleetlessFirst)}`;
    const strandedVariants: StealVariant[] = [...variants, ...(o.whatIf ? [{ name: FLEETLESS_OTHER, knobs: { ...knobs, fleetlessFirst: !o.fleetlessFirst } }] : [])];
    const stranded = strandedFigures(strandedOptions, seeds, strandedVariants);
    const runEnd = o.strandedDuration - o.strandedAt;
    log(
      `== ${o.lostRegion} loses all its workers (none restarting) at ${o.strandedAt} s with ${o.backlog} messages queued; ${pct(o.strandedLoad)} load of the whole fleet, ` +
        `arrivals until ${o.strandedDuration} s; the dispatcher weighs regions by live workers (presence): none placed there ${o.presenceLag} s after\n` +
        table([
          ['variant', 'backlog drained after, s', 'runs drained', 'backlog p99 wait, s', 'p99 / pooled', `placed there after the loss (never started)`, 'others p99 end to end, s'],
          ...[POOLED.name, ...strandedVariants.map((v) => v.name)].map((name) => {
            const runs = stranded.runs[name] ?? [];
            const d = stranded.drain[name] as Interval & { drainedRuns: number };
            const placed = runs.reduce((n, r) => n + r.placedAfter, 0) / runs.length;
            const unstarted = runs.reduce((n, r) => n + r.placedAfterUnstarted, 0) / runs.length;
            return [
              name,
              d.drainedRuns === runs.length ? ci(d, 0) : d.drainedRuns === 0 ? `not drained (run: ${runEnd.toFixed(0)} s+)` : 'not in every run',
              `${d.drainedRuns}/${runs.length}`,
              ci(stranded.p99[name] as Interval, 0),
              name === POOLED.name ? '-' : stranded.ratio[name] ? ratioCi((stranded.ratio[name] as { interval: Interval }).interval) : 'never drained',
              name === POOLED.name ? '-' : `${placed.toFixed(1)} (${unstarted.toFixed(1)})`,
              ci({ ...meanOf(runs.map((r) => r.othersP99)) }, 1),
            ];
          }),
        ]) +
        '\n(without stealing nothing moves the stranded backlog: no rebalance is modelled, so it waits for workers that never come back;\n' +
        ` fleetlessFirst on: after its own high lane and before its own normal one, a worker takes from a region with no live workers, from its reading every ${o.checkEvery} s)\n`,
    );

    // 3. the high lane
    const HIGH_OTHER = `stealing, otherHighFirst ${onOffText(!o.otherHighFirst)}`;
    const high = highFigures(o.highLoad, seeds, base, [...stealers, ...(o.whatIf ? [{ name: HIGH_OTHER, knobs: { ...knobs, otherHighFirst: !o.otherHighFirst } }] : [])]);
    const highNames = Object.keys(high.p99);
    log(
      `== the high lane at ${pct(o.highLoad)} load (10% high, 80% normal, 10% low; high lane batched 1 s), p99 end-to-end wait, s\n` +
        table([
          ['variant', 'high p99', 'without lanes / this', 'normal p99'],
          ...highNames.map((n) => [
            n,
            ci((high.p99[n] as { interval: Interval }).interval),
            high.ratio[n] ? ratioCi((high.ratio[n] as { interval: Interval }).interval) : '-',
            ci(high.normalP99[n] as Interval),
          ]),
        ]) +
        '\n',
    );

    // 4. targets
    type Check = { target: string; figure: string; verdict: Verdict; variant: string };
    const checks: Check[] = [];
    for (const v of stealers) {
      for (const r of rows) {
        const x = r.ratio[v.name] as { interval: Interval; verdict: Verdict };
        checks.push({ variant: v.name, target: `p99 at ${pct(r.load)} <= ${TARGETS.waitRatio}x the pooled queue's`, figure: ratioCi(x.interval), verdict: x.verdict });
      }
      const s = stranded.ratio[v.name] as { interval: Interval; verdict: Verdict };
      checks.push({ variant: v.name, target: `stranded backlog p99 <= ${TARGETS.strandedRatio}x the pooled queue's`, figure: ratioCi(s.interval), verdict: s.verdict });
      const h = high.ratio[`with lanes, ${v.name}`] as { interval: Interval; verdict: Verdict };
      checks.push({ variant: v.name, target: `high p99 without lanes / with lanes and stealing >= ${TARGETS.highRatio}x at ${pct(o.highLoad)}`, figure: ratioCi(h.interval), verdict: h.verdict });
    }
    log(`== targets (issue 20): met = the whole 95% interval on the right side, missed = on the wrong side, within noise = across the limit\n${table([['variant', 'target', 'figure [95% interval]', 'verdict'], ...checks.map((c) => [c.variant, c.target, c.figure, verdictText(c.verdict)])])}\n`);

    // 5. recommendation
    const gain = rows.map((r) => {
      const off = (r.p99['without stealing'] as { interval: Interval }).interval.mean;
      const on = (r.p99[STEAL] as { interval: Interval }).interval.mean;
      return { load: r.load, off, on };
    });
    const everyLoadBetter = rows.every((r) => {
      const off = (r.p99['without stealing'] as { perSeed: number[] }).perSeed;
      const on = (r.p99[STEAL] as { perSeed: number[] }).perSeed;
      return meanInterval(on.map((x, i) => x - (off[i] as number))).high < 0 || meanInterval(on.map((x, i) => x - (off[i] as number))).mean <= 0;
    });
    const strandedDrains = (stranded.drain[STEAL] as { drainedRuns: number }).drainedRuns === seeds.length;
    const tunedCost = MEASURED_COST.presence + (MEASURED_COST.readingsShare * MEASURED_COST.checkEverySeconds) / o.tunedCheckEvery;
    const costAt = (check: number) => MEASURED_COST.presence + (MEASURED_COST.readingsShare * MEASURED_COST.checkEverySeconds) / check;
    const on = everyLoadBetter && strandedDrains;
    log(
      [
        '== recommendation',
        `stealing ${on ? 'ON' : 'OFF'} by default where the operator's allow-list permits it (the allow-list itself stays the operator's: data locality).`,
        `- p99 end to end, without -> with stealing: ${gain.map((g) => `${pct(g.load)} ${fixed(g.off)} -> ${fixed(g.on)} s`).join(', ')}${everyLoadBetter ? ' (never worse at any load)' : ' (worse at some load)'};`,
        `- a lost fleet: ${strandedDrains ? `its backlog of ${o.backlog} is drained in ${ci(stranded.drain[STEAL] as Interval, 0)} s with stealing` : 'its backlog is not drained with stealing in every run'}; without it, never (no rebalance);`,
        `- cost: $${o.costPerWorkerMonth.toFixed(3)} per idle worker-month for stealing and presence at a reading every ${MEASURED_COST.checkEverySeconds} s (test/worker/stealing-cost.test.ts);` +
          (o.otherHighFirst || o.fleetlessFirst ? ' with otherHighFirst or fleetlessFirst a busy worker reads as often, so every worker costs the idle figure.' : ' a busy worker makes no readings.') +
          (o.tuned
            ? ` The tuned variant's reading every ${o.tunedCheckEvery} s would cost about $${tunedCost.toFixed(3)} (readings scale as 1 / interval; at 10 s $${costAt(10).toFixed(3)}),` +
              ` and an idle poll of ${o.tunedIdlePoll} s more idle receives (worker/lanes.ts).`
            : ''),
        `- start-up cost: ${o.startup} s per stolen request here; a request whose input is in its own region pays the transfer on top (--startup).`,
      ].join('\n'),
    );
    let sweep: Array<{ name: string; load: number; ratio: Interval; stolenShare: number }> = [];
    if (o.sweep) {
      const settings: StealVariant[] = [
        { name: 'shipped defaults', knobs },
        { name: 'min backlog 0', knobs: { ...knobs, minBacklogPerWorker: 0 } },
        { name: `reading and idle poll ${o.tunedCheckEvery} s`, knobs: { ...knobs, checkEverySeconds: o.tunedCheckEvery, idlePollSeconds: o.tunedIdlePoll } },
        { name: 'tuned (both)', knobs: tunedKnobs },
        { name: 'tuned, reading and idle poll 1 s', knobs: { ...tunedKnobs, checkEverySeconds: 1, idlePollSeconds: 1 } },
        { name: 'shipped defaults, start-up 30 s', knobs: { ...knobs, startupSeconds: 30 } },
        { name: 'shipped defaults, start-up 30 s weighed', knobs: { ...knobs, startupSeconds: 30, weighStartup: true } },
        { name: 'tuned, start-up 5 s', knobs: { ...tunedKnobs, startupSeconds: 5 } },
        { name: 'tuned, start-up 30 s', knobs: { ...tunedKnobs, startupSeconds: 30 } },
        { name: 'tuned, start-up 30 s weighed', knobs: { ...tunedKnobs, startupSeconds: 30, weighStartup: true } },
        { name: 'tuned, receive 0.5 s', knobs: { ...tunedKnobs, receiveSeconds: 0.5 } },
      ];
      sweep = o.sweepLoads.flatMap((load) => {
        const row = loadRow(load, seeds, base, settings);
        return settings.map((v) => ({ name: v.name, load, ratio: (row.ratio[v.name] as { interval: Interval }).interval, stolenShare: row.stolenShare[v.name] ?? 0 }));
      });
      log(
        `\n== sweep: p99 end to end over the pooled queue's [95% interval] (stolen share), one setting changed at a time\n` +
          table([
            ['setting', ...o.sweepLoads.map((l) => pct(l))],
            ...settings.map((v) => [
              v.name,
              ...o.sweepLoads.map((l) => {
                const c = sweep.find((x) => x.name === v.name && x.load === l) as (typeof sweep)[number];
                return `${ratioCi(c.ratio)} (${pct(c.stolenShare)})`;
              }),
            ]),
          ]),
      );
    }
    const elapsed = (performance.now() - started) / 1000;
    if (o.json) {
      console.log(JSON.stringify({ seeds, options: o, elapsedSeconds: elapsed, sweep, loads: rows, stranded: { drain: stranded.drain, p99: stranded.p99, ratio: stranded.ratio }, high, targets: checks, recommendation: on ? 'on' : 'off' }, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2));
    } else console.log(`\nsimulated in ${elapsed.toFixed(1)} s`);
  });

/** meanInterval, but +Infinity when any value is (a backlog never drained). */
function meanOf(values: number[]): Interval {
  if (values.some((v) => !Number.isFinite(v))) return { mean: Number.POSITIVE_INFINITY, low: Number.NaN, high: Number.NaN, n: values.length, sd: Number.NaN };
  return meanInterval(values);
}

program.parse();
