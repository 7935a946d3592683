/**
 * What the CLI says to an operator, run as a user runs it (a child process, stdout piped) against a
 * running local stack: request_ids it refuses before searching, the master high DLQ in `dlq` and
 * `redrive`, errors that suggest only flags the command takes, `send`'s ids and its --json, `inspect`'s
 * error causes whole when piped, DLQ messages named by the request_id in their body, and a redrive that
 * skips bodies that are not JSON unless told.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { failoverScene } from '../../../tools/console/scene.js';
import { queueDepth } from '../../../tools/ops/queue-reader.js';
import { sqsAt } from '../../../tools/local/resources.js';
import { startLocalStack, type LocalStack } from '../../../tools/local/stack.js';
import { until } from '../../support/local-aws.js';
import { runCli } from '../../support/cli-child.js';

let cwd: string;
let empty: string;
let stack: LocalStack;
let home: SQSClient;

const cli = (...args: string[]) => runCli(cwd, args, 60_000);

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'dispatch-cli-operator-'));
  empty = mkdtempSync(join(tmpdir(), 'dispatch-cli-no-stack-'));
  stack = await startLocalStack({ masterVisibilitySeconds: 2, batchWindowSeconds: 0.2, retryIntervalMs: 20, env: { regionHealthSeconds: 0 } });
  mkdirSync(join(cwd, '.local'));
  writeFileSync(join(cwd, '.local', 'stack.json'), JSON.stringify(stack.description));
  home = sqsAt(stack.description.homeRegion, stack.description.endpoints.sqs[stack.description.homeRegion] as string);
}, 60_000);
afterAll(async () => {
  home?.destroy();
  await stack?.stop();
});

/** Sends a body to the master queue and waits until the intake has dead-lettered it and deleted it from there. */
async function deadLetter(body: string): Promise<void> {
  const d = stack.description;
  const before = (await queueDepth(home, d.dispatchDeadLetterQueueUrl)).visible;
  await home.send(new SendMessageCommand({ QueueUrl: d.masterQueueUrl, MessageBody: body }));
  expect(await until(async () => (await queueDepth(home, d.dispatchDeadLetterQueueUrl)).visible > before, 20_000)).toBe(true);
  expect(
    await until(async () => {
      const master = await queueDepth(home, d.masterQueueUrl);
      return master.visible + master.inFlight === 0;
    }, 20_000),
  ).toBe(true);
}

