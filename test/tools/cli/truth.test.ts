/**
 * A CLI that tells the truth, run as a user runs it (child processes) against a local stack where
 * us-west-2 refuses every send:
 * - `inspect` puts the errors and the retry on the state where they happened, names each message that
 *   failed over ("failed over from us-west-2"), and fits 80 columns; `--json` says the same;
 * - `status` finds a request the intake dead-lettered as invalid (no record: its DLQ copy and the
 *   intake's marker) without consuming the DLQ, and counts the master messages that carried a repeated
 *   request into the workflow;
 * - `executions --json` has a stable shape, and `--version` prints the package's version.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueDepth } from '../../../tools/ops/queue-reader.js';
import { makeRequest } from '../../../tools/ops/requests.js';
import { sqsAt } from '../../../tools/local/resources.js';
import { startLocalStack, type LocalStack } from '../../../tools/local/stack.js';
import { queueEmpty, until } from '../../support/local-aws.js';
import { PROJECT_ROOT, runCli } from '../../support/cli-child.js';

let cwd: string;
let stack: LocalStack;
let home: SQSClient;

const cli = (...args: string[]) => runCli(cwd, args);
const send = (bodies: string[]) =>
  home.send(new SendMessageBatchCommand({ QueueUrl: stack.description.masterQueueUrl, Entries: bodies.map((b, i) => ({ Id: String(i), MessageBody: b })) }));
const settled = () => until(() => queueEmpty(home, stack.description.masterQueueUrl), 30_000);

const valid = Array.from({ length: 9 }, (_, i) => JSON.stringify(makeRequest(i, { requestId: `req-truth-${i}` })));
// Invalid (no such priority), yet it names its request_id: the intake dead-letters it without a record.
const invalid = JSON.stringify({ ...makeRequest(0, { requestId: 'req-truth-invalid' }), priority: 'urgent' });

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'dispatch-cli-truth-'));
  // Region health off: every execution offers us-west-2 its share, and sees it refuse.
  // A visibility timeout long enough that a busy machine does not redeliver a batch still in its
  // execution (a third master message for req-truth-0, counted as a duplicate).
  stack = await startLocalStack({ masterVisibilitySeconds: 15, batchWindowSeconds: 0.3, retryIntervalMs: 5, env: { regionHealthSeconds: 0 } });
  stack.sqsServers['us-west-2']?.failActions(['SendMessageBatch']);
  mkdirSync(join(cwd, '.local'));
  writeFileSync(join(cwd, '.local', 'stack.json'), JSON.stringify(stack.description));
  home = sqsAt('us-east-1', stack.description.endpoints.sqs['us-east-1'] as string);
  await send([...valid, invalid]);
  expect(await settled()).toBe(true);
  // The same request again, in a later batch: a second master message that carries it.
  await send([valid[0] as string]);
  expect(await settled()).toBe(true);
}, 90_000);
afterAll(async () => {
  home?.destroy();
  await stack?.stop();
});

/** The execution whose messages failed over (found in-process, as the test's own oracle). */
function failedOverExecution() {
  const found = stack.stepFunctions.executions().find((e) => JSON.stringify(e.output ?? '').includes('"failedOver":true'));
  if (!found) throw new Error('no execution failed over: the test setup did not do what it is about');
  return found;
}

interface Inspected {
  execution: { name: string; status: string };
  steps: Array<{ name: string; type: string; input?: string; errors: Array<{ error: string }>; attempts: number; iteration?: number; depth: number }>;
  messages: Array<{ requestId: string; outcome: string; region?: string; failedOver: boolean; failedOverFrom?: string; failoverReason?: string }>;
}

