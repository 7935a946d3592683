/**
 * `npm run cost`: the monthly bill of this dispatch at a load, from the deployment's own settings
 * (stacks/settings.ts, core/topology.ts; tools/bench/cost/deployed.ts) and figures measured on the local stack
 * (tools/bench/cost/measured.json, made by `--measure`: tools/bench/cost/measure.ts), beside the original system's
 * claim, with where the money goes and what each lever changes. See docs/cost.md.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { TIMEOUTS } from '../../../core/topology.js';
import { secondsAtLeast, wholeNumber } from '../../args.js';
import { alarmMetrics, deployedSettings } from './deployed.js';
import { MEASURED_SCHEMA, type MeasuredFigures } from './figures.js';
import { parseTableCapacity, TABLE_CAPACITY_ENV, type TableCapacity } from '../../../stacks/settings.js';
import { levers, loggingName, tableCapacityFigures, TARGETS, type Levers, type TableCapacityFigures } from './levers.js';
import { LOG_LEVELS, type LogLevel } from './log-records.js';
import { codeFingerprint, measure } from './measure.js';
import { computeBill, type Bill, type CostSettings, type Service } from './model.js';
import { ORIGINAL_CLAIM, PRICES_READ_ON } from './prices.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const MEASURED_FILE = join(ROOT, 'tools', 'bench', 'cost', 'measured.json');

export interface Options {
  perDay: number;
  stage: string;
  inspectable?: boolean;
  dashboard?: boolean;
  batchFill?: number;
  batchingWindow?: number;
  pollers?: number;
  logLevel?: LogLevel;
  executionData: boolean;
  regions?: number;
  cacheTtl?: number;
  duplicates: number;
  highShare?: number;
  highWindow?: number;
  highPollers?: number;
  lanes: boolean;
  retentionDays?: number;
  workers: number;
  workerSecondsPerRequest: number;
  tableCapacity?: TableCapacity;
  measure?: boolean;
  json?: boolean;
}

const fraction = (flag: string, min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new InvalidArgumentError(`${flag} must be a number from ${min} to ${max}, got "${value}".`);
  }
  return n;
};

const logLevel = (value: string): LogLevel => {
  const upper = value.trim().toUpperCase();
  if (!(LOG_LEVELS as readonly string[]).includes(upper)) {
    throw new InvalidArgumentError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${value}".`);
  }
  return upper as LogLevel;
};

/** CloudWatch Logs retention values (PutRetentionPolicy). */
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
const retention = (value: string) => {
  const n = Number(value);
  if (!RETENTION_DAYS.includes(n)) throw new InvalidArgumentError(`--retention-days must be one CloudWatch Logs allows (${RETENTION_DAYS.join(', ')}), got "${value}".`);
  return n;
};

const capacity = (value: string): TableCapacity => {
  try {
    return parseTableCapacity(value);
  } catch (error) {
    throw new InvalidArgumentError(`--table-capacity ${(error as Error).message}, got "${value}".`);
  }
};

/** The command's defaults, shared with `npm run cost:docs` (tools/bench/cost/docs-block.ts). */
export const DEFAULTS = { perDay: 100_000, stage: 'production', duplicates: 0, workers: 0, workerSecondsPerRequest: 0 } as const;

export function loadMeasured(): MeasuredFigures {
  let text: string;
  try {
    text = readFileSync(MEASURED_FILE, 'utf8');
  } catch {
    throw new Error(`no measured figures at ${MEASURED_FILE}: run \`npm run cost -- --measure\` (about a minute)`);
  }
  const parsed = JSON.parse(text) as MeasuredFigures;
  if (parsed.schema !== MEASURED_SCHEMA) throw new Error(`${MEASURED_FILE} is schema ${parsed.schema}, this model reads ${MEASURED_SCHEMA}: run \`npm run cost -- --measure\``);
  return parsed;
}

// ---- formatting ------------------------------------------------------------------------------------

