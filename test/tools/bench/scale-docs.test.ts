/**
 * The figures of docs/scale.md are what `npm run bench:scale` (and `-- --execution-ms 50`) prints today, as
 * `npm run bench:scale:docs` (tools/bench/scale/docs-block.ts) writes them: a changed setting, model or
 * measurement without `npm run bench:scale:docs` fails here, and so does a bold figure of the prose that
 * neither output prints.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { begin, blockIn, check, end, expectedBlocks, lineDiff, RUNS, scaleBlock, withBlocks, type Block } from '../../../tools/bench/scale/docs-block.js';
import { benchScaleOutput } from '../../../tools/bench/scale/main.js';

const docs = readFileSync('docs/scale.md', 'utf8');
const today = expectedBlocks();
const deployed = today.find((b) => b.run.name === 'scale') as Block;

/** The block with the deployed ESM cap (the first row's requests/s) one higher. */
function withOneFigureChanged(block: string): string {
  const row = /^(ESM concurrency\s+\S+\s+)([\d,]+)/m.exec(block);
  expect(row).not.toBeNull();
  const changed = (Number(row![2]!.replace(/,/g, '')) + 1).toLocaleString('en-US');
  return block.replace(row![0], `${row![1]}${changed.padStart(row![2]!.length)}`);
}

/** docs/scale.md with the deployed block's one figure changed. */
const staleDocs = () => withBlocks(docs, [{ run: deployed.run, block: withOneFigureChanged(deployed.block) }]);

describe('the figures of docs/scale.md', () => {
  it('are what `npm run bench:scale:docs` writes today', () => {
    for (const { run, block } of today) expect(blockIn(docs, run.name), run.name).toBe(block);
    expect(check(docs, today)).toEqual([]);
  });

  it('quote the commands they name, verbatim', () => {
    expect(RUNS.map((r) => r.args.join(' '))).toEqual(['', '--execution-ms 50']);
    for (const { run, block } of today) {
      const output = benchScaleOutput(run.args);
      expect(block).toContain(`\`npm run bench:scale${run.args.length ? ` -- ${run.args.join(' ')}` : ''}\` prints`);
      expect(block).toContain(`\`\`\`\n${output}\n\`\`\``);
      // A model that divides by a Map concurrency of 0 prints these; no figure of the page may.
      expect(output).not.toMatch(/Infinity|Map concurrency 0\b| 0 requests\/s/);
    }
  });

  it('in bold in the prose, are figures the quoted outputs print', () => {
    const outside = RUNS.reduce((text, run) => text.replace(blockIn(text, run.name) ?? '', ''), docs);
    const numbers = (text: string) => text.match(/\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?/g) ?? [];
    const printed = new Set(today.flatMap((b) => numbers(b.block)));
    const bold = [...outside.matchAll(/\*\*([^*]+)\*\*/g)].map((m) => m[1] as string);
    const figures = bold.flatMap(numbers);
    expect(figures.length).toBeGreaterThan(5);
    expect(figures.filter((f) => !printed.has(f))).toEqual([]);
  });

  it('fail the check when one figure differs, with a diff naming both lines', () => {
    const differing = check(staleDocs(), today);
    expect(differing.map((d) => d.name)).toEqual(['scale']);
    const lines = differing[0]!.diff.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^- ESM concurrency/);
    expect(lines[1]).toMatch(/^\+ ESM concurrency/);
  });

  it('fail the check on a file without markers, and write only between them', () => {
    expect(check('no markers', today).map((d) => d.diff)).toEqual(today.map((b) => `no ${begin(b.run.name)} ... ${end(b.run.name)} markers`));
    const text = `before\n${begin('scale')}\nold\n${end('scale')}\nmiddle\n${begin('scale-quiet')}\n${end('scale-quiet')}\nafter\n`;
    const out = withBlocks(text, today);
    expect(out.startsWith('before\n')).toBe(true);
    expect(out).toContain(`${end('scale')}\nmiddle\n${begin('scale-quiet')}`);
    expect(out.endsWith('\nafter\n')).toBe(true);
    expect(withBlocks(out, today)).toBe(out);
    expect(check(out, today)).toEqual([]);
    expect(() => withBlocks('no markers', today)).toThrow(/markers/);
    expect(scaleBlock(deployed.run, 'x')).toBe(`${begin('scale')}\n\`npm run bench:scale\` prints (written by \`npm run bench:scale:docs\`, tools/bench/scale/docs-block.ts; do not edit by hand):\n\n\`\`\`\nx\n\`\`\`\n${end('scale')}`);
    expect(lineDiff('a\nb\nc', 'a\nB\nc')).toBe('- b\n+ B');
  });
});

describe('npm run bench:scale:docs -- --check', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scale-docs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 1 and prints the diff when a block has one figure changed, writing nothing', async () => {
    const stale = join(dir, 'scale.md');
    writeFileSync(stale, staleDocs());
    const failed = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'tools/bench/scale/docs-block.ts', '--check', '--docs', stale], { encoding: 'utf8' }).then(
      () => undefined,
      (error: { code?: number; stdout?: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stdout).toContain('scale.md: the scale block is not what `npm run bench:scale` prints today');
    expect(failed?.stdout).toMatch(/^- ESM concurrency/m);
    expect(failed?.stdout).toMatch(/^\+ ESM concurrency/m);
    expect(failed?.stdout).not.toContain('scale-quiet block');
    expect(readFileSync(stale, 'utf8')).toBe(staleDocs());
  }, 60_000);
});
