/** Seedable randomness, so a policy's choices can be replayed in tests and simulations. */
export type Random = () => number;

/** mulberry32: small, fast, good enough for load spreading (not for secrets). */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Index drawn with probability proportional to weights[i]; weights must not all be zero. */
export function weightedIndex(weights: readonly number[], random: Random): number {
  const total = weights.reduce((sum, w) => sum + w, 0);
  let point = random() * total;
  for (let i = 0; i < weights.length; i++) {
    point -= weights[i] as number;
    if (point < 0) return i;
  }
  return weights.length - 1;
}
