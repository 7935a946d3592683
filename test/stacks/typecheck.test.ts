/** sst.config.ts and stacks/ type-check against SST's platform types (tsconfig.infra.json), in CI too. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { ensurePlatform, ROOT } from './harness/synth.js';
import { SETUP_TIMEOUT_MS } from './harness/use-synth.js';

beforeAll(async () => {
  await ensurePlatform();
}, SETUP_TIMEOUT_MS);

it('tsc -p tsconfig.infra.json reports nothing', () => {
  const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.infra.json'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(`${tsc.stdout}${tsc.stderr}`).toBe('');
  expect(tsc.status).toBe(0);
}, 150_000);
