/**
 * The CLI as a user runs it (a child process): bad flags fail cleanly, and send / consume / executions /
 * inspect / status work against a running local stack found through its stack file.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqsAt } from '../../../tools/local/resources.js';
import { startLocalStack, type LocalStack } from '../../../tools/local/stack.js';
import { queueEmpty, until } from '../../support/local-aws.js';
import { PROJECT_ROOT, runCli } from '../../support/cli-child.js';


let cwd: string;
let stack: LocalStack;

const cli = (...args: string[]) => runCli(cwd, args);

/** True once the master queue holds nothing, visible or in flight (after a send, polled). */
async function dispatchedAll(): Promise<boolean> {
  const client = sqsAt('us-east-1', stack.description.endpoints.sqs['us-east-1'] as string);
  try {
    return await until(() => queueEmpty(client, stack.description.masterQueueUrl), 20_000);
  } finally {
    client.destroy();
  }
}

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'dispatch-cli-'));
  stack = await startLocalStack({ masterVisibilitySeconds: 2, batchWindowSeconds: 0.2 });
  mkdirSync(join(cwd, '.local'));
  writeFileSync(join(cwd, '.local', 'stack.json'), JSON.stringify(stack.description));
});
afterAll(async () => {
  await stack?.stop();
});

describe.concurrent('bad input', () => {
  it.each([
    [['send', '--count', 'abc'], /--count must be a whole number/],
    [['send', '--count', '0'], /--count must be a whole number from 1/],
    [['send', '--priority', 'urgent'], /priority must be one of high, normal, low/],
    [['send', '--queue-url', 'not a url'], /is not a queue URL/],
    [['consume', '--max-messages', '11'], /--max-messages must be a whole number from 1 to 10/],
    [['demo', '--fail-region', 'mars-1'], /region must be one of/],
    [['executions', '--status', 'weird'], /status must be one of/],
    [['nonsense'], /unknown command 'nonsense'/],
  ])('%j fails with a clear message and a non-zero exit', async (args, message) => {
    const result = await cli(...args);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });

  it('says how to start a stack when none is running', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'dispatch-cli-empty-'));
    const result = await runCli(empty, ['send', '--count', '1']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no local stack is running: start one with `npm run cli -- up`/);
  });

  it('--file warns on stderr about every line it skips or expects dead-lettered, sends the rest, and counts them', async () => {
    const file = join(cwd, 'requests.jsonl');
    writeFileSync(file, `${JSON.stringify({ request_id: 'req-file-1', model_name: 'm', input_data_url: 's3://b/k' })}\n\nnot json\n{"a":"\u0001"}\n`);
    const result = await cli('send', '--file', file, '--interval', '0');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('warning: line 2: blank: skipped');
    expect(result.stderr).toMatch(/warning: line 3: not a valid request \(body is not JSON: .*\): sent anyway, expect it in the dispatch DLQ/);
    expect(result.stderr).toContain('warning: line 4: holds U+0001 at column 7, which SQS does not accept in a message body: skipped');
    expect(result.stdout).toMatch(/sent 2 message/);
    // Wrapped to 80 columns: read with the line breaks as spaces.
    expect(result.stdout.replace(/\s+/g, ' ')).toContain(`${file}: 2 line(s) sent (1 not valid, expect them in the dispatch DLQ), 2 skipped (1 blank, 1 unsendable)`);
  });
});

