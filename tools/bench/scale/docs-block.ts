/**
 * `npm run bench:scale:docs`: writes what `npm run bench:scale` prints today between `<!-- scale:begin -->`
 * and `<!-- scale:end -->` in docs/scale.md, and what `npm run bench:scale -- --execution-ms 50` prints (the
 * quiet machine's local execution) between `<!-- scale-quiet:begin -->` and `<!-- scale-quiet:end -->`: the
 * same text, from the same function (tools/bench/scale/main.ts `benchScaleOutput`), on today's settings and
 * tools/bench/cost/measured.json. `--check` writes nothing: it exits 1 with a diff when a block is not what
 * it would write. `--docs <path>` points at another file (tests).
 * test/tools/bench/scale-docs.test.ts fails when the blocks differ from what this writes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchScaleOutput } from './main.js';
import { lineDiff } from '../line-diff.js';
export { lineDiff };

export const DOCS_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docs', 'scale.md');

/** One quoted run of `npm run bench:scale`: its markers' name and its arguments. */
export interface ScaleRun {
  readonly name: string;
  readonly args: readonly string[];
}

export const RUNS: readonly ScaleRun[] = [
  { name: 'scale', args: [] },
  { name: 'scale-quiet', args: ['--execution-ms', '50'] },
];

export const begin = (name: string) => `<!-- ${name}:begin -->`;
export const end = (name: string) => `<!-- ${name}:end -->`;

/** The command as a reader types it. */
export const commandLine = (run: ScaleRun) => `npm run bench:scale${run.args.length ? ` -- ${run.args.join(' ')}` : ''}`;

/** The block of one run, markers included: the command, then its output verbatim. */
export function scaleBlock(run: ScaleRun, output: string = benchScaleOutput(run.args)): string {
  return [
    begin(run.name),
    `\`${commandLine(run)}\` prints (written by \`npm run bench:scale:docs\`, tools/bench/scale/docs-block.ts; do not edit by hand):`,
    '',
    '```',
    output,
    '```',
    end(run.name),
  ].join('\n');
}

export interface Block {
  readonly run: ScaleRun;
  readonly block: string;
}

/** What each block of docs/scale.md should be today. */
export function expectedBlocks(runs: readonly ScaleRun[] = RUNS): Block[] {
  return runs.map((run) => ({ run, block: scaleBlock(run) }));
}

/** The block as it stands in `text`, markers included, or undefined without markers. */
export function blockIn(text: string, name: string): string | undefined {
  const a = text.indexOf(begin(name));
  const b = text.indexOf(end(name));
  return a < 0 || b < a ? undefined : text.slice(a, b + end(name).length);
}

/** `text` with each block replaced (every block's markers required). */
export function withBlocks(text: string, blocks: readonly Block[], file = 'the file'): string {
  let out = text;
  for (const { run, block } of blocks) {
    const a = out.indexOf(begin(run.name));
    const b = out.indexOf(end(run.name));
    if (a < 0 || b < a) throw new Error(`${file} has no ${begin(run.name)} ... ${end(run.name)} markers`);
    out = out.slice(0, a) + block + out.slice(b + end(run.name).length);
  }
  return out;
}

/** --check: each block of `text` that differs, with its diff (missing markers count as differing). */
export function check(text: string, blocks: readonly Block[]): { name: string; diff: string }[] {
  const differing: { name: string; diff: string }[] = [];
  for (const { run, block } of blocks) {
    const stands = blockIn(text, run.name);
    if (stands === undefined) differing.push({ name: run.name, diff: `no ${begin(run.name)} ... ${end(run.name)} markers` });
    else if (stands !== block) differing.push({ name: run.name, diff: lineDiff(stands, block) });
  }
  return differing;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const i = args.indexOf('--docs');
  const path = i >= 0 && args[i + 1] ? resolve(args[i + 1] as string) : DOCS_FILE;
  const name = relative(process.cwd(), path) || path;
  const blocks = expectedBlocks();
  const text = readFileSync(path, 'utf8');
  if (args.includes('--check')) {
    const differing = check(text, blocks);
    for (const { name: block, diff } of differing) {
      const run = RUNS.find((r) => r.name === block);
      console.log(`${name}: the ${block} block is not what \`${run ? commandLine(run) : 'npm run bench:scale'}\` prints today (- stands, + would be written):`);
      console.log(diff);
    }
    if (differing.length) {
      console.log('run `npm run bench:scale:docs` to write them');
      process.exit(1);
    }
    console.log(`the bench:scale blocks of ${name} are today's`);
  } else {
    const next = withBlocks(text, blocks, name);
    if (next !== text) writeFileSync(path, next);
    console.log(`${name}: ${next === text ? "already today's" : 'written'}`);
  }
}
