/**
 * `npm run chaos`: every chaos scenario (tools/chaos/scenarios.ts) in its long form, one after another, each on
 * its own embedded stack, then one table: scenario, sent, accepted once, lost, accepted twice, extra copies
 * (each attributed to a named window), DLQ with reason, pending, drain time. Progress goes to stderr.
 * Exits 1 when any scenario lost a request, processed one twice, left an unexplained copy, broke one of
 * the checker's other rules or the scenario's own, or never fired its fault. See docs/chaos.md.
 *
 *   npm run chaos -- --scenario region-loses-answers --seed 7
 *   npm run chaos -- --short --json
 */
import { cpus } from 'node:os';
import { Command } from 'commander';
import { choices, wholeNumber } from '../args.js';
import { runScenario, type ScenarioReport } from './harness.js';
import { SCENARIO_NAMES, SHORT_SUITE, scenario } from './scenarios.js';
import { details, reportTable, windowTable } from './table.js';

interface Options {
  scenario?: string[];
  seed: number;
  short?: boolean;
  json?: boolean;
}

/** One status line on stderr: rewritten in place on a terminal, a line per change elsewhere. */
function statusLine() {
  const tty = process.stderr.isTTY;
  let last = '';
  return {
    set(text: string) {
      if (text === last) return;
      last = text;
      if (tty) process.stderr.write(`\r\x1b[2K${text.slice(0, (process.stderr.columns ?? 120) - 1)}`);
      else process.stderr.write(`${text}\n`);
    },
    done() {
      if (tty && last) process.stderr.write('\r\x1b[2K');
    },
  };
}

const program = new Command('chaos')
  .description('inject every fault on the local stack and account for every request (docs/chaos.md)')
  .option('--scenario <names>', `scenarios to run, repeatable or comma-separated (default: all)`, choices('--scenario', SCENARIO_NAMES))
  .option('--seed <n>', 'seed of every random choice (requests, faults, timing)', wholeNumber('--seed', 0, 2 ** 31 - 1), 1)
  .option('--short', 'the short forms (what the test suite runs: long-only scenarios left out unless named) instead of the long ones')
  .option('--json', 'print the reports as JSON instead of the table')
  .addHelpText('after', `\nscenarios:\n${SCENARIO_NAMES.map((n) => `  ${n.padEnd(24)} ${scenario(n).injects}`).join('\n')}\n`)
  .showHelpAfterError('(npm run chaos -- --help lists the scenarios)')
  .action(async (options: Options) => {
    const form = options.short ? 'short' : 'long';
    // The short forms without names: the test suite's list (long-only scenarios left out).
    const names = [...new Set(options.scenario ?? (options.short ? SHORT_SUITE.map((s) => s.name) : SCENARIO_NAMES))];
    const status = statusLine();
    const began = Date.now();
    const reports: ScenarioReport[] = [];
    for (const [i, name] of names.entries()) {
      const elapsed = () => `${((Date.now() - began) / 1000).toFixed(0)} s`;
      const report = await runScenario(scenario(name), {
        seed: options.seed,
        form,
        onStatus: (text) => status.set(`chaos [${i + 1}/${names.length}] ${elapsed()} ${text}`),
      });
      reports.push(report);
      status.set(`chaos [${i + 1}/${names.length}] ${elapsed()} ${name}: ${report.ok ? 'ok' : 'FAILED'}${report.drawn ? ` (drew ${report.drawn})` : ''}`);
    }
    status.done();
    const failed = reports.filter((r) => !r.ok);
    if (options.json) {
      console.log(JSON.stringify({ seed: options.seed, form, cores: cpus().length, wallMs: Date.now() - began, reports }, (_k, v: unknown) => (v instanceof RegExp ? String(v) : v), 2));
    } else {
      console.log(`chaos: ${form} form, seed ${options.seed}, ${names.length} scenario(s), ${cpus().length} cores, ${((Date.now() - began) / 1000).toFixed(0)} s\n`);
      console.log(reportTable(reports));
      const windows = windowTable(reports);
      if (windows) console.log(`\n${windows}`);
      console.log(`\n${details(reports)}`);
      console.log(failed.length ? `\n${failed.length} scenario(s) FAILED: ${failed.map((r) => r.scenario).join(', ')}` : '\nevery scenario passed');
    }
    if (failed.length) process.exitCode = 1;
  });

await program.parseAsync();
