/**
 * `npm run bench:stealing` (tools/bench/stealing.ts) end to end on a tiny run: it prints every figure the
 * issue asks for (per load, the lost fleet, the high lane, the targets with their intervals, a
 * recommendation), and a bad flag names itself.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { expect, it } from 'vitest';

const TINY = ['--runs', '2', '--duration', '3000', '--loads', '0.5,0.9', '--stranded-duration', '4000', '--stranded-at', '500', '--backlog', '50'];

it('prints the figures and the targets as JSON', { timeout: 120_000 }, () => {
  const out = JSON.parse(execFileSync('npx', ['tsx', 'tools/bench/stealing.ts', ...TINY, '--json'], { encoding: 'utf8' })) as {
    seeds: number[];
    loads: Array<{ load: number; p99: Record<string, { perSeed: number[] }> }>;
    stranded: { drain: Record<string, { drainedRuns: number }> };
    high: { p99: Record<string, unknown> };
    targets: Array<{ variant: string; target: string; verdict: string }>;
    recommendation: string;
  };
  expect(out.seeds).toEqual([1, 2]);
  expect(out.loads.map((l) => l.load)).toEqual([0.5, 0.9]);
  for (const l of out.loads) expect(Object.keys(l.p99)).toEqual(['pooled queue (oracle)', 'without stealing', 'stealing', 'stealing, tuned']);
  expect(out.stranded.drain['without stealing']?.drainedRuns).toBe(0);
  expect(out.stranded.drain.stealing?.drainedRuns).toBe(2);
  expect(Object.keys(out.high.p99)).toContain('with lanes, stealing');
  // Per stealing variant: two loads, the lost fleet, the high lane.
  expect(out.targets.filter((t) => t.variant === 'stealing')).toHaveLength(4);
  for (const t of out.targets) expect(['met', 'missed', 'within noise']).toContain(t.verdict);
  expect(['on', 'off']).toContain(out.recommendation);
});

it('a bad flag names itself and exits 1', () => {
  const r = spawnSync('npx', ['tsx', 'tools/bench/stealing.ts', '--lost-region', 'mars-1'], { encoding: 'utf8' });
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/--lost-region must be one of us-east-1, us-west-2, us-west-1/);
});
