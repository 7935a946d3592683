/** `up` serves the web console on 127.0.0.1 and prints its address; Ctrl-C stops it with the stack. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { CLI_MAIN, TSX_LOADER } from '../../support/cli-child.js';

it('up prints the console address, and the console serves its pages and API there', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'dispatch-console-up-'));
  const child = spawn(process.execPath, ['--import', TSX_LOADER, CLI_MAIN, 'up'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  try {
    const end = Date.now() + 20_000;
    while (!output.includes('Ctrl-C stops the stack.') && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    const url = /web console +(http:\/\/127\.0\.0\.1:\d+\/)/.exec(output)?.[1];
    expect(url, output).toBeDefined();

    const page = await fetch(url as string);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Dispatch console</title>');
    const stack = (await (await fetch(new URL('/api/stack', url))).json()) as { regions: Array<{ region: string }> };
    expect(stack.regions.map((r) => r.region)).toEqual(['us-east-1', 'us-west-2', 'us-west-1']);
    // The stack file names the console, which controls the stack's workers (`workers set`): none by default.
    expect((JSON.parse(readFileSync(join(cwd, '.local', 'stack.json'), 'utf8')) as { consoleUrl?: string }).consoleUrl).toBe(url);
    const workers = (await (await fetch(new URL('/api/workers', url))).json()) as { regions: Array<{ region: string; workers: number }> };
    expect(workers.regions.map((r) => [r.region, r.workers])).toEqual([
      ['us-east-1', 0],
      ['us-west-2', 0],
      ['us-west-1', 0],
    ]);

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    await expect(fetch(url as string)).rejects.toThrow();
  } finally {
    child.kill('SIGKILL');
  }
}, 40_000);
