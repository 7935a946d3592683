/**
 * The cost figures of docs/cost.md and README.md are the ones `npm run cost:docs` (tools/bench/cost/docs-block.ts)
 * writes from today's deployed settings and tools/bench/cost/measured.json: a changed default or a new
 * measurement without `npm run cost:docs` fails here.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { BEGIN, blockIn, check, costPageBlock, END, expectedBlocks, figures, lineDiff, readmeBlock, withBlock } from '../../../tools/bench/cost/docs-block.js';

const today = figures();
const docs = readFileSync('docs/cost.md', 'utf8');
const readme = readFileSync('README.md', 'utf8');

/** The block with the production total (its first figure) changed by a cent. */
function withOneFigureChanged(block: string): string {
  const total = /\*\*\$(\d+\.\d\d)\*\*/.exec(block);
  expect(total).not.toBeNull();
  const changed = `**$${(Number(total![1]) + 0.01).toFixed(2)}**`;
  return block.replace(total![0], changed);
}

describe("the cost figures of docs/cost.md and README.md", () => {
  it('are what `npm run cost:docs` writes today', () => {
    expect(blockIn(docs)).toBe(costPageBlock(today));
    expect(blockIn(readme)).toBe(readmeBlock(today));
    expect(check(expectedBlocks(today))).toEqual([]);
  });

  it('name the command beside each figure, and the targets with their verdicts', () => {
    const block = costPageBlock(today);
    for (const command of ['`npm run cost`', '`npm run cost -- --no-lanes`', '`npm run cost -- --stage dev`', '`npm run cost -- --stage dev --inspectable`', '`npm run cost -- --dashboard`']) {
      expect(block).toContain(command);
    }
    expect(block.match(/\*\*(MET|MISSED)\*\*/g)).toHaveLength(3);
    expect(readmeBlock(today).split('\n').length).toBeLessThanOrEqual(7);
    expect(readme.split('\n').length - 1).toBeLessThanOrEqual(300);
  });

  it('fail the check when one figure differs, with a diff naming both lines', () => {
    const stale = withBlock(docs, withOneFigureChanged(costPageBlock(today)));
    const differing = check(expectedBlocks(today, { docs: 'docs/cost.md', readme: 'README.md' }), (path) => (path === 'docs/cost.md' ? stale : readme));
    expect(differing.map((d) => d.path)).toEqual(['docs/cost.md']);
    const lines = differing[0]!.diff.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^- \| a production stage/);
    expect(lines[1]).toMatch(/^\+ \| a production stage/);
  });

  it('fail the check on a file without markers, and write only between them', () => {
    expect(check([{ path: 'x.md', block: readmeBlock(today) }], () => 'no markers')[0]?.diff).toMatch(/markers/);
    const text = `before\n${BEGIN}\nold figures\n${END}\nafter\n`;
    const out = withBlock(text, readmeBlock(today));
    expect(out.startsWith('before\n')).toBe(true);
    expect(out.endsWith('\nafter\n')).toBe(true);
    expect(withBlock(out, readmeBlock(today))).toBe(out);
    expect(() => withBlock('no markers', readmeBlock(today))).toThrow(/markers/);
    expect(lineDiff('a\nb\nc', 'a\nb\nc')).toBe('');
    expect(lineDiff('a\nb\nc', 'a\nB\nc')).toBe('- b\n+ B');
  });
});

describe('npm run cost:docs -- --check', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cost-docs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 1 and prints the diff when a block has one figure changed', async () => {
    const stale = join(dir, 'cost.md');
    writeFileSync(stale, withBlock(docs, withOneFigureChanged(costPageBlock(today))));
    const run = promisify(execFile)(process.execPath, ['--import', 'tsx', 'tools/bench/cost/docs-block.ts', '--check', '--docs', stale], { encoding: 'utf8' });
    const failed = await run.then(
      () => undefined,
      (error: { code?: number; stdout?: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stdout).toContain('cost.md: the cost block is not what `npm run cost:docs` writes');
    expect(failed?.stdout).toMatch(/^- \| a production stage/m);
    expect(failed?.stdout).toMatch(/^\+ \| a production stage/m);
    expect(failed?.stdout).not.toContain('README.md:');
    expect(readFileSync(stale, 'utf8')).toBe(withBlock(docs, withOneFigureChanged(costPageBlock(today))));
  }, 60_000);
});