describe('against a running local stack', () => {
  it('send, then consume prints the distribution table whose counts sum to the total', async () => {
    const sent = await cli('send', '--count', '12', '--interval', '0');
    expect(sent.code, sent.stderr).toBe(0);
    // Wait until the master queue holds nothing: every request sent so far is dispatched.
    expect(await dispatchedAll()).toBe(true);

    const consumed = await cli('consume', '--wait', '0');
    expect(consumed.code, consumed.stderr).toBe(0);
    const rows = [...consumed.stdout.matchAll(/^(us-[a-z]+-\d): (\d+) \((\d+\.\d)%\)$/gm)];
    expect(rows.map((r) => r[1])).toEqual(['us-east-1', 'us-west-2', 'us-west-1']);
    const counts = rows.map((r) => Number(r[2]));
    const total = Number(/^Total: (\d+) messages$/m.exec(consumed.stdout)?.[1]);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(total);
    expect(total).toBeGreaterThanOrEqual(12);
    const percent = rows.map((r) => Number(r[3])).reduce((a, b) => a + b, 0);
    expect(Math.abs(percent - 100)).toBeLessThan(0.2);
  });

  it('--duplicate sends one request_id five times and it is dispatched once', async () => {
    const sent = await cli('send', '--duplicate', '--request-id', 'test-dup-001', '--count', '5', '--interval', '0');
    expect(sent.code, sent.stderr).toBe(0);
    expect(await dispatchedAll()).toBe(true);
    const status = await cli('status', 'test-dup-001');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/status\s+DISPATCHED/);
    expect(status.stdout).toMatch(/region\s+us-(east|west)-\d/);
    const consumed = await cli('consume', '--wait', '0');
    expect(/^Total: (\d+) messages?$/m.exec(consumed.stdout)?.[1]).toBe('1');
  });

  it('up names a port that is taken and exits 1', async () => {
    const taken = new URL(stack.description.endpoints.dynamodb).port;
    // In a folder of its own: in this one, the running stack's file makes `up` refuse before it tries a port.
    const result = await runCli(mkdtempSync(join(tmpdir(), 'dispatch-cli-port-')), ['up', '--port', taken]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`port ${taken} on 127.0.0.1 is already in use`);
  });

  it('status of an unknown request exits 1 and says why there may be no record', async () => {
    const status = await cli('status', 'req-never-sent');
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/no record/);
  });

  it('executions lists runs and inspect shows one step by step', async () => {
    const listed = await cli('executions', '--max', '5');
    expect(listed.code, listed.stderr).toBe(0);
    const name = /cli -- inspect (\S+)/.exec(listed.stdout)?.[1] as string;
    expect(name).toBeTruthy();
    const inspected = await cli('inspect', name, '--width', '60');
    expect(inspected.code, inspected.stderr).toBe(0);
    expect(inspected.stdout).toMatch(/SUCCEEDED/);
    for (const state of ['Claim requests', 'Put claim', 'Read queue depths', 'Choose regions', 'Forward to regions', 'Report outcomes']) {
      expect(inspected.stdout).toContain(state);
    }
    const summary = await cli('inspect', name, '--summary');
    expect(summary.code, summary.stderr).toBe(0);
    // One line per state, with the Map's visits counted: "Put claim  xN".
    expect(summary.stdout).toMatch(/Put claim\s+(x\d+)?\s+\d+ms/);
    expect(summary.stdout.match(/Put claim/g)).toHaveLength(1);
    const missing = await cli('inspect', 'no-such-execution');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no execution named no-such-execution/);
  });

  it('invoke runs the intake once on the sample event: the malformed record is dead-lettered, none retried', async () => {
    const invoked = await cli('invoke', join(PROJECT_ROOT, 'tools', 'cli', 'sqs-event.json'), '--log-level', 'SILENT');
    expect(invoked.code, invoked.stderr).toBe(0);
    expect(JSON.parse(invoked.stdout)).toEqual({ batchItemFailures: [] });
    expect(invoked.stderr).toContain('3 record(s): 3 done, 0 to be retried by SQS');
    const notAnEvent = await cli('invoke', join(PROJECT_ROOT, 'package.json'));
    expect(notAnEvent.code).toBe(1);
    expect(notAnEvent.stderr).toMatch(/is not an SQS event: Records/);
  });

  it("takes queue URLs as the original tools did: send --queue-url, consume --queue-<region>", async () => {
    await cli('consume', '--wait', '0'); // start from empty regional queues
    const sent = await cli('send', '--queue-url', stack.description.masterQueueUrl, '--count', '3', '--interval', '0');
    expect(sent.code, sent.stderr).toBe(0);
    expect(await dispatchedAll()).toBe(true);
    const flags = stack.description.regions.flatMap((r) => [`--queue-${r.region}`, r.queueUrl]);
    const consumed = await cli('consume', ...flags, '--wait', '0');
    expect(consumed.code, consumed.stderr).toBe(0);
    expect(/^Total: (\d+) messages?$/m.exec(consumed.stdout)?.[1]).toBe('3');
  });
});
