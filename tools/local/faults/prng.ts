/**
 * A small seeded PRNG, so that a rule with a probability fires on the same requests in every run
 * (Math.random would make a failing chaos run impossible to replay).
 */

/** mulberry32: 32-bit state, uniform in [0, 1). Good enough for fault draws, not for cryptography. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Derives a rule's own seed from the proxy's seed and the rule's ordinal, so rules draw independently. */
export function deriveSeed(base: number, ordinal: number): number {
  return (Math.imul(base >>> 0, 0x9e3779b1) + Math.imul(ordinal + 1, 0x85ebca6b)) >>> 0;
}