describe.concurrent('refused or explained before anything is read', { timeout: 60_000 }, () => {
  it("status 'bad id!' is refused with the request_id rules and exit 1, without searching", async () => {
    const result = await cli('status', 'bad id!');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/request_id may hold only letters, digits and \. _ : -: no request can have this request_id/);
    expect(result.stdout).toBe('');
    const tooLong = await cli('status', 'x'.repeat(129));
    expect(tooLong.code).toBe(1);
    expect(tooLong.stderr).toMatch(/request_id must be at most 128 characters/);
  });

  it.each([
    [['dlq', '--queue', 'regional'], /--queue must be dispatch, master, master-high or all\./],
    [['redrive', '--queue', 'nowhere'], /--queue must be dispatch, master or master-high\./],
  ])('%j names master-high among the queues', async (args, message) => {
    const result = await cli(...args);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });

  it('dlq --help and redrive --help name master-high in --queue and in the JSON shape; redrive --help says what happens to bodies that are not JSON', async () => {
    const flat = (text: string) => text.replace(/\s+/g, ' ');
    const dlq = flat((await cli('dlq', '--help')).stdout);
    expect(dlq).toMatch(/--queue <queue> dispatch, master, master-high \(the master queue's high lane\) or all/);
    expect(dlq).toContain('"queue": "dispatch"|"master"|"master-high"');
    const redrive = flat((await cli('redrive', '--help')).stdout);
    expect(redrive).toMatch(/--queue <queue> the DLQ to read: dispatch, master or master-high/);
    expect(redrive).toContain('"queue": "dispatch"|"master"|"master-high"');
    expect(redrive).toMatch(/--include-not-json also move a message whose body is not JSON \(skipped by default/);
  });

  it.each([['metrics'], ['workers', 'list']])('%j without a stack suggests only `up`, no flag the command does not take', async (...args) => {
    const result = await runCli(empty, args);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no local stack is running: start one with `npm run cli -- up` in another terminal\n/);
    expect(result.stderr).not.toMatch(/--queue-url|--stage/);
  });
});

describe('against a running local stack', () => {
  it('send lists every request_id when there are few, the first 20 and a count when more; --json gives every one', { timeout: 120_000 }, async () => {
    const few = await cli('send', '--count', '3', '--interval', '0');
    expect(few.code, few.stderr).toBe(0);
    expect(few.stdout.replace(/\s+/g, ' ')).toMatch(/request_ids \(3\): req-[\w-]+, req-[\w-]+, req-[\w-]+ /);

    const many = await cli('send', '--count', '25', '--interval', '0');
    expect(many.code, many.stderr).toBe(0);
    const line = many.stdout.replace(/\s+/g, ' ');
    expect(line).toMatch(/request_ids \(25\): (req-[\w-]+, ){19}req-[\w-]+ \.\.\. and 5 more \(--json lists every one\)/);

    const json = await cli('send', '--count', '25', '--interval', '0', '--json');
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as { sent: number; queueUrl: string; messages: Array<{ requestId: string; messageId: string; queueUrl: string }> };
    expect(report.sent).toBe(25);
    expect(report.queueUrl).toBe(stack.description.masterQueueUrl);
    expect(report.messages).toHaveLength(25);
    expect(new Set(report.messages.map((m) => m.requestId)).size).toBe(25);
    for (const m of report.messages) expect(m).toEqual({ requestId: expect.stringMatching(/^req-/), messageId: expect.any(String), queueUrl: stack.description.masterQueueUrl });
    // Said on stderr, so that stdout is the JSON alone.
    expect(json.stderr).toMatch(/sending 25 request\(s\)/);

    const duplicate = await cli('send', '--duplicate', '--request-id', 'req-op-dup', '--count', '3', '--interval', '0');
    expect(duplicate.stdout).toMatch(/request_id: req-op-dup \(x3\)/);
  });

  it('inspect piped prints each error with its whole cause', { timeout: 120_000 }, async () => {
    const execution = await failoverScene(stack, 'us-west-2', 'req-op-cause', 4);
    const json = await cli('inspect', execution.executionArn, '--json');
    expect(json.code, json.stderr).toBe(0);
    const steps = (JSON.parse(json.stdout) as { steps: Array<{ errors: Array<{ error: string; cause?: string }> }> }).steps;
    const errors = steps.flatMap((s) => s.errors).map((e) => `${e.error}${e.cause ? `: ${e.cause}` : ''}`.replace(/\s+/g, ' ').trim());
    // The precondition: a cause longer than what an 80-column line leaves for it.
    expect(Math.max(...errors.map((e) => e.length))).toBeGreaterThan(80);
    const text = await cli('inspect', execution.executionArn);
    expect(text.code, text.stderr).toBe(0);
    for (const error of errors) expect(text.stdout).toContain(`error: ${error}`);
    // --width still cuts, as asked.
    const cut = await cli('inspect', execution.executionArn, '--width', '80');
    expect(cut.stdout.split('\n').filter((l) => l.includes('error: ')).every((l) => l.length <= 80)).toBe(true);
  });

  it('dlq names an invalid request by the request_id in its body, and redrive --request-id selects it', { timeout: 120_000 }, async () => {
    const id = 'req-op-invalid-body';
    await deadLetter(JSON.stringify({ request_id: id, model_name: 'm', input_data_url: 'ftp://nowhere/x' }));
    const listed = await cli('dlq', '--queue', 'dispatch', '--json');
    expect(listed.code, listed.stderr).toBe(0);
    const queues = (JSON.parse(listed.stdout) as { queues: Array<{ groups: Array<{ reason: string; requestIds: string[]; withoutRequestId: number }>; messages: Array<{ requestId?: string; requestIdFrom?: string }> }> }).queues;
    const group = queues[0]?.groups.find((g) => g.reason.startsWith('invalid request: input_data_url'));
    expect(group).toMatchObject({ requestIds: [id], withoutRequestId: 0 });
    expect(queues[0]?.messages.find((m) => m.requestId === id)).toMatchObject({ requestIdFrom: 'body' });
    const text = await cli('dlq', '--queue', 'dispatch');
    expect(text.stdout).toMatch(new RegExp(`invalid request: input_data_url.*\\n\\s+request_ids \\(1\\): ${id}\\n`));

    const dry = await cli('redrive', '--request-id', id, '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`would move 1:\\n.*invalid request: input_data_url.*\\n\\s+request_ids \\(1\\): ${id}`));
  });

  it('redrive skips a body that is not JSON by default and names it in a warning; --include-not-json would move it', { timeout: 120_000 }, async () => {
    await deadLetter('this is not json');
    const dry = await cli('redrive', '--reason', 'body is not JSON', '--dry-run', '--json');
    expect(dry.code, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout) as { counts: Record<string, number>; entries: Array<{ messageId: string; outcome: string; notJson?: boolean }> };
    expect(plan.counts).toMatchObject({ 'would-move': 0, skipped: 1 });
    const messageId = plan.entries[0]?.messageId as string;
    expect(plan.entries).toEqual([expect.objectContaining({ outcome: 'skipped', notJson: true })]);

    const text = await cli('redrive', '--reason', 'body is not JSON', '--dry-run');
    expect(text.stdout.replace(/\s+/g, ' ')).toContain(
      `warning: 1 message(s) skipped because the body is not JSON (they can never pass the intake): ${messageId}; --include-not-json moves them anyway`,
    );
    const included = await cli('redrive', '--reason', 'body is not JSON', '--dry-run', '--include-not-json', '--json');
    expect((JSON.parse(included.stdout) as { counts: Record<string, number> }).counts).toMatchObject({ 'would-move': 1, skipped: 0 });
    expect(await queueDepth(home, stack.description.masterQueueUrl)).toEqual({ visible: 0, inFlight: 0 });
  });
});
