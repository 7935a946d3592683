/**
 * `npm run cost:docs`: writes today's cost figures between `<!-- cost:begin -->` and `<!-- cost:end -->` in
 * docs/cost.md (the figures, issue 19's targets, where the money goes, the batching window, the levers, the
 * table's capacity) and in README.md (a short table), with the functions `npm run cost` prints them with
 * (tools/bench/cost/main.ts), from the deployed settings and tools/bench/cost/measured.json. Each figure
 * names the command that prints it. `--check` writes nothing: it exits 1 with a diff when a block is not
 * what it would write. `--docs <path>` and `--readme <path>` point at other files (tests).
 * test/tools/bench/cost-docs.test.ts fails when the blocks differ from what this writes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { deployedSettings, type StageChoice } from './deployed.js';
import type { MeasuredFigures } from './figures.js';
import { levers, loggingName, tableCapacityFigures, TARGETS, type Levers } from './levers.js';
import { costSettings, DEFAULTS, kb, loadMeasured, pct, quantity, ROOT, targetScenarios, usd, verdict } from './main.js';
import { computeBill, type Bill, type CostSettings, type Service } from './model.js';
import { ORIGINAL_CLAIM, PRICES_READ_ON } from './prices.js';
import { lineDiff } from '../line-diff.js';
export { lineDiff };

export const BEGIN = '<!-- cost:begin -->';
export const END = '<!-- cost:end -->';
export const DOCS_FILE = join(ROOT, 'docs', 'cost.md');
export const README_FILE = join(ROOT, 'README.md');

/** A row's stage as `npm run cost` takes it: `--stage`, `--inspectable`, `--dashboard`, `--no-lanes`. */
export interface Choice extends StageChoice {
  readonly lanes?: boolean;
}

export interface Priced {
  readonly settings: CostSettings;
  readonly warnings: readonly string[];
  readonly bill: Bill;
  readonly levers: Levers;
}

/** What `npm run cost` prices for these flags, every other flag at its default. */
export function price(choice: Choice, measured: MeasuredFigures, root = ROOT): Priced {
  const deployed = deployedSettings(root, { stage: choice.stage ?? DEFAULTS.stage, inspectable: choice.inspectable ?? false, dashboard: choice.dashboard ?? false });
  const settings = costSettings(deployed.settings, {
    perDay: DEFAULTS.perDay,
    duplicates: DEFAULTS.duplicates,
    workers: DEFAULTS.workers,
    workerSecondsPerRequest: DEFAULTS.workerSecondsPerRequest,
    executionData: true,
    lanes: choice.lanes ?? true,
  });
  return { settings, warnings: deployed.warnings, bill: computeBill(settings, measured), levers: levers(settings, measured) };
}

export interface Figures {
  readonly measured: MeasuredFigures;
  readonly production: Priced;
  readonly noLanes: Priced;
  readonly dev: Priced;
  readonly inspectable: Priced;
  readonly dashboard: Priced;
}

export function figures(measured: MeasuredFigures = loadMeasured(), root = ROOT): Figures {
  return {
    measured,
    production: price({}, measured, root),
    noLanes: price({ lanes: false }, measured, root),
    dev: price({ stage: 'dev' }, measured, root),
    inspectable: price({ stage: 'dev', inspectable: true }, measured, root),
    dashboard: price({ dashboard: true }, measured, root),
  };
}

const scenario = (p: Priced, prefix: string) => {
  const found = p.levers.scenarios.find((s) => s.name.startsWith(prefix));
  if (!found) throw new Error(`npm run cost prints no "${prefix}" lever`);
  return found;
};

interface Target {
  readonly what: string;
  readonly limit: number;
  readonly today: number;
}

/** Issue 19's targets, on the figures `npm run cost` checks them on (its "targets" lines). */
export function targets(f: Figures): Target[] {
  const { production, inspectable } = targetScenarios(f.production.levers);
  if (!production || !inspectable) throw new Error('npm run cost prints no recommended scenarios to check the targets on');
  return [
    { what: `production (${loggingName(f.production.levers.production)})`, limit: TARGETS.productionUsd, today: production.bill.totalUsd },
    { what: 'every dispatch inspectable (ALL with execution data)', limit: TARGETS.inspectableUsd, today: inspectable.bill.totalUsd },
    { what: "an idle worker's receives", limit: TARGETS.idleWorkerUsd, today: f.production.bill.derived.idleWorkerUsdPerMonth },
  ];
}

