/**
 * The whole project type-checks (tsconfig.json: shipped code, tools and tests), as part of the suite so it
 * runs beside the other files instead of before them. The deployment's own check against SST's platform
 * types is test/stacks/typecheck.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

it('tsc -p tsconfig.json reports nothing', () => {
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', 'tsconfig.json'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 170_000,
  });
  expect(`${tsc.stdout}${tsc.stderr}`).toBe('');
  expect(tsc.status).toBe(0);
}, 180_000);
