/**
 * `smoke` as a user runs it (a child process) against running local stacks: bad flags fail with a clear
 * message; a healthy stack prints the table, "smoke passed" and exits 0 (and --json the same report); a
 * stack whose regions refuse every send (AccessDenied from the fault proxies) exits 1 and names the
 * failing checks.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommanderError } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smokeCommand } from '../../../tools/cli/commands/smoke.js';
import { startLocalStack, type LocalStack } from '../../../tools/local/stack.js';
import { CHECK_TITLE, SMOKE_CHECKS } from '../../../tools/ops/smoke-checks.js';
import { runCli } from '../../support/cli-child.js';

/** A folder whose .local/stack.json names this stack, as `up` writes it. */
function folderFor(stack: LocalStack): string {
  const cwd = mkdtempSync(join(tmpdir(), 'dispatch-cli-smoke-'));
  mkdirSync(join(cwd, '.local'));
  writeFileSync(join(cwd, '.local', 'stack.json'), JSON.stringify(stack.description));
  return cwd;
}

let healthy: LocalStack;
let broken: LocalStack;

beforeAll(async () => {
  const options = { masterVisibilitySeconds: 5, batchWindowSeconds: 0.2, retryIntervalMs: 5 };
  healthy = await startLocalStack(options);
  broken = await startLocalStack({ ...options, faults: true });
  const denied = { status: 403, type: 'AccessDenied', message: 'Access to the resource is denied.', queryError: 'AccessDenied;Sender' };
  for (const proxy of Object.values(broken.faults!.sqs)) proxy.rules.add({ mode: 'error', error: denied, actions: ['SendMessageBatch'] });
});
afterAll(async () => {
  await Promise.all([healthy?.stop(), broken?.stop()]);
});

describe('bad flags', () => {
  // As a user meets it: the whole CLI in a child process, once.
  it('["smoke","--count","0"] fails with a clear message and a non-zero exit', { timeout: 60_000 }, async () => {
    const result = await runCli(tmpdir(), ['smoke', '--count', '0']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/--count must be a whole number from 1 to 50/);
  });

  // The rest in process: the same command object, commander's exit turned into an error to read.
  it.each([
    [['--count', '51'], /--count must be a whole number from 1 to 50/],
    [['--count', 'five'], /--count must be a whole number/],
    [['--timeout', '0'], /--timeout must be a number of seconds/],
    [['--timeout', 'soon'], /--timeout must be a number of seconds/],
    [['--colour'], /unknown option '--colour'/],
  ])('smoke %j fails with a clear message and a non-zero exit', async (args, message) => {
    let stderr = '';
    const command = smokeCommand()
      .exitOverride()
      .configureOutput({ writeErr: (text) => void (stderr += text), writeOut: () => undefined });
    const error = await command.parseAsync(args, { from: 'user' }).then(
      () => undefined,
      (e: unknown) => e as CommanderError,
    );
    expect(error?.exitCode).toBeGreaterThan(0);
    expect(stderr).toMatch(message);
  });
});

describe('against running local stacks', () => {
  // Each run is a fresh process on a loaded machine: generous limits (limits, not assertions).
  it('a healthy stack: every check in the table, "smoke passed", exit 0; --json the same report', { timeout: 120_000 }, async () => {
    const cwd = folderFor(healthy);
    const text = await runCli(cwd, ['smoke', '--count', '3', '--timeout', '30'], 90_000);
    expect(text.code, text.stdout + text.stderr).toBe(0);
    for (const id of SMOKE_CHECKS) expect(text.stdout).toContain(CHECK_TITLE[id]);
    expect(text.stdout).toMatch(/^n\/a\s+the stage's alarms are OK\n\s+n\/a \(local\)/m);
    for (const id of SMOKE_CHECKS.filter((c) => c !== 'alarms')) expect(text.stdout).toContain(`PASS  ${CHECK_TITLE[id]}`);
    expect(text.stdout).toMatch(/smoke passed$/m);
    expect(text.stdout.match(/^smoke-\S+-\d\s+dispatched\s+us-\S+\s+DISPATCHED\s+1 taken\s+-$/gm)).toHaveLength(3);

    const json = await runCli(cwd, ['smoke', '--count', '2', '--json'], 90_000);
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as { ok: boolean; checks: Array<{ id: string; status: string }>; requests: unknown[] };
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.id)).toEqual([...SMOKE_CHECKS]);
    expect(report.requests).toHaveLength(2);
  });

  it('every region refusing its sends: exit 1, the failing checks named', { timeout: 120_000 }, async () => {
    const result = await runCli(folderFor(broken), ['smoke', '--count', '2', '--timeout', '30'], 90_000);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^smoke FAILED: executions, no-failover, regional-copy, records, dlqs$/m);
    expect(result.stdout).toMatch(/^FAIL  no smoke request in a DLQ; DLQ counts\n\s+2 smoke requests dead-lettered:[\s\S]*AccessDenied/m);
    expect(result.stdout.match(/^smoke-\S+-\d\s+dead-lettered\s+-\s+DEAD_LETTERED\s+none\s+dispatch DLQ$/gm)).toHaveLength(2);
  });
});
