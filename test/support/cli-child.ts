/** Runs the CLI as a user runs it: a child process, in a chosen folder (where it looks for .local/stack.json). */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const PROJECT_ROOT = resolve(import.meta.dirname, '../..');
/**
 * Node itself with tsx's loader, not the tsx binary: that one starts a second Node process for every run
 * (twice the start-up on a busy machine), and relays signals to its child with a 30 ms deadline.
 */
export const TSX_LOADER = pathToFileURL(join(PROJECT_ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
export const CLI_MAIN = join(PROJECT_ROOT, 'tools', 'cli', 'main.ts');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `dispatch <args>` run from `cwd`, with the functions' logs silenced (and `env` added to this process's
 * environment); never throws for a non-zero exit.
 */
export async function runCli(cwd: string, args: readonly string[], timeoutMs = 30_000, env: Record<string, string> = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', TSX_LOADER, CLI_MAIN, ...args], { cwd, env: { ...process.env, LOG_LEVEL: 'SILENT', ...env }, timeout: timeoutMs });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
