/** `up` as a user runs it: it starts, writes where it listens, serves, and stops cleanly on Ctrl-C. */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ListQueuesCommand } from '@aws-sdk/client-sqs';
import { expect, it } from 'vitest';
import type { StackDescription } from '../../local/stack.js';
import { sqsAt } from '../../local/resources.js';

const ROOT = resolve(import.meta.dirname, '../..');

it('starts the stack, records its endpoints, and on SIGINT stops and removes the record', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'dispatch-up-'));
  const child = spawn(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(ROOT, 'cli', 'main.ts'), 'up'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  try {
    const end = Date.now() + 20_000;
    while (!output.includes('Ctrl-C stops the stack.') && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    expect(output).toContain('local stack running (127.0.0.1 only)');

    const file = join(cwd, '.local', 'stack.json');
    const description = JSON.parse(readFileSync(file, 'utf8')) as StackDescription;
    expect(description.regions.map((r) => r.region)).toEqual(['us-east-1', 'us-west-2', 'us-west-1']);
    for (const endpoint of Object.values(description.endpoints.sqs)) expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    // It serves: the home region's SQS server lists the deployment's queue names.
    const client = sqsAt('us-east-1', description.endpoints.sqs['us-east-1'] as string);
    const { QueueUrls = [] } = await client.send(new ListQueuesCommand({}));
    client.destroy();
    expect(QueueUrls.some((url) => url.endsWith('/inference-master-queue-local'))).toBe(true);

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toContain('stopped');
    expect(existsSync(file)).toBe(false);
  } finally {
    child.kill('SIGKILL');
  }
}, 40_000);
