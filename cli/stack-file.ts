/** Where `up` leaves the running stack's endpoints for the other commands, and how they read it back. */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { StackDescription } from '../local/stack.js';

export const STACK_FILE = join(process.cwd(), '.local', 'stack.json');

export function writeStackFile(description: StackDescription, file = STACK_FILE): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(description, null, 2)}\n`);
}

export function removeStackFile(file = STACK_FILE): void {
  rmSync(file, { force: true });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export class NoStackError extends Error {
  override name = 'NoStackError';
}

/** The running local stack, or a clear error saying how to start one. */
export function readStackFile(file = STACK_FILE): StackDescription {
  if (!existsSync(file)) {
    throw new NoStackError('no local stack is running: start one with `npm run cli -- up` in another terminal (or use --queue-url / --stage)');
  }
  const description = JSON.parse(readFileSync(file, 'utf8')) as StackDescription;
  if (!alive(description.pid)) {
    throw new NoStackError(`the local stack recorded in ${file} (pid ${description.pid}) is not running: start it again with \`npm run cli -- up\``);
  }
  return description;
}