describe('inspect', () => {
  it('attaches the errors and the retry to the Forward of the region that refused, and names each failover', async () => {
    const execution = failedOverExecution();
    const text = await cli('inspect', execution.name, '--no-data');
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.split('\n');
    const at = lines.findIndex((l) => /Task\s+\[\d+ us-west-2\] Forward {2}\(\d+ms\) retries:1$/.test(l));
    expect(at, text.stdout).toBeGreaterThan(0);
    expect(lines[at + 1]).toMatch(/^\s+error: RegionUnavailable: /);
    expect(lines[at + 2]).toMatch(/^\s+error: RegionUnavailable: /);
    for (const region of ['us-east-1', 'us-west-1']) {
      const other = lines.findIndex((l) => new RegExp(`\\[\\d+ ${region}\\] Forward {2}\\(`).test(l));
      expect(other, `${region}: ${text.stdout}`).toBeGreaterThan(0);
      expect(lines[other]).not.toMatch(/retries/);
      expect(lines[other + 1]).not.toMatch(/error:/);
    }
    expect(text.stdout.replace(/\s+/g, ' ')).toMatch(/ \d+ messages: \d+ dispatched, \d+ of them failed over \(us-west-2 refused \d+ \(RegionUnavailable\): /);
    expect(text.stdout).toMatch(/^ {2}req-truth-\d+\s+dispatched\s+us-(east|west)-1\s+failed over from us-west-2/m);
    // Piped (not a terminal), errors and reasons are printed whole: the cause is all there.
    expect(lines[at + 1]).toContain('us-west-2 took none of 3 messages: AWS.SimpleQueueService.RequestThrottled: Rate exceeded');
    // With a width, 80 columns, but for the ARN (never cut, so that it can be copied).
    const narrow = await cli('inspect', execution.name, '--no-data', '--width', '80');
    expect(narrow.code, narrow.stderr).toBe(0);
    expect(narrow.stdout.split('\n').filter((l) => l.length > 80 && !l.startsWith('arn '))).toEqual([]);

    const json = await cli('inspect', execution.name, '--json');
    expect(json.code, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout) as Inspected;
    expect(parsed.execution).toMatchObject({ name: execution.name, status: 'SUCCEEDED' });
    // One Forward state for every region: the region is the iteration's, in the step's input.
    const forward = (region: string) => parsed.steps.find((s) => s.name === 'Forward' && (JSON.parse(s.input ?? '{}') as { region?: string }).region === region);
    expect(forward('us-west-2')).toMatchObject({ attempts: 2, depth: 1 });
    expect(forward('us-west-2')?.errors.map((e) => e.error)).toEqual(['RegionUnavailable', 'RegionUnavailable']);
    expect([forward('us-east-1')?.errors, forward('us-west-1')?.errors]).toEqual([[], []]);
    const puts = parsed.steps.filter((s) => s.name === 'Put claim');
    expect(puts.map((s) => s.iteration).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(puts.map((_, i) => i));
    const failedOver = parsed.messages.filter((m) => m.failedOver);
    expect(failedOver.length).toBeGreaterThan(0);
    for (const m of failedOver) {
      expect(m).toMatchObject({ outcome: 'dispatched', failedOverFrom: 'us-west-2', failoverReason: 'us-west-2: RegionUnavailable' });
      expect(m.region).not.toBe('us-west-2');
    }
  });
});

describe('status', () => {
  it('finds a request the intake dead-lettered as invalid: no record, its DLQ copy and the intake marker, the DLQ left as it was', async () => {
    const dlq = stack.description.dispatchDeadLetterQueueUrl;
    const before = await queueDepth(home, dlq);
    const result = await cli('status', 'req-truth-invalid');
    expect(result.code, result.stderr).toBe(0);
    const out = result.stdout.replace(/\s+/g, ' ');
    expect(out).toContain('status dead-lettered by the intake as an invalid request: no record');
    expect(out).toMatch(/dispatch DLQ: 1 copy of this request \(read \d+ message\(s\) without consuming them/);
    expect(out).toContain('put there by the intake (matched by the request_id in its body)');
    expect(out).toContain('reason invalid request: priority must be one of high, normal, low');
    expect(out).toMatch(/intake marker #intake-dlq#[0-9a-f-]+: DEAD_LETTERED, kept until /);
    // Read, not consumed: the copy is visible again at once.
    expect(await queueDepth(home, dlq)).toEqual(before);
    for (const line of result.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  });

  it('says how many master messages carried a repeated request into the workflow, and what it cannot know', async () => {
    const result = await cli('status', 'req-truth-0', '--json');
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as {
      record: { status: string };
      deadLetters: unknown[];
      workflow: { known: boolean; masterMessages: Array<{ outcome: string }>; notKnown: string[] };
    };
    expect(report.record.status).toBe('DISPATCHED');
    expect(report.deadLetters).toEqual([]);
    expect(report.workflow.known).toBe(true);
    expect(report.workflow.masterMessages.map((m) => m.outcome)).toEqual(['dispatched', 'duplicate']);
    expect(report.workflow.notKnown.join(' ')).toMatch(/repeats within one batch: the intake drops them before any execution/);
  });
});

describe('listings', () => {
  it('executions --json has a stable shape, and --version prints the version', async () => {
    const json = await cli('executions', '--json', '--max', '3');
    expect(json.code, json.stderr).toBe(0);
    const listed = JSON.parse(json.stdout) as { target: string; executions: Array<Record<string, unknown>> };
    expect(listed.target).toMatch(/^local stack \(pid \d+\)$/);
    expect(listed.executions.length).toBeGreaterThan(0);
    for (const e of listed.executions) {
      expect(Object.keys(e).sort()).toEqual(['durationMs', 'executionArn', 'name', 'startDate', 'status', 'stopDate']);
    }

    const version = await cli('--version');
    expect(version.stdout.trim()).toBe((JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  });
});
