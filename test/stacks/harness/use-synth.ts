/** Per-file setup for the infrastructure tests: one offline synthesis (shared through the cache), installed if needed. */
import { beforeAll } from 'vitest';
import type { Synth } from './model.js';
import { synth, type SynthOptions } from './synth.js';

/**
 * A clean clone first runs the offline `sst install` (~25 s, more with a cold npm cache); the
 * synthesis itself takes ~4 s. vitest.config.ts is not ours: the time allowance is set here.
 */
export const SETUP_TIMEOUT_MS = 300_000;

export function useSynth(options: SynthOptions = {}): () => Synth {
  let value: Synth | undefined;
  beforeAll(async () => {
    value = await synth(options);
  }, SETUP_TIMEOUT_MS);
  return () => {
    if (!value) throw new Error('the synthesis did not run (see the beforeAll error)');
    return value;
  };
}
