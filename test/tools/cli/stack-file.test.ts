/**
 * One stack per folder (tools/cli/stack-file.ts), Ctrl-C while stopping (tools/cli/shutdown.ts), and the Node check
 * that runs before anything else (tools/cli/node-version.mjs).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeVersionProblem } from '../../../tools/cli/node-version.mjs';
import { abortOnPress, PRESS_WINDOW_MS, pressWindowMs, stopOnSignals } from '../../../tools/cli/shutdown.js';
import { claimStackFile, readStackFile, readStackEntry, removeStackFile, StackRunningError, writeStackFile } from '../../../tools/cli/stack-file.js';
import type { StackDescription } from '../../../tools/local/stack.js';
import { PROJECT_ROOT } from '../../support/cli-child.js';

const fileIn = () => join(mkdtempSync(join(tmpdir(), 'dispatch-stack-file-')), '.local', 'stack.json');

/** A pid that is surely not running: a child that has exited. */
const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid as number;

let listening: Server;
let endpoint: string;
beforeAll(async () => {
  listening = createServer(() => undefined);
  await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(listening.address() as { port: number }).port}`;
});
afterAll(() => listening.close());

const description = (pid: number, stepFunctions: string): StackDescription =>
  ({ pid, endpoints: { stepFunctions, dynamodb: stepFunctions, sqs: {} } }) as unknown as StackDescription;

describe('the stack file: one stack per folder', () => {
  it('claims an absent file, and refuses a second claim while the first owner lives and answers', async () => {
    const file = fileIn();
    expect(await claimStackFile(file, process.pid)).toEqual({});
    expect(readStackEntry(file)).toMatchObject({ kind: 'starting', pid: process.pid });
    expect(() => readStackFile(file)).toThrow(/still starting \(pid \d+\)/);
    writeStackFile(description(process.pid, endpoint), file);
    // Another process (pid 1 stands for it: alive, not us) trying to start in the same folder.
    await expect(claimStackFile(file, 1)).rejects.toBeInstanceOf(StackRunningError);
    await expect(claimStackFile(file, 1)).rejects.toThrow(/a local stack is running \(pid \d+\) in this folder .* start it from another folder/);
    // And `demo --keep` next to it does not overwrite it.
    expect(() => writeStackFile(description(1, endpoint), file)).toThrow(StackRunningError);
    expect(readStackFile(file).pid).toBe(process.pid);
  });

  it('replaces a stale file with a note: its process is gone, or alive but not answering (a reused pid)', async () => {
    const file = fileIn();
    mkdirSync(join(file, '..'), { recursive: true });
    const gone = deadPid();
    writeFileSync(file, JSON.stringify(description(gone, endpoint)));
    const claim = await claimStackFile(file, process.pid);
    expect(claim.note).toMatch(new RegExp(`replaced the stale .*stack\\.json: its process ${gone} is not running`));
    expect(readStackEntry(file)).toMatchObject({ kind: 'starting', pid: process.pid });

    const other = fileIn();
    mkdirSync(join(other, '..'), { recursive: true });
    writeFileSync(other, JSON.stringify(description(1, 'http://127.0.0.1:1')));
    expect((await claimStackFile(other, process.pid)).note).toMatch(/process 1 is alive but its stack does not answer at http:\/\/127\.0\.0\.1:1 \(the pid was reused\)/);
  });

  it('removes the file only for the stack that wrote it', () => {
    const file = fileIn();
    writeStackFile(description(process.pid, endpoint), file);
    removeStackFile(file, 1);
    expect(existsSync(file)).toBe(true);
    removeStackFile(file, process.pid);
    expect(existsSync(file)).toBe(false);
  });
});

describe('Ctrl-C while stopping', () => {
  it('stops at the first signal, explains at the second, forces the exit at the third after removing the file', async () => {
    const source = new EventEmitter();
    const log: string[] = [];
    const exits: number[] = [];
    let forced = 0;
    let t = 0;
    const guard = stopOnSignals({
      source: source as never,
      log: (line) => log.push(line),
      exit: (code) => void exits.push(code),
      force: () => void forced++,
      now: () => (t += 1000), // each signal a second after the last: three presses
    });
    source.emit('SIGINT', 'SIGINT');
    expect(await guard.requested).toBe('SIGINT');
    expect(exits).toEqual([]);
    source.emit('SIGINT', 'SIGINT');
    expect(exits).toEqual([]);
    expect(log.join('\n')).toMatch(/SIGINT again: still stopping the stack .* press Ctrl-C once more to force the exit now/);
    source.emit('SIGTERM', 'SIGTERM');
    expect(forced).toBe(1);
    expect(exits).toEqual([130]);
    expect(log.at(-1)).toMatch(/forced exit/);
    guard.dispose();
    expect(source.listenerCount('SIGINT') + source.listenerCount('SIGTERM')).toBe(0);
  });

  it('counts the copies of one press (the terminal\'s, npm\'s, tsx\'s relay) as one press, and presses 0.2 s apart as two', () => {
    const source = new EventEmitter();
    const log: string[] = [];
    const exits: number[] = [];
    let t = 0;
    const guard = stopOnSignals({ source: source as never, log: (line) => log.push(line), exit: (code) => void exits.push(code), now: () => t });
    // A press: the terminal's SIGINT, npm's copy at once, tsx's relay 30 ms and 60 ms later.
    for (const at of [0, 1, 31, 62]) {
      t = at;
      source.emit('SIGINT', 'SIGINT');
    }
    expect(guard.count).toBe(1);
    // The second press, 0.2 s after the first, with its own copies.
    for (const at of [200, 201, 232]) {
      t = at;
      source.emit('SIGINT', 'SIGINT');
    }
    expect(guard.count).toBe(2);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatch(/SIGINT again: still stopping the stack/);
    expect(exits).toEqual([]);
    guard.dispose();
  });

  it('takes a signal quietly once the stop is finished, so the ending process still exits 0', async () => {
    const source = new EventEmitter();
    const log: string[] = [];
    const exits: number[] = [];
    const guard = stopOnSignals({ source: source as never, log: (line) => log.push(line), exit: (code) => void exits.push(code) });
    source.emit('SIGINT', 'SIGINT');
    await guard.requested;
    guard.finished();
    // Still handled (Node's default would kill the process by the signal), and neither logged nor forced.
    expect(source.listenerCount('SIGINT')).toBe(1);
    for (let i = 0; i < 3; i++) source.emit('SIGINT', 'SIGINT');
    expect(log).toEqual([]);
    expect(exits).toEqual([]);
  });
});

describe('the Node version, checked first', () => {
  it('accepts 22.12 and later, and names what to do on anything older', () => {
    for (const ok of ['22.12.0', '22.20.1', '23.0.0', '24.21.0']) expect(nodeVersionProblem(ok)).toBeUndefined();
    for (const old of ['20.20.2', '22.11.0', '18.0.0']) {
      expect(nodeVersionProblem(old)).toBe(
        'dispatch needs Node >= 22.12 (it runs its local AWS servers on node:sqlite): run it through npm (npm run cli -- ...) ' +
          `which uses the project's Node 24, or install Node 24 (this is Node ${old})`,
      );
    }
  });

  /** A Node older than 22.12 on this machine (the system Node is 20 here), if any. */
  const oldNode = (() => {
    try {
      const paths = execFileSync('which', ['-a', 'node'], { encoding: 'utf8' }).split('\n').filter(Boolean);
      return paths.find((path) => nodeVersionProblem(execFileSync(path, ['--version'], { encoding: 'utf8' }).trim().slice(1)) !== undefined);
    } catch {
      return undefined;
    }
  })();

  it.skipIf(!oldNode)('tools/cli/bin.mjs started directly on an old Node prints that one line and exits 1 (no crash)', () => {
    const run = spawnSync(oldNode as string, [join(PROJECT_ROOT, 'tools', 'cli', 'bin.mjs'), 'status', 'x'], { encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toMatch(/^dispatch needs Node >= 22\.12 \(it runs its local AWS servers on node:sqlite\): run it through npm .*\(this is Node 2\d\.\d+\.\d+\)$/);
    expect(run.stderr).not.toMatch(/ERR_UNKNOWN_BUILTIN_MODULE|node:internal/);
  });

  it('tools/cli/bin.mjs started directly on this Node runs, and prints the version of package.json', () => {
    const version = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    const run = spawnSync(process.execPath, [join(PROJECT_ROOT, 'tools', 'cli', 'bin.mjs'), '--version'], { encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe(version);
  });
});

describe('abortOnPress (redrive, rebalance)', () => {
  it('aborts the work at the first Ctrl-C, saying the message at hand is finished first, and removes its handler', () => {
    const controller = new AbortController();
    const written: string[] = [];
    const before = process.listenerCount('SIGINT');
    const stop = abortOnPress(controller, 'left somewhere', (text) => void written.push(text));
    expect(process.listenerCount('SIGINT')).toBe(before + 1);
    process.emit('SIGINT', 'SIGINT');
    expect(controller.signal.aborted).toBe(true);
    expect(written.join('')).toMatch(/interrupted: finishing the message at hand, then releasing what is held \(Ctrl-C again to quit at once\)/);
    stop();
    expect(process.listenerCount('SIGINT')).toBe(before);
  });
});

describe('pressWindowMs', () => {
  it('is PRESS_WINDOW_MS unless DISPATCH_PRESS_WINDOW_MS names a whole number of ms', () => {
    expect(pressWindowMs({})).toBe(PRESS_WINDOW_MS);
    expect(pressWindowMs({ DISPATCH_PRESS_WINDOW_MS: '0' })).toBe(0);
    expect(pressWindowMs({ DISPATCH_PRESS_WINDOW_MS: ' 40 ' })).toBe(40);
    expect(pressWindowMs({ DISPATCH_PRESS_WINDOW_MS: 'soon' })).toBe(PRESS_WINDOW_MS);
  });
});
