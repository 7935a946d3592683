/**
 * The explorer's short form on the local stack: every single fault in the Forward states (each region's
 * forward and failover: sends refused, stored without an answer, the function failing after it ran,
 * hangs), plus a seeded sample of pairs, each followed by the next delivery and a worker, each checked.
 * The long form (npm run explore -- --long) covers every state and every pair.
 */
import { describe, expect, it } from 'vitest';
import { explore, type Exploration } from '../../../tools/explore/explorer.js';
import { summaryLine } from '../../../tools/explore/report.js';

describe('npm run explore, short form', () => {
  let exploration: Exploration;

  it('finds no violation in the Forward states\' single faults and a seeded sample of pairs', async () => {
    exploration = await explore({ pairs: 40, seed: 1, only: 'Forward' });
    const violating = exploration.results.filter((r) => r.violations.length);
    expect(violating.map((r) => `${r.id}: ${r.violations.map((v) => `${v.check} ${v.detail}`).join('; ')}`)).toEqual([]);
    expect(summaryLine(exploration)).toBe(`explored ${exploration.results.length} combinations, 0 violations`);
  }, 300_000);

  it('explored what it says: single faults at every attempt reached, pairs, ambiguous sends attributed to windows', () => {
    const singles = exploration.results.filter((r) => r.combo.length === 1);
    const pairs = exploration.results.filter((r) => r.combo.length === 2);
    expect(singles).toHaveLength(exploration.singleSpace);
    expect(pairs).toHaveLength(40);
    expect(new Set(singles.map((r) => r.combo[0]?.attempt))).toEqual(new Set([1, '*']));
    // Sends stored without an answer leave extra copies: each one attributed to a named window.
    expect(exploration.results.some((r) => r.extraCopies.length > 0)).toBe(true);
  });
});
