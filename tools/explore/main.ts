/**
 * `npm run explore`: every fault at every attempt of every Task of the dispatch definition, singly and in
 * pairs, each run followed by the next delivery and a worker, each checked (docs/explore.md).
 *
 *   npm run explore                        the short form: every single fault, a seeded sample of pairs
 *   npm run explore -- --long              every single fault and every pair (prints how long it took)
 *   npm run explore -- --only Forward      combinations with a fault in a state whose name holds "Forward"
 *   npm run explore -- --id '<id>'         replay one combination as printed
 */
import { Command, InvalidArgumentError } from 'commander';
import { wholeNumber } from '../args.js';
import { stderrProgress, type StderrProgress } from '../cli/stderr-progress.js';
import { explore } from './explorer.js';
import { formatReport, rows, summaryLine } from './report.js';
import { parseComboId } from './space.js';

interface Options {
  long?: boolean;
  sample: number;
  seed: number;
  only?: string;
  json?: boolean;
  id?: string[];
}

const comboArg = (value: string, previous: string[] = []) => {
  try {
    parseComboId(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  return [...previous, value];
};

const program = new Command('explore')
  .description('explore the fault space of the dispatch definition on the local stack (docs/explore.md)')
  .option('--long', 'every single fault and every pair (the long form)')
  .option('--sample <n>', 'the short form: this many pairs, drawn with --seed', wholeNumber('--sample', 0), 150)
  .option('--seed <n>', 'seed of the short form\'s sample', wholeNumber('--seed', 0, 2 ** 31 - 1), 1)
  .option('--only <state>', 'only combinations with a fault in a state whose name contains this')
  .option('--id <combination>', 'replay this combination (as the report prints it); repeatable', comboArg)
  .option('--json', 'print the results as JSON')
  .action(async (options: Options) => {
    const began = Date.now();
    let bar: StderrProgress | undefined;
    let phase = '';
    const exploration = await explore(
      {
        pairs: options.long ? 'all' : options.sample,
        seed: options.seed,
        ...(options.only ? { only: options.only } : {}),
        ...(options.id ? { ids: options.id } : {}),
        onProgress(done, total, name) {
          if (name !== phase) {
            bar?.stop();
            phase = name;
            bar = stderrProgress(`explore: ${name}`);
          }
          bar?.update(done, total);
        },
      },
      parseComboId,
    );
    bar?.stop();
    const violating = exploration.results.filter((r) => r.violations.length);
    if (options.json) {
      console.log(JSON.stringify({ form: options.long ? 'long' : 'short', seed: options.seed, ms: exploration.ms, table: rows(exploration), violating, summary: summaryLine(exploration) }, null, 2));
    } else {
      const form = options.id ? 'replay' : options.long ? 'long form' : `short form (seed ${options.seed}, ${options.sample} pairs)`;
      console.log(`explore: ${form}, ${exploration.tasks.length} Task states, ${((Date.now() - began) / 1000).toFixed(1)} s\n`);
      console.log(formatReport(exploration, { showViolations: options.id ? violating.length : 5 }));
    }
    if (violating.length) process.exitCode = 1;
  });

await program.parseAsync();
