/**
 * The stacks level's global setup: on a clean clone, SST's platform install (about 30 s) starts when the
 * run starts, beside the other levels' files, instead of when the first stacks file gets a worker. The
 * files still wait for it in their own setup (ensurePlatform holds a lock), and report its failure.
 */
import { ensurePlatform } from './synth.js';

let install: Promise<unknown> | undefined;

export function setup(): void {
  install = ensurePlatform().catch(() => undefined);
}

export async function teardown(): Promise<void> {
  await install;
}
