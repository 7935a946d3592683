/**
 * `metrics` as a user runs it (a child process) against a running local stack: the stack keeps the
 * functions' EMF lines as counts and serves them; the command prints them as a table or as JSON.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricsLines } from '../../../tools/cli/commands/metrics.js';
import type { MetricsReport } from '../../../tools/local/metrics.js';
import { sqsAt } from '../../../tools/local/resources.js';
import { startLocalStack, type LocalStack } from '../../../tools/local/stack.js';
import { runCli } from '../../support/cli-child.js';
import { request, until } from '../../support/local-aws.js';

let cwd: string;
let stack: LocalStack;

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'dispatch-cli-metrics-'));
  stack = await startLocalStack({ batchWindowSeconds: 0.2, masterVisibilitySeconds: 5 });
  mkdirSync(join(cwd, '.local'));
  writeFileSync(join(cwd, '.local', 'stack.json'), JSON.stringify(stack.description));
  const home = sqsAt('us-east-1', stack.description.endpoints.sqs['us-east-1'] as string);
  try {
    await home.send(
      new SendMessageBatchCommand({
        QueueUrl: stack.description.masterQueueUrl,
        Entries: [
          ...['req-cli-metrics-1', 'req-cli-metrics-2', 'req-cli-metrics-3'].map((id, i) => ({ Id: `m${i}`, MessageBody: JSON.stringify(request(id)) })),
          { Id: 'bad', MessageBody: 'not json' },
        ],
      }),
    );
  } finally {
    home.destroy();
  }
  // A limit for a loaded machine, not an assertion on time.
  expect(await until(() => stack.metrics.sum('Dispatched') === 3 && stack.metrics.sum('DeadLettered') === 1, 30_000)).toBe(true);
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

describe('metrics', () => {
  it('names the endpoint in the stack file', () => {
    expect(stack.description.metricsEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  });

  it('--json prints what the stack counted', { timeout: 60_000 }, async () => {
    const result = await runCli(cwd, ['metrics', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as MetricsReport;
    const sum = (name: string, key?: string, value?: string) =>
      report.rows.filter((r) => r.name === name && (key === undefined || r.dimensions[key] === value)).reduce((n, r) => n + r.sum, 0);
    expect(sum('Dispatched')).toBe(3);
    expect(sum('DeadLettered', 'ReasonClass', 'invalid')).toBe(1);
    expect(report.rows.every((r) => r.namespace === 'InferenceDispatch/inference-dispatch/local')).toBe(true);
  });

  it('prints a table, one row per metric and dimension values', { timeout: 60_000 }, async () => {
    const result = await runCli(cwd, ['metrics']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^since \S+: \d+ EMF lines/);
    expect(result.stdout).toMatch(/intake\s+Dispatched\s+3\s+\d+/);
    expect(result.stdout).toMatch(/intake\s+DeadLettered\s+ReasonClass=invalid\s+1\s+1/);
  });

  it('says so when nothing was counted yet', () => {
    expect(metricsLines({ since: '2026-01-01T00:00:00.000Z', lines: 0, bytes: 0, rows: [] })).toEqual([
      'since 2026-01-01T00:00:00.000Z: 0 EMF lines (0 bytes of function log on AWS)',
      'no metrics yet: send requests (npm run cli -- send --count 30)',
    ]);
  });

  it('fails clearly without a running stack', { timeout: 60_000 }, async () => {
    const result = await runCli(mkdtempSync(join(tmpdir(), 'dispatch-cli-nostack-')), ['metrics']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/no local stack/);
  });
});
