import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BEGIN, END, placementSection, withPlacementSection, type BenchJson } from '../../../tools/bench/sim/docs-table.js';
import { DEPLOYED } from '../../../tools/bench/sim/scenarios.js';

const lastRun = JSON.parse(readFileSync('tools/bench/sim/last-run.json', 'utf8')) as BenchJson;
const docs = readFileSync('docs/benchmarks.md', 'utf8');

describe("docs/benchmarks.md's placement figures", () => {
  it('are the ones tools/bench/sim/docs-table.ts writes from the last bench output', () => {
    const a = docs.indexOf(BEGIN);
    const b = docs.indexOf(END);
    expect(a).toBeGreaterThanOrEqual(0);
    expect(docs.slice(a, b + END.length)).toBe(placementSection(lastRun));
  });

  it("come from a run with today's deployed settings (window, batch size, pollers, CACHE_TTL, depth threshold)", () => {
    const { batchWindowSeconds, batchSize, pollers, cacheTtlSeconds, maxQueueDepthThreshold } = DEPLOYED;
    expect(lastRun.deployed).toMatchObject({ batchWindowSeconds, batchSize, pollers, cacheTtlSeconds, maxQueueDepthThreshold });
  });

  it('come from at least 10 seeds, with an interval for every target', () => {
    expect(lastRun.seeds.length).toBeGreaterThanOrEqual(10);
    expect(lastRun.targets.length).toBeGreaterThan(0);
    for (const t of lastRun.targets) expect([t.low, t.high].every((v) => typeof v === 'number')).toBe(true);
  });
});

describe('withPlacementSection', () => {
  it('replaces only the text between the markers, and refuses docs without them', () => {
    const text = `before\n${BEGIN}\nold figures\n${END}\nafter\n`;
    const out = withPlacementSection(text, lastRun);
    expect(out.startsWith('before\n')).toBe(true);
    expect(out.endsWith('\nafter\n')).toBe(true);
    expect(out).not.toContain('old figures');
    expect(withPlacementSection(out, lastRun)).toBe(out);
    expect(() => withPlacementSection('no markers', lastRun)).toThrow(/markers/);
  });
});