const short = (t: Target) => (t.today <= t.limit ? `MET, ${usd(t.limit - t.today)} under` : `**MISSED** by ${usd(t.today - t.limit)}`);
const perDay = (n: number) => n.toLocaleString('en-US');

function notes(f: Figures): string[] {
  const warnings = [...new Set([f.production, f.noLanes, f.dev, f.inspectable, f.dashboard].flatMap((p) => p.warnings))];
  return warnings.map((w) => `NOTE (\`npm run cost\` prints it): ${w}.`);
}

/** The block of docs/cost.md, markers included. */
export function costPageBlock(f: Figures): string {
  const p = f.production;
  const d = p.bill.derived;
  const s = p.settings;
  const floor = scenario(p, 'floor');
  const m = f.measured;
  const lanes = s.highLane ? `, priority lanes (${pct(s.highLane.share)} of requests high, an assumption)` : '';
  const lines: string[] = [
    BEGIN,
    `_Written by \`npm run cost:docs\` (tools/bench/cost/docs-block.ts); do not edit by hand._ At ${perDay(s.perDay)} requests a day, ` +
      `us-east-1 list prices read ${PRICES_READ_ON}, **without the free tier**; figures measured on the local stack in ` +
      `tools/bench/cost/measured.json (${m.measuredAt.slice(0, 16).replace('T', ' ')} UTC, commit ${m.code.commit ?? '?'}). ` +
      'Each figure is printed by the command beside it.',
    ...notes(f),
    '',
    '| at 100,000 requests/day | $/month | printed by |',
    '|---|---:|---|',
    `| a production stage as deployed: ${s.batchingWindowSeconds} s window (${d.meanBatch.toFixed(2)} messages per execution), state machine log ${loggingName(s)}${lanes} | **${usd(p.bill.totalUsd)}** | \`npm run cost\` |`,
    `| the same without priority lanes | ${usd(f.noLanes.bill.totalUsd)} | \`npm run cost -- --no-lanes\` |`,
    `| a development stage: log ${loggingName(f.dev.settings)} (${kb(f.dev.bill.derived.logBytesPerMessage)} per message) | ${usd(f.dev.bill.totalUsd)} | \`npm run cost -- --stage dev\` |`,
    `| a stage named inspectable: log ${loggingName(f.inspectable.settings)} (${kb(f.inspectable.bill.derived.logBytesPerMessage)} per message) | ${usd(f.inspectable.bill.totalUsd)} | \`npm run cost -- --stage dev --inspectable\` |`,
    `| production with its dashboard (DISPATCH_DASHBOARD=on) | ${usd(f.dashboard.bill.totalUsd)} | \`npm run cost -- --dashboard\` |`,
    `| floor: log OFF, X-Ray off, system logs WARN, no dashboard, alarms, alarm keys or custom metrics | ${usd(floor.bill.totalUsd)} | \`npm run cost\`, levers: "floor" |`,
    `| an idle worker's receives (${quantity(d.idleWorkerReceivesPerMonth, 'receives')} a month; not in the totals) | ${usd(d.idleWorkerUsdPerMonth)} | \`npm run cost\`, "an idle worker's lane receives" |`,
    '',
    `Issue 19's targets at ${perDay(TARGETS.perDay)} requests a day (\`npm run cost\`, "targets"; why each is met or missed: [Targets](#targets)):`,
    '',
    '| target | verdict |',
    '|---|---|',
    ...targets(f).map((t) => `| ${t.what} <= ${usd(t.limit)} | ${verdict(t.today, t.limit).replace(/^(MET|MISSED)/, '**$1**')} |`),
    '',
    `Where the money goes in production (\`npm run cost\`, "where the money goes"; the original's claim is ~${usd(ORIGINAL_CLAIM.totalUsd)}):`,
    '',
    '| service | $/month | share | the original\'s claim |',
    '|---|---:|---:|---:|',
  ];
  const claim = ORIGINAL_CLAIM.parts as Record<string, number>;
  const services = Object.keys(p.bill.byService) as Service[];
  for (const service of [...services].sort((a, b) => p.bill.byService[b] - p.bill.byService[a])) {
    const v = p.bill.byService[service];
    lines.push(`| ${service} | ${usd(v)} | ${pct(v / p.bill.totalUsd)} | ${claim[service] === undefined ? '-' : `~${usd(claim[service] as number)}`} |`);
  }
  lines.push(`| **total** | **${usd(p.bill.totalUsd)}** | 100% | ~${usd(ORIGINAL_CLAIM.totalUsd)} |`);
  lines.push(
    '',
    `The batching window at ${perDay(s.perDay)} requests a day, ${s.pollers} pollers (\`npm run cost\`, "batching window"):`,
    '',
    `| window | messages per execution | latency added: mean | max | inspectable (ALL with data) | production (${loggingName(p.levers.production)}) |`,
    '|---:|---:|---:|---:|---:|---:|',
  );
  for (const r of p.levers.sweep) {
    const mark = r.windowSeconds === p.levers.recommendedWindowSeconds ? ' (recommended)' : '';
    lines.push(`| ${r.windowSeconds} s${mark} | ${r.meanBatch.toFixed(2)} | ${r.latencyMeanSeconds.toFixed(2)} s | ${r.latencyMaxSeconds} s | ${usd(r.inspectableUsd)} | ${usd(r.productionUsd)} |`);
  }
  lines.push('', 'Each lever alone on the production stage as deployed (`npm run cost`, "levers"):', '', '| settings | $/month | vs deployed | state machine log per message |', '|---|---:|---:|---:|');
  const base = p.levers.scenarios[0]?.bill.totalUsd ?? p.bill.totalUsd;
  p.levers.scenarios.forEach((sc, i) => {
    const delta = i === 0 ? '' : `${sc.bill.totalUsd <= base ? '-' : '+'}${usd(Math.abs(sc.bill.totalUsd - base))}`;
    lines.push(`| ${sc.name} | ${usd(sc.bill.totalUsd)} | ${delta} | ${kb(sc.bill.derived.logBytesPerMessage)} |`);
  });
  lines.push('', ...measuredTable(f.measured, s.regions));
  const t = tableCapacityFigures(s, f.measured);
  lines.push(
    '',
    `The table (\`npm run cost\`, "table capacity"): ${t.units.wru.toFixed(2)} write units and ${t.units.rru.toFixed(2)} read units per request; ` +
      `on-demand, its requests cost ${usd(t.onDemandUsd)} a month; provisioned for this load (${t.headroom} x the mean rate, at least 10 WCU), ` +
      `${t.sized.readUnits} RCU / ${t.sized.writeUnits} WCU cost ${usd(t.sizedUsd)}; ` +
      (t.breakEvenPerDay === undefined ? 'provisioned so is never cheaper.' : `break-even at **${perDay(t.breakEvenPerDay)} requests a day**.`),
    END,
  );
  return lines.join('\n');
}

