/**
 * `console` as a user runs it (a child process): its help and its refusals of bad flags; then, in a
 * folder with a running local stack's file and a stage's outputs, the console of the local stack and
 * the console of the stage (--stage, with the standard credential chain; the SDK reaches the local
 * servers by the queues' URLs and its own AWS_ENDPOINT_URL_<SERVICE> variables): each prints its URL,
 * serves, and stops on Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_NAME } from '../../../core/topology.js';
import { startLocalStack, type LocalStack } from '../../../tools/local/stack.js';
import { CLI_MAIN, runCli, TSX_LOADER } from '../../support/cli-child.js';

let cwd: string;
let stack: LocalStack;

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'dispatch-cli-console-'));
  stack = await startLocalStack();
  const d = stack.description;
  mkdirSync(join(cwd, '.local'));
  writeFileSync(join(cwd, '.local', 'stack.json'), JSON.stringify(d));
  // The SDK sends to a queue's own URL: these name the local servers by address (sqs.<region>.localhost
  // need not resolve here), as a stage's name its region's SQS host.
  const at = (url: string) => url.replace(/^http:\/\/sqs\.[a-z0-9-]+\.localhost:/, 'http://127.0.0.1:');
  const byRegion = (pick: (r: (typeof d.regions)[number]) => string) => Object.fromEntries(d.regions.map((r) => [r.region, at(pick(r))]));
  mkdirSync(join(cwd, '.sst'));
  writeFileSync(
    join(cwd, '.sst', 'outputs.json'),
    JSON.stringify({
      app: APP_NAME,
      stage: d.stage,
      homeRegion: d.homeRegion,
      masterQueueUrl: at(d.masterQueueUrl),
      masterDeadLetterQueueUrl: at(d.masterDeadLetterQueueUrl),
      dispatchDeadLetterQueueUrl: at(d.dispatchDeadLetterQueueUrl),
      regionQueues: '{}',
      regionalQueueUrls: byRegion((r) => r.queueUrl),
      regionalDeadLetterQueueUrls: byRegion((r) => r.deadLetterQueueUrl),
      stateMachineArn: d.stateMachineArn,
      stateMachineLogGroup: '/aws/vendedlogs/states/inference-dispatch-local',
      tableName: d.tableName,
      functionNames: { intake: 'a', snapshot: 'b', select: 'c', forward: 'd' },
      alarmTopicArns: {},
      consoleLinks: { stateMachine: '-', executionLogs: '-', dashboard: '-', masterQueue: '-', table: '-' },
    }),
  );
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

describe('console: flags', () => {
  it('--help lists its flags and the permissions a stage needs', async () => {
    const { code, stdout } = await runCli(cwd, ['console', '--help']);
    expect(code).toBe(0);
    for (const flag of ['--port <n>', '--allow-redrive', '--hours <n>', '--max <n>', '--stage <stage>', '--app <name>', '--profile <profile>', '--region <region>']) {
      expect(stdout).toContain(flag);
    }
    expect(stdout).toMatch(/logs:StartQuery/);
    expect(stdout).toMatch(/cloudwatch:GetMetricData/);
  });

  it('refuses bad flags with what they want, and exits non-zero', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['console', '--port', 'abc'], /option '--port <n>' argument 'abc' is invalid\. port must be from 0 \(any free port\) to 65000\./],
      [['console', '--hours', '0'], /--hours must be a whole number from 1 to 336\./],
      [['console', '--nope'], /unknown option '--nope'/],
      [['console', '--allow-redrive'], /--allow-redrive is for a deployed stage \(--stage\)/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(cwd, args)));
    results.forEach((result, i) => {
      expect(result.code, cases[i]?.[0].join(' ')).not.toBe(0);
      expect(result.stderr).toMatch(cases[i]?.[1] as RegExp);
    });
  });
});

/** `console` run directly, without npm: each kill is one signal, so every signal is a press. */
function startCommand(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, CLI_MAIN, 'console', ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DISPATCH_PRESS_WINDOW_MS: '0', LOG_LEVEL: 'SILENT', ...env },
  });
  const state = { output: '' };
  child.stdout.on('data', (chunk: Buffer) => (state.output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (state.output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.on('exit', (code, signal) => done({ code, signal })));
  const url = async (ms = 30_000) => {
    const end = Date.now() + ms;
    for (;;) {
      const found = /web console\s+(http:\/\/127\.0\.0\.1:\d+\/)/.exec(state.output)?.[1];
      if (found || Date.now() > end) return found;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { child, state, exited, url };
}

describe('console: serving', () => {
  it('serves the running local stack, which it may change, and stops on Ctrl-C', async () => {
    const run = startCommand([]);
    try {
      const url = await run.url();
      expect(url, run.state.output).toBeDefined();
      expect(run.state.output).toContain('console of the local stack');
      const stackInfo = (await (await fetch(new URL('/api/stack', url))).json()) as Record<string, unknown>;
      expect(stackInfo).toMatchObject({ source: 'local stack', readOnly: false, stage: stack.description.stage });
      run.child.kill('SIGINT');
      expect(await run.exited).toEqual({ code: 0, signal: null });
      expect(run.state.output).toContain('stopped');
    } finally {
      run.child.kill('SIGKILL');
    }
  }, 60_000);

  it('serves a stage read-only by default through its AWS APIs, refuses a redrive, and stops on Ctrl-C', async () => {
    const d = stack.description;
    const run = startCommand(['--stage', d.stage], {
      AWS_ENDPOINT_URL_DYNAMODB: d.endpoints.dynamodb,
      AWS_ENDPOINT_URL_SFN: d.endpoints.stepFunctions,
      // Nothing answers there: the pages read here need neither.
      AWS_ENDPOINT_URL_CLOUDWATCH: 'http://127.0.0.1:1',
      AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: 'http://127.0.0.1:1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_MAX_ATTEMPTS: '1',
    });
    try {
      const url = await run.url();
      expect(url, run.state.output).toBeDefined();
      expect(run.state.output).toContain(`console of stage ${d.stage} in us-east-1 (read-only: --allow-redrive to move messages)`);
      const stackInfo = (await (await fetch(new URL('/api/stack', url))).json()) as Record<string, unknown>;
      expect(stackInfo).toMatchObject({ source: `stage ${d.stage} in us-east-1`, readOnly: true, tableName: d.tableName });
      const dlq = await fetch(new URL('/api/dead-letters?queue=dispatch', url));
      expect(dlq.status, await dlq.clone().text()).toBe(200);
      expect(((await dlq.json()) as { queues: Array<{ read: number }> }).queues[0]?.read).toBe(0);
      const redrive = await fetch(new URL('/api/redrive', url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ queue: 'dispatch', dryRun: true }) });
      expect(redrive.status).toBe(403);
      expect(((await redrive.json()) as { error: string }).error).toBe('this console is read-only: start it with --allow-redrive to move messages');
      run.child.kill('SIGINT');
      expect(await run.exited).toEqual({ code: 0, signal: null });
    } finally {
      run.child.kill('SIGKILL');
    }
  }, 60_000);
});
