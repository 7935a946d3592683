/**
 * Where `up` leaves the running stack's endpoints for the other commands, and how they read it back.
 *
 * One stack per folder: `up` claims .local/stack.json before it starts anything (an exclusive create
 * holding only its pid), so a second `up` in the same folder, started at the same moment or later, is
 * refused while the first is alive, instead of overwriting its file. A file left by a stack that is gone
 * (its pid is dead, or alive but not answering at the recorded endpoint: the pid was reused) is stale:
 * the new `up` replaces it and says so. To run two stacks at once, start them in two folders.
 * The file is removed by the stack that wrote it, and only by it, when it stops or its process exits.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import type { StackDescription } from '../local/stack.js';

export const STACK_FILE = join(process.cwd(), '.local', 'stack.json');

/** What the file holds for a running stack: its description, and where `up` serves its web console. */
export interface StackFileDescription extends StackDescription {
  /** http://127.0.0.1:<port>/ (absent with --no-console): `workers` scales the simulated workers through it. */
  readonly consoleUrl?: string;
}

/** What the file holds while `up` is starting: its pid only, the endpoints follow. */
interface StartingClaim {
  readonly pid: number;
  readonly starting: true;
  readonly startedAt: string;
}

export type StackEntry =
  | { readonly kind: 'none' }
  | { readonly kind: 'starting'; readonly pid: number; readonly startedAt?: string }
  | { readonly kind: 'stack'; readonly description: StackFileDescription }
  | { readonly kind: 'unreadable'; readonly error: string };

export class NoStackError extends Error {
  override name = 'NoStackError';
}

/** Another live stack owns the folder's stack file. */
export class StackRunningError extends Error {
  override name = 'StackRunningError';
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function readStackEntry(file = STACK_FILE): StackEntry {
  if (!existsSync(file)) return { kind: 'none' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    return { kind: 'unreadable', error: (error as Error).message };
  }
  const value = parsed as Partial<StartingClaim & StackFileDescription>;
  if (typeof value?.pid !== 'number') return { kind: 'unreadable', error: 'no pid in it' };
  if (value.starting) return { kind: 'starting', pid: value.pid, ...(value.startedAt ? { startedAt: value.startedAt } : {}) };
  return { kind: 'stack', description: parsed as StackFileDescription };
}

const ownerPid = (entry: StackEntry) => (entry.kind === 'starting' ? entry.pid : entry.kind === 'stack' ? entry.description.pid : undefined);

/** Whether something listens at an http://host:port endpoint (a short TCP connect). */
export function answers(endpoint: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      resolve(false);
      return;
    }
    const socket = connect({ host: url.hostname, port: Number(url.port || 80) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Why the file's owner is gone, or undefined when it is alive (and, for a running stack, answering). */
async function staleBecause(entry: StackEntry, pid: number): Promise<string | undefined> {
  if (entry.kind === 'none') return undefined;
  if (entry.kind === 'unreadable') return `it cannot be read (${entry.error})`;
  const owner = ownerPid(entry) as number;
  if (owner === pid) return undefined;
  if (!alive(owner)) return `its process ${owner} is not running`;
  if (entry.kind === 'stack' && entry.description.endpoints?.stepFunctions && !(await answers(entry.description.endpoints.stepFunctions))) {
    return `process ${owner} is alive but its stack does not answer at ${entry.description.endpoints.stepFunctions} (the pid was reused)`;
  }
  return undefined;
}

function runningMessage(entry: StackEntry, file: string): string {
  const owner = ownerPid(entry);
  const what = entry.kind === 'starting' ? `is starting (pid ${owner})` : `is running (pid ${owner})`;
  return (
    `a local stack ${what} in this folder (${file}): use it, or stop it with Ctrl-C in its terminal; ` +
    'to run a second stack at the same time, start it from another folder'
  );
}

/** Writes through a temporary file and a rename, so that a reader never sees half a file. */
function writeAtomically(file: string, content: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, content);
  renameSync(temporary, file);
}

const cleanups = new Set<string>();

/** Removes the file when this process exits, if it is still ours (a crash after the claim leaves nothing behind). */
function removeOnExit(file: string, pid: number): void {
  if (cleanups.has(file)) return;
  cleanups.add(file);
  process.once('exit', () => removeStackFile(file, pid));
}

export interface Claim {
  /** Said when a stale file was replaced. */
  readonly note?: string;
}

/**
 * Claims the folder's stack file for this process before the stack starts: refuses (StackRunningError)
 * while another live stack owns it, replaces a stale one (with a note).
 */
export async function claimStackFile(file = STACK_FILE, pid = process.pid): Promise<Claim> {
  mkdirSync(dirname(file), { recursive: true });
  const claim = `${JSON.stringify({ pid, starting: true, startedAt: new Date().toISOString() } satisfies StartingClaim)}\n`;
  try {
    writeFileSync(file, claim, { flag: 'wx' });
    removeOnExit(file, pid);
    return {};
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const entry = readStackEntry(file);
  const why = await staleBecause(entry, pid);
  if (why === undefined && ownerPid(entry) !== pid) throw new StackRunningError(runningMessage(entry, file));
  writeAtomically(file, claim);
  // Another `up` replacing the same stale file at the same moment: the last rename wins, the other refuses.
  const now = readStackEntry(file);
  if (ownerPid(now) !== pid) throw new StackRunningError(runningMessage(now, file));
  removeOnExit(file, pid);
  return why === undefined ? {} : { note: `note: replaced the stale ${file}: ${why}` };
}

/**
 * Writes the running stack's endpoints. Refuses to overwrite the file of another live stack (a `demo
 * --keep` next to a running `up`); a file whose owner is gone is replaced.
 */
export function writeStackFile(description: StackFileDescription, file = STACK_FILE): void {
  const owner = ownerPid(readStackEntry(file));
  if (owner !== undefined && owner !== description.pid && alive(owner)) {
    throw new StackRunningError(runningMessage(readStackEntry(file), file));
  }
  writeAtomically(file, `${JSON.stringify(description, null, 2)}\n`);
  removeOnExit(file, description.pid);
}

/** Removes the file if it belongs to `pid` (this process by default): never another stack's. */
export function removeStackFile(file = STACK_FILE, pid = process.pid): void {
  const entry = readStackEntry(file);
  if (entry.kind !== 'none' && ownerPid(entry) === pid) rmSync(file, { force: true });
}

/**
 * The running local stack, or a clear error saying how to start one. `otherwise` names what the command
 * takes instead of a local stack, if anything (" (or use --stage)"): a command that works only on the
 * local stack (metrics, workers, invoke) suggests no flag it does not take.
 */
export function readStackFile(file = STACK_FILE, otherwise = ''): StackFileDescription {
  const entry = readStackEntry(file);
  if (entry.kind === 'none') {
    throw new NoStackError(`no local stack is running: start one with \`npm run cli -- up\` in another terminal${otherwise}`);
  }
  if (entry.kind === 'unreadable') throw new NoStackError(`${file} cannot be read (${entry.error}): start the stack again with \`npm run cli -- up\``);
  if (entry.kind === 'starting') {
    if (!alive(entry.pid)) throw new NoStackError(`the local stack recorded in ${file} (pid ${entry.pid}) is not running: start it again with \`npm run cli -- up\``);
    throw new NoStackError(`the local stack in this folder is still starting (pid ${entry.pid}): try again once \`up\` prints its endpoints`);
  }
  const description = entry.description;
  if (!alive(description.pid)) {
    throw new NoStackError(`the local stack recorded in ${file} (pid ${description.pid}) is not running: start it again with \`npm run cli -- up\``);
  }
  return description;
}
