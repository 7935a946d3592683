/**
 * The import boundaries (.dependency-cruiser.cjs, docs/architecture.md): what ships never imports the
 * tools, the domain imports no AWS SDK, nothing imports tests, no cycles. Checked on the whole tree by
 * dependency-cruiser, and shown able to fail on a small tree that breaks each rule.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DEPCRUISE = join(ROOT, 'node_modules/.bin/depcruise');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const TREE = ['core', 'aws', 'functions', 'workflows', 'stacks', 'worker', 'tools', 'test', 'sst.config.ts'];

async function cruise(cwd: string, paths: readonly string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(DEPCRUISE, ['--config', CONFIG, '--output-type', 'err', ...paths], { cwd, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, out: stdout };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('import boundaries', () => {
  it('hold on the whole tree', { timeout: 120_000 }, async () => {
    const { code, out } = await cruise(ROOT, TREE);
    expect(out, out).toMatch(/no dependency violations found/);
    expect(code).toBe(0);
  });

  it('catch a shipped module importing a tool, an import of a test, a cycle, and the CLI and console importing each other', { timeout: 120_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'boundaries-'));
    try {
      const files: Record<string, string> = {
        'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', allowJs: true } }),
        'core/a.ts': "import { b } from '../tools/cli/b.js';\nimport { x } from './x.js';\nexport const a = b + x;\n",
        'core/x.ts': "import { a } from './a.js';\nexport const x = 1;\nexport const y = a;\n",
        'tools/cli/b.ts': "import { t } from '../../test/t.js';\nimport { c } from '../console/c.js';\nexport const b = t + c;\n",
        'tools/console/c.ts': "import { o } from '../cli/o.js';\nexport const c = o;\n",
        'tools/cli/o.ts': 'export const o = 1;\n',
        'test/t.ts': 'export const t = 1;\n',
      };
      for (const [name, text] of Object.entries(files)) {
        await mkdir(dirname(join(dir, name)), { recursive: true });
        await writeFile(join(dir, name), text);
      }
      const { code, out } = await cruise(dir, ['core', 'tools', 'test']);
      expect(code).not.toBe(0);
      for (const rule of ['shipped-imports-tooling', 'imports-test', 'no-circular', 'console-imports-cli', 'cli-imports-console']) expect(out, out).toContain(rule);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