const MEASURED_SIZES = [1, 2, 3, 5, 8, 10];
const median = (xs: readonly number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** Per execution, at the deployed region count, as tools/bench/cost/measured.json holds it (`npm run cost -- --measure` writes it). */
function measuredTable(m: MeasuredFigures, regions: number): string[] {
  const lines = [
    `Measured per execution at ${regions} regions (tools/bench/cost/measured.json, written by \`npm run cost -- --measure\`; log bytes as ingested, 26 bytes a record included):`,
    '',
    '| messages per execution | log records (ALL) | ALL with data | ALL without data | per message: with / without data | DynamoDB UpdateItem | SendMessageBatch | execution, local median |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const n of MEASURED_SIZES) {
    const c = m.cells.find((cell) => cell.regions === regions && cell.messages === n);
    if (!c) continue;
    const calls = (action: string) => Object.entries(c.calls).filter(([k]) => k.endsWith(action)).reduce((t, [, v]) => t + v, 0);
    const withData = c.logs.allData.ingestedBytes;
    const without = c.logs.allNoData.ingestedBytes;
    lines.push(
      `| ${n} | ${c.logs.allData.records} | ${kb(withData)} | ${kb(without)} | ${kb(withData / n)} / ${kb(without / n)} | ${calls('dynamodb.UpdateItem').toFixed(0)} | ${calls('.SendMessageBatch').toFixed(2)} | ${median(c.executionMs).toFixed(0)} ms |`,
    );
  }
  const w = m.workers.perMessage;
  const sum = (suffix: string) => Object.entries(w).filter(([k]) => k.endsWith(suffix)).reduce((t, [, v]) => t + v, 0);
  lines.push(
    '',
    `Also measured: a dispatched record ${m.items.dispatched.meanBytes.toFixed(0)} bytes, a completed one ${m.items.completed.meanBytes.toFixed(0)}; ` +
      `a request body ${m.payload.bodyBytes.toFixed(0)} bytes, a regional message with its attributes ${m.payload.regionalMessageBytes.toFixed(0)}; ` +
      `a worker per message: ${sum('dynamodb.UpdateItem').toFixed(0)} conditional writes, ${sum('.ReceiveMessage').toFixed(2)} receives and ${sum('.DeleteMessage').toFixed(2)} deletes ` +
      `(taking messages from one lane at a time; the bill prices the lane receiver's receives); compressed / raw: ${pct(m.compression.executionLogData)} (log with data), ` +
      `${pct(m.compression.executionLogNoData)} (without), ${pct(m.compression.functionLogs)} (function logs).`,
  );
  return lines;
}

/** The block of README.md, markers included: no longer than the table it replaced (README stays within 300 lines). */
export function readmeBlock(f: Figures): string {
  const [production, inspectable, idle] = targets(f) as [Target, Target, Target];
  const floor = scenario(f.production, 'floor');
  const d = f.production.bill.derived;
  return [
    BEGIN,
    '| at 100,000 requests/day | production (`npm run cost`) | no lanes (`--no-lanes`) | dev stage (`--stage dev`) | inspectable (`--stage dev --inspectable`) | dashboard on (`--dashboard`) | floor (levers) | an idle worker\'s receives |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    `| $/month | ${[f.production, f.noLanes, f.dev, f.inspectable, f.dashboard].map((p) => usd(p.bill.totalUsd)).join(' | ')} | ${usd(floor.bill.totalUsd)} | ${usd(d.idleWorkerUsdPerMonth)} |`,
    `| issue 19 target | <= ${usd(production.limit)}: ${short(production)} | | | <= ${usd(inspectable.limit)}: ${short(inspectable)} | | | <= ${usd(idle.limit)}: ${short(idle)} |`,
    END,
  ].join('\n');
}

/** `text` with its block replaced by `block` (both markers required). */
export function withBlock(text: string, block: string, file = 'the file'): string {
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${file} has no ${BEGIN} ... ${END} markers`);
  return text.slice(0, a) + block + text.slice(b + END.length);
}

/** The block as it stands in `text`, markers included, or undefined without markers. */
export function blockIn(text: string): string | undefined {
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  return a < 0 || b < a ? undefined : text.slice(a, b + END.length);
}

export interface BlockFile {
  readonly path: string;
  readonly block: string;
}

/** What each file's block should be. */
export function expectedBlocks(f: Figures, files: { docs?: string; readme?: string } = {}): BlockFile[] {
  return [
    { path: files.docs ?? DOCS_FILE, block: costPageBlock(f) },
    { path: files.readme ?? README_FILE, block: readmeBlock(f) },
  ];
}

/** --check: each file whose block differs, with its diff (a file without markers counts as differing). */
export function check(blocks: readonly BlockFile[], read: (path: string) => string = (path) => readFileSync(path, 'utf8')): { path: string; diff: string }[] {
  const differing: { path: string; diff: string }[] = [];
  for (const { path, block } of blocks) {
    const stands = blockIn(read(path));
    if (stands === undefined) differing.push({ path, diff: `no ${BEGIN} ... ${END} markers` });
    else if (stands !== block) differing.push({ path, diff: lineDiff(stands, block) });
  }
  return differing;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const arg = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] ? resolve(args[i + 1] as string) : undefined;
  };
  const docs = arg('--docs');
  const readme = arg('--readme');
  const blocks = expectedBlocks(figures(), { ...(docs ? { docs } : {}), ...(readme ? { readme } : {}) });
  const name = (path: string) => relative(process.cwd(), path) || path;
  if (args.includes('--check')) {
    const differing = check(blocks);
    for (const { path, diff } of differing) {
      console.log(`${name(path)}: the cost block is not what \`npm run cost:docs\` writes (- stands, + would be written):`);
      console.log(diff);
    }
    if (differing.length) {
      console.log('run `npm run cost:docs` to write them');
      process.exit(1);
    }
    console.log(`the cost blocks of ${blocks.map((b) => name(b.path)).join(' and ')} are today's`);
  } else {
    for (const { path, block } of blocks) {
      const text = readFileSync(path, 'utf8');
      const next = withBlock(text, block, name(path));
      if (next !== text) writeFileSync(path, next);
      console.log(`${name(path)}: ${next === text ? 'already today\'s' : 'written'}`);
    }
  }
}
