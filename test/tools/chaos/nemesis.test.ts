/**
 * The combined nemesis's draw (tools/chaos/nemesis.ts): two or three faults per run, never two on the same
 * target, the same mix from the same seed, and every kind of the catalogue reachable.
 */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../core/random.js';
import { CATALOGUE, drawMix } from '../../../tools/chaos/nemesis.js';

const names = (seed: number) => drawMix(seededRandom(seed)).map((f) => f.name);
const SEEDS = Array.from({ length: 300 }, (_, i) => i + 1);

describe('drawMix', () => {
  it('draws two or three faults, and both counts happen', () => {
    const sizes = new Set(SEEDS.map((seed) => names(seed).length));
    expect([...sizes].sort()).toEqual([2, 3]);
  });

  it('never draws two faults that take over the same target', () => {
    for (const seed of SEEDS) {
      const targets = drawMix(seededRandom(seed)).flatMap((f) => f.targets);
      expect(new Set(targets).size, `seed ${seed}: ${names(seed).join(' + ')}`).toBe(targets.length);
    }
  });

  it('gives the same mix for the same seed, and other mixes for other seeds', () => {
    expect(names(7)).toEqual(names(7));
    expect(new Set(SEEDS.map((seed) => names(seed).join(' + '))).size).toBeGreaterThan(50);
  });

  it('reaches every kind of the catalogue, each remote region for the regional ones', () => {
    const drawn = new Set(SEEDS.flatMap(names));
    for (const kind of CATALOGUE) {
      const made = kind.regional ? ['us-west-2', 'us-west-1'].map((r) => kind.make(r).name) : [kind.make('').name];
      for (const name of made) expect(drawn, `${kind.kind}: ${name}`).toContain(name);
    }
  });
});
