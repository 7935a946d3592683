/** Runs a TypeScript snippet in a child Node process: to prove that something lets the process exit on its own. */
import { spawn } from 'node:child_process';

export interface ChildResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
}

/** Runs `script` (ESM, tsx loader) from `cwd`; killed after `limitMs`, which shows as a signal. */
export async function runScript(script: string, cwd: string, limitMs = 15_000): Promise<ChildResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
  clearTimeout(killer);
  return { code, signal, output };
}
