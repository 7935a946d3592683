/**
 * `npm run bench:stealing:local` (tools/bench/stealing-local.ts) in a short mode, one run: on the whole
 * local stack, every request of the steady load is processed exactly once with stealing off and on; a
 * lost fleet's backlog is stolen and drained with stealing on, every request once; with stealing off it
 * stays queued, nothing processed twice and nothing lost. Behaviour only: no figure of time is asserted.
 */
import { expect, it } from 'vitest';
import { stealingLocal } from '../../../tools/bench/stealing-local.js';

it('steady load and a lost fleet, stealing off and on: each request processed once, the lost backlog stolen only with stealing', { timeout: 60_000 }, async () => {
  const result = await stealingLocal({ seconds: 2, load: 0.6, lostLoad: 0.4, backlog: 20, service: 0.2, runs: 1, seed: 7 });
  expect(result.runs).toHaveLength(1);
  const [run] = result.runs;
  if (!run) throw new Error('no run');

  for (const r of [run.steady.off, run.steady.on]) {
    expect(r.processing.sent).toBeGreaterThan(0);
    expect(r.processing).toMatchObject({ once: r.processing.sent, twice: 0, never: 0 });
    expect(r.wait.count).toBe(r.processing.sent);
  }
  expect(run.steady.off.stolen).toBe(0);

  const { on, off } = run.lost;
  // Stealing on: the backlog left at the kill is processed by the other regions, each request once.
  expect(on.backlogAtKill).toBeGreaterThan(0);
  expect(on.processing).toMatchObject({ once: on.processing.sent, twice: 0, never: 0 });
  expect(on.backlogLeft).toBe(0);
  expect(on.drainedAfter).toBeDefined();
  expect(on.stolenFromLost).toBeGreaterThanOrEqual(on.backlogAtKill);
  expect(on.backlogWait.count).toBe(on.backlogAtKill);
  expect(on.queuedAtEnd).toBe(0);
  expect(on.deadLettered).toBe(0);

  // Stealing off: the backlog waits for workers that never come back; nothing is processed twice or lost.
  expect(off.backlogAtKill).toBeGreaterThan(0);
  expect(off.backlogLeft).toBe(off.backlogAtKill);
  expect(off.drainedAfter).toBeUndefined();
  expect(off.stolenFromLost).toBe(0);
  expect(off.processing.twice).toBe(0);
  expect(off.processing.never).toBe(off.unprocessed);
  expect(off.queuedAtEnd).toBe(off.unprocessed);
  expect(off.deadLettered).toBe(0);
});