/** A plain-text table: the first row is the header; the first `left` columns left-aligned, the rest right-aligned. */
function table(rows: ReadonlyArray<readonly string[]>, left = 1): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  const line = (row: readonly string[]) =>
    row.map((cell, i) => (i < left ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(rows[0] ?? []), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

export const usd = (n: number) => (n >= 100 ? `$${n.toFixed(0)}` : n >= 0.995 ? `$${n.toFixed(2)}` : n >= 0.0095 ? `$${n.toFixed(2)}` : n > 0 ? '<$0.01' : '$0');
export function quantity(n: number, unit: string): string {
  const scaled = n >= 1e9 ? `${(n / 1e9).toFixed(2)} G` : n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e4 ? `${(n / 1e3).toFixed(0)} k` : n >= 100 ? n.toFixed(0) : n >= 1 ? n.toFixed(2) : n.toFixed(3);
  return `${scaled} ${unit}`.replace('G GB', 'G GB');
}
export const kb = (bytes: number) => `${(bytes / 1000).toFixed(1)} KB`;
export const pct = (share: number) => `${(share * 100).toFixed(0)}%`;

function printProvenance(measured: MeasuredFigures, warnings: readonly string[]): void {
  const fingerprint = codeFingerprint(ROOT);
  console.log(
    `measured figures: ${MEASURED_FILE.slice(ROOT.length + 1)}, ${measured.measuredAt.slice(0, 16).replace('T', ' ')} UTC, ` +
      `commit ${measured.code.commit ?? '?'}${measured.code.changedSinceCommit.length ? ` + ${measured.code.changedSinceCommit.length} changed file(s)` : ''}, ` +
      `${measured.machine.cores} cores (${measured.machine.cpu}${measured.machine.loadAverage ? `, load ${measured.machine.loadAverage.join(' -> ')}` : ''}), Node ${measured.machine.node}; made by \`${measured.command}\``,
  );
  if (fingerprint !== measured.code.fingerprint) {
    console.log(
      `  NOTE: workflows/, functions/, core/, aws/ or worker/ changed since (fingerprint ${measured.code.fingerprint} -> ${fingerprint}): ` +
        'run `npm run cost -- --measure` for figures of the code as it is',
    );
  }
  for (const warning of warnings) console.log(`  NOTE: ${warning}`);
  console.log(`prices: us-east-1 list prices read ${PRICES_READ_ON} (tools/bench/cost/prices.ts, sources in docs/cost.md); totals WITHOUT the free tier`);
}

function printSettings(s: CostSettings, overridden: ReadonlySet<string>): void {
  const mark = (key: string) => (overridden.has(key) ? ' (flag)' : ' (deployed)');
  console.log(
    `load ${s.perDay.toLocaleString('en-US')} requests/day, ${s.regions} regions${mark('regions')}; ` +
      (s.batchFill === undefined
        ? `batching window ${s.batchingWindowSeconds} s${mark('batchingWindow')}, ${s.pollers} pollers${mark('pollers')}`
        : `batch fill ${s.batchFill}${mark('batchFill')}`) +
      `; CACHE_TTL ${s.cacheTtlSeconds} s${mark('cacheTtl')}; state machine log ${loggingName(s)}${overridden.has('logLevel') || overridden.has('executionData') ? ' (flag)' : ' (deployed)'}, ` +
      `kept ${s.logRetentionDays} days${mark('retentionDays')}; memory intake ${s.memoryMb.intake} / snapshot ${s.memoryMb.snapshot} / select ${s.memoryMb.select} / forward ${s.memoryMb.forward} MB (deployed)` +
      (s.duplicates ? `; ${pct(s.duplicates)} duplicates` : '') +
      (s.highLane
        ? `; high lanes${mark('highLane')}: ${pct(s.highLane.share)} of requests, their own master lane batched within ${s.highLane.windowSeconds} s by ${s.highLane.pollers} pollers`
        : '; no high lanes (flag)'),
  );
}

function printBill(bill: Bill): void {
  const d = bill.derived;
  const delay = d.batchingDelay ? `, batching adds ${d.batchingDelay.mean.toFixed(2)} s on average (at most ${d.batchingDelay.max} s)` : '';
  console.log(
    `per month: ${quantity(d.messagesPerMonth, 'messages')} in ${quantity(d.executionsPerMonth, 'executions')} ` +
      `(${d.meanBatch.toFixed(2)} messages each${delay}); execution ~${d.executionMsAws.toFixed(0)} ms on AWS (estimate), ` +
      `${d.executionBilledMs.toFixed(0)} ms x ${d.expressMemoryMb.toFixed(0)} MB billed; state machine log ${kb(d.logBytesPerExecution)} per execution = ${kb(d.logBytesPerMessage)} per message` +
      `${d.regionsMeasured ? '' : ` (NOTE: ${bill.settings.regions} regions were not measured: figures extrapolated from the measured region counts)`}`,
  );
  console.log('');
  const rows: string[][] = [['service', 'component', 'quantity', '$/month', 'share']];
  for (const line of bill.lines) {
    rows.push([line.service, line.component, quantity(line.quantity, line.unit), usd(line.usd), pct(line.usd / bill.totalUsd)]);
  }
  rows.push(['', 'TOTAL (without free tier)', '', usd(bill.totalUsd), '100%']);
  console.log(table(rows, 2));
  const notes = bill.lines.filter((l) => l.note);
  for (const line of notes) console.log(`  ${line.component}: ${line.note}`);
  const receiver = bill.settings.workerReceiver;
  console.log(
    `  an idle worker's lane receives: ${usd(d.idleWorkerUsdPerMonth)} a month (${quantity(d.idleWorkerReceivesPerMonth, 'receives')}: ` +
      (bill.settings.highLane
        ? `${receiver.receivesPerIdleCycle} per ${receiver.idleCycleSeconds} s idle cycle`
        : `1 per ${receiver.normalOnlyWaitSeconds} s on the normal lane alone`) +
      `; ${bill.settings.workers ? `${bill.settings.workers} workers in the bill` : 'not in the total: --workers <n> adds a fleet'})`,
  );
  console.log(`  the always-free tier, if nothing else in the account uses it, would take off about ${usd(bill.freeTierUsd)} (not in the total)`);
}

function printWhere(bill: Bill): void {
  const order: Service[] = ['CloudWatch Logs', 'Lambda', 'SQS', 'Step Functions', 'X-Ray', 'DynamoDB', 'CloudWatch', 'Other'];
  const claim = ORIGINAL_CLAIM.parts as Record<string, number>;
  const rows: string[][] = [['service', 'this design', 'share', `original claim (${usd(ORIGINAL_CLAIM.totalUsd)} at ${ORIGINAL_CLAIM.perDay.toLocaleString('en-US')}/day)`]];
  for (const service of [...order].sort((a, b) => bill.byService[b] - bill.byService[a])) {
    rows.push([service, usd(bill.byService[service]), pct(bill.byService[service] / bill.totalUsd), claim[service] === undefined ? '-' : `~${usd(claim[service] as number)}`]);
  }
  rows.push(['total', usd(bill.totalUsd), '100%', `~${usd(ORIGINAL_CLAIM.totalUsd)}`]);
  console.log('');
  console.log('where the money goes:');
  console.log(table(rows));
  if (bill.settings.perDay !== ORIGINAL_CLAIM.perDay) console.log(`  (the original's claim is for ${ORIGINAL_CLAIM.perDay.toLocaleString('en-US')} messages a day)`);
}

function printLevers(result: Levers, bill: Bill): void {
  console.log('');
  console.log(`batching window (${bill.settings.pollers} pollers share the arrivals; totals at ${bill.settings.perDay.toLocaleString('en-US')}/day):`);
  const rows: string[][] = [['window', 'messages/batch', 'latency added: mean', 'max', 'inspectable (ALL + data)', `production (${loggingName(result.production)})`]];
  for (const r of result.sweep) {
    rows.push([
      `${r.windowSeconds} s${r.windowSeconds === result.recommendedWindowSeconds ? ' <- recommended' : ''}`,
      r.meanBatch.toFixed(2),
      `${r.latencyMeanSeconds.toFixed(2)} s`,
      `${r.latencyMaxSeconds} s`,
      usd(r.inspectableUsd),
      usd(r.productionUsd),
    ]);
  }
  console.log(table(rows));
  const w = result.recommendedWindowSeconds;
  const needed = 6 * TIMEOUTS.intakeTimeoutSeconds + w;
  console.log(
    `  recommended: ${w} s, the shortest window within 10% of the cheapest (up to 30 s), chosen at ${TARGETS.perDay.toLocaleString('en-US')}/day` +
      (bill.settings.pollers > 1 ? `; with ${bill.settings.pollers} pollers each sees 1/${bill.settings.pollers} of the arrivals` : '') +
      '.\n  A received message stays invisible while its batch gathers, so the window counts against the master visibility timeout ' +
      `on top of AWS's 6 x the function timeout: 6 x ${TIMEOUTS.intakeTimeoutSeconds} s + ${w} s = ${needed} s` +
      (needed > TIMEOUTS.masterVisibilitySeconds ? ` > ${TIMEOUTS.masterVisibilitySeconds} s now (core/topology.ts TIMEOUTS): raise it, or lower the intake timeout.` : ` <= ${TIMEOUTS.masterVisibilitySeconds} s.`),
  );
  console.log('');
  console.log('levers (each alone, then the recommended settings):');
  const base = result.scenarios[0]?.bill.totalUsd ?? bill.totalUsd;
  const lrows: string[][] = [['settings', '$/month', 'vs given', 'state machine log per message']];
  for (const s of result.scenarios) {
    lrows.push([s.name, usd(s.bill.totalUsd), s === result.scenarios[0] ? '' : `${s.bill.totalUsd <= base ? '-' : '+'}${usd(Math.abs(s.bill.totalUsd - base))}`, kb(s.bill.derived.logBytesPerMessage)]);
  }
  console.log(table(lrows));
}

const capacityName = (c: TableCapacity | undefined) =>
  c?.mode === 'provisioned' ? `provisioned, ${c.readUnits} RCU / ${c.writeUnits} WCU` : 'on-demand';

function printTableCapacity(figures: TableCapacityFigures, bill: Bill, overridden: ReadonlySet<string>): void {
  const perDay = (n: number) => n.toLocaleString('en-US');
  const f = figures;
  console.log('');
  console.log(`table capacity (${capacityName(bill.settings.tableCapacity)}${overridden.has('tableCapacity') ? ', flag' : ', deployed'}; ${TABLE_CAPACITY_ENV} at deploy):`);
  console.log(
    `  ${f.units.wru.toFixed(2)} write units and ${f.units.rru.toFixed(2)} read units per request; at ${perDay(f.perDay)}/day on-demand requests cost ${usd(f.onDemandUsd)} a month, ` +
      `provisioned for this load (${f.headroom} x the mean rate, at least 10 WCU) ${f.sized.readUnits} RCU / ${f.sized.writeUnits} WCU cost ${usd(f.sizedUsd)}`,
  );
  console.log(
    f.breakEvenPerDay === undefined
      ? '  break-even: provisioned capacity with this headroom is never cheaper than on-demand'
      : `  break-even: provisioned, sized so, is cheaper than on-demand from ${perDay(f.breakEvenPerDay)} requests/day (docs/cost.md "Table capacity": size it for the peak, not the mean)`,
  );
}

/** A target's verdict as `npm run cost` prints it: met and by how much under, or missed by how much. */
export const verdict = (total: number, target: number) =>
  total <= target ? `MET (${usd(total)}, ${usd(target - total)} under)` : `MISSED by ${usd(total - target)} (${usd(total)})`;

/** The scenarios of the levers that issue 19's targets are checked on. */
export function targetScenarios(result: Levers): { inspectable?: Levers['scenarios'][number]; production?: Levers['scenarios'][number] } {
  return {
    inspectable: result.scenarios.find((s) => s.name.startsWith('recommended, every dispatch')),
    production: result.scenarios.find((s) => s.name.startsWith('recommended production')),
  };
}

function printTargets(result: Levers, bill: Bill): void {
  const { inspectable, production } = targetScenarios(result);
  if (!inspectable || !production) return;
  console.log('');
  if (bill.settings.perDay !== TARGETS.perDay) {
    console.log(`targets (issue 19) are for ${TARGETS.perDay.toLocaleString('en-US')} requests/day: run with --per-day ${TARGETS.perDay} to check them`);
    return;
  }
  console.log('targets at 100,000 requests/day (issue 19; why each is met or missed: docs/cost.md "Targets"):');
  console.log(`  <= ${usd(TARGETS.productionUsd)} with the production default (${loggingName(result.production)}): ${verdict(production.bill.totalUsd, TARGETS.productionUsd)}`);
  console.log(`  <= ${usd(TARGETS.inspectableUsd)} with every dispatch inspectable (ALL with execution data): ${verdict(inspectable.bill.totalUsd, TARGETS.inspectableUsd)}`);
  console.log(`  <= ${usd(TARGETS.idleWorkerUsd)} a month for an idle worker's receives: ${verdict(bill.derived.idleWorkerUsdPerMonth, TARGETS.idleWorkerUsd)}`);
}

/**
 * The settings priced: the deployed ones (`d`), with each flag given in `options` in their place; the keys a
 * flag set are added to `overridden` (the output marks them). `npm run cost:docs` prices its rows with it.
 */
export function costSettings(
  d: CostSettings,
  options: Omit<Options, 'stage' | 'inspectable' | 'dashboard' | 'measure' | 'json'>,
  executionDataFromCli = false,
  overridden = new Set<string>(),
): CostSettings {
  const pick = <T>(key: string, value: T | undefined, fallback: T): T => {
    if (value === undefined) return fallback;
    overridden.add(key);
    return value;
  };
  const regions = pick('regions', options.regions, d.regions);
  if (executionDataFromCli) overridden.add('executionData');
  const settings: CostSettings = {
    ...d,
    perDay: options.perDay,
    regions,
    alarmMetrics: alarmMetrics(regions),
    kmsCallers: 2 + regions,
    alarmTopicKeys: regions,
    batchingWindowSeconds: pick('batchingWindow', options.batchingWindow, d.batchingWindowSeconds),
    ...(options.batchFill === undefined ? {} : { batchFill: pick('batchFill', options.batchFill, 1) }),
    pollers: pick('pollers', options.pollers, d.pollers),
    cacheTtlSeconds: pick('cacheTtl', options.cacheTtl, d.cacheTtlSeconds),
    logLevel: pick('logLevel', options.logLevel, d.logLevel),
    executionData: executionDataFromCli ? options.executionData : d.executionData,
    logRetentionDays: pick('retentionDays', options.retentionDays, d.logRetentionDays),
    duplicates: options.duplicates,
    workers: options.workers,
    workerSecondsPerRequest: options.workerSecondsPerRequest,
    tableCapacity: pick('tableCapacity', options.tableCapacity, d.tableCapacity ?? { mode: 'on-demand' }),
  };
  if (!options.lanes) {
    overridden.add('highLane');
    delete (settings as { highLane?: unknown }).highLane;
  } else if (d.highLane && (options.highShare ?? options.highWindow ?? options.highPollers) !== undefined) {
    overridden.add('highLane');
    (settings as { highLane?: CostSettings['highLane'] }).highLane = {
      ...d.highLane,
      ...(options.highShare === undefined ? {} : { share: options.highShare }),
      ...(options.highWindow === undefined ? {} : { windowSeconds: options.highWindow }),
      ...(options.highPollers === undefined ? {} : { pollers: options.highPollers }),
    };
  }
  return settings;
}

// ---- the command ----------------------------------------------------------------------------------

const program = new Command('cost')
  .description('monthly bill of the dispatch at a load, from the deployed settings and figures measured on the local stack (docs/cost.md)')
  .option('--per-day <n>', 'requests a day', wholeNumber('--per-day', 1, 1_000_000_000), DEFAULTS.perDay)
  .addOption(new Option('--batch-fill <f>', 'mean messages per execution (instead of deriving it from the batching window)').argParser(fraction('--batch-fill', 1, 10)).conflicts('batchingWindow'))
  .option('--batching-window <s>', 'the event source mapping\'s MaximumBatchingWindowInSeconds (default: deployed)', secondsAtLeast('--batching-window', 0, 300))
  .option('--pollers <n>', 'event source pollers sharing the arrivals at low traffic (default: 5 with maximumConcurrency set, as deployed)', wholeNumber('--pollers', 1, 1000))
  .option('--stage <stage>', 'the stage whose deployed settings to price (its state machine log level follows the stage)', DEFAULTS.stage)
  .option('--inspectable', 'the stage is named in DISPATCH_INSPECTABLE_STAGES at deploy: its executions are logged with their data')
  .option('--dashboard', 'the stage is deployed with DISPATCH_DASHBOARD=on: its CloudWatch dashboard joins the bill')
  .option('--log-level <level>', 'state machine log level ALL|ERROR|FATAL|OFF (default: deployed)', logLevel)
  .option('--no-execution-data', 'state machine log without execution data (input/output)')
  .option('--regions <n>', 'regions (default: deployed)', wholeNumber('--regions', 1, 20))
  .option('--cache-ttl <s>', 'CACHE_TTL of queue-depth readings (default: deployed)', secondsAtLeast('--cache-ttl', 0, 86_400))
  .option('--duplicates <f>', 'share of requests that repeat one already dispatched', fraction('--duplicates', 0, 1), DEFAULTS.duplicates)
  .option('--high-window <s>', "the high master lane's batching window (default: deployed)", secondsAtLeast('--high-window', 0, 300))
  .option('--high-pollers <n>', "the high master lane's event source pollers at low traffic (default: deployed)", wholeNumber('--high-pollers', 1, 1000))
  .option('--high-share <f>', 'share of requests sent at high priority, through the high lanes (default: 0.1, an assumption)', fraction('--high-share', 0, 1))
  .option('--no-lanes', 'price the deployment without priority lanes (one master queue, one queue per region)')
  .option('--retention-days <n>', 'log retention (default: deployed)', retention)
  .option('--workers <n>', "GPU workers polling the regional lanes: their idle receives join the bill (default 0: the fleet's idle polls left out)", wholeNumber('--workers', 0, 1_000_000), DEFAULTS.workers)
  .option('--worker-seconds-per-request <s>', 'seconds a worker is busy per request, when it makes no receives (default 0: the whole fleet idle)', secondsAtLeast('--worker-seconds-per-request', 0, 86_400), DEFAULTS.workerSecondsPerRequest)
  .option('--table-capacity <mode>', `the table's capacity: on-demand or provisioned:<read units>:<write units> (default: deployed, ${TABLE_CAPACITY_ENV} unset: on-demand)`, capacity)
  .option('--measure', 'measure the figures again on the local stack (about a minute) and save them')
  .option('--json', 'print the results as JSON')
  .action(async (options: Options) => {
    if (options.measure) {
      const started = Date.now();
      console.error('measuring on the local stack (sizes 1..10 messages, 1..5 regions)...');
      const figures = await measure({ root: ROOT, progress: (line) => console.error(line) });
      writeFileSync(MEASURED_FILE, `${JSON.stringify(figures, null, 2)}\n`);
      console.error(`measured in ${((Date.now() - started) / 1000).toFixed(0)} s; saved ${MEASURED_FILE.slice(ROOT.length + 1)}`);
    }
    const measured = loadMeasured();
    const deployed = (() => {
      try {
        return deployedSettings(ROOT, { stage: options.stage, inspectable: options.inspectable ?? false, dashboard: options.dashboard ?? false });
      } catch (error) {
        return program.error(`error: ${(error as Error).message}`);
      }
    })();
    const overridden = new Set<string>();
    const executionDataFromCli = program.getOptionValueSource('executionData') === 'cli';
    const settings = costSettings(deployed.settings, options, executionDataFromCli, overridden);
    const bill = computeBill(settings, measured);
    const result = levers(settings, measured);
    const tableFigures = tableCapacityFigures(settings, measured);
    if (options.json) {
      console.log(
        JSON.stringify(
          {
            settings,
            sources: deployed.sources,
            warnings: deployed.warnings,
            measured: { file: MEASURED_FILE.slice(ROOT.length + 1), measuredAt: measured.measuredAt, code: measured.code, machine: measured.machine },
            pricesReadOn: PRICES_READ_ON,
            bill,
            originalClaim: ORIGINAL_CLAIM,
            levers: {
              recommendedWindowSeconds: result.recommendedWindowSeconds,
              productionLogging: result.production,
              sweep: result.sweep,
              scenarios: result.scenarios.map((s) => ({ name: s.name, totalUsd: s.bill.totalUsd, byService: s.bill.byService, logBytesPerMessage: s.bill.derived.logBytesPerMessage })),
            },
            tableCapacity: tableFigures,
            targets: TARGETS,
          },
          null,
          2,
        ),
      );
      return;
    }
    printProvenance(measured, deployed.warnings);
    printSettings(settings, overridden);
    printBill(bill);
    printWhere(bill);
    printLevers(result, bill);
    printTableCapacity(tableFigures, bill, overridden);
    printTargets(result, bill);
  });

// Run only as the command: `npm run cost:docs` imports what it prices with from here.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  program.showHelpAfterError();
  await program.parseAsync();
}
