/**
 * Combinations of faults: one fault is a Task state, the item it works on (a Map iteration's message,
 * `-` for a state that holds the whole batch or branch), the attempt (1 = the first try, `*` = every
 * attempt) and a fault kind. A combination's id is its text, so any run can be replayed by id.
 */
import { z } from 'zod';
import { FAULT_IDS, kindsFor, type FaultId, type PointRole } from './faults.js';
import { mulberry32 } from '../local/faults/prng.js';

export interface Fault {
  readonly state: string;
  readonly item: string;
  readonly attempt: number | '*';
  readonly kind: FaultId;
  /** Which delivery of the batch it hits: 0, the first (absent), or 1, the next delivery. */
  readonly delivery?: number;
}
export type Combination = readonly Fault[];

/** An attempt a run reached: where a later fault can go. */
export interface Point {
  readonly state: string;
  readonly item: string;
  readonly attempt: number;
  readonly role: PointRole;
  readonly maxAttempts: number;
  /** Order among the run's attempts (both deliveries). */
  readonly seq: number;
  readonly execution: number;
  /**
   * The region group of the Forward iteration the attempt ran in (its region, or the dead-letter-again
   * group), for states inside that Map: one state serves every region, so coverage counts per site.
   */
  readonly group?: string;
}

/** Where a point is, for coverage: its state, and its region group when the state serves every region. */
export const siteOf = (point: Pick<Point, 'state' | 'group'>) => (point.group === undefined ? point.state : `${point.state} @ ${point.group}`);

export const NO_FAULT = 'none';

const faultText = (f: Fault) => `${f.state}[${f.item}]#${f.attempt}=${f.kind}${f.delivery ? `@${f.delivery + 1}` : ''}`;

export function comboId(combo: Combination): string {
  return combo.length ? combo.map(faultText).join(' & ') : NO_FAULT;
}

const faultPattern = /^(.+)\[([^\]]+)\]#(\d+|\*)=([a-z0-9-]+)(?:@(\d+))?$/;
const kindSchema = z.enum(FAULT_IDS as [FaultId, ...FaultId[]]);

export function parseComboId(id: string): Combination {
  if (id.trim() === NO_FAULT) return [];
  return id.split(' & ').map((text) => {
    const match = faultPattern.exec(text.trim());
    if (!match) throw new Error(`not a fault: "${text}" (expected <state>[<item>]#<attempt|*>=<kind>[@<delivery>])`);
    const [, state, item, attempt, kind, delivery] = match as unknown as [string, string, string, string, string, string | undefined];
    const later = delivery === undefined ? 0 : Number(delivery) - 1;
    return { state, item, attempt: attempt === '*' ? '*' : Number(attempt), kind: kindSchema.parse(kind), ...(later > 0 ? { delivery: later } : {}) };
  });
}

/** The same faults in any order are one combination. */
export const comboKey = (combo: Combination) => combo.map(faultText).sort().join(' & ') || NO_FAULT;

/** The faults a reached point can take: each kind at that attempt, and at every attempt when it is a first try of a retried state. */
export function faultsAt(point: Point): Fault[] {
  const attempts: Array<number | '*'> = point.attempt === 1 && point.maxAttempts > 1 ? [1, '*'] : [point.attempt];
  const delivery = point.execution > 0 ? { delivery: point.execution } : {};
  return attempts.flatMap((attempt) => kindsFor(point.role).map((kind) => ({ state: point.state, item: point.item, attempt, kind, ...delivery })));
}

/** Does a fault cover this attempt? */
export const covers = (fault: Fault, state: string, item: string, attempt: number, delivery = 0) =>
  (fault.delivery ?? 0) === delivery && fault.state === state && fault.item === item && (fault.attempt === '*' || fault.attempt === attempt);

/** Every single fault at the points a fault-free run reached. */
export function singles(baseline: readonly Point[]): Combination[] {
  return baseline.filter((p) => p.execution === 0).flatMap((p) => faultsAt(p).map((f) => [f]));
}

/**
 * Pairs: the first fault, then each fault at a point its own run reached after it (in the same
 * execution), not at an attempt it already covers. Deduplicated across orders.
 */
export function pairs(runs: ReadonlyArray<{ readonly combo: Combination; readonly points: readonly Point[]; readonly firstFaultSeq?: number }>): Combination[] {
  const seen = new Set<string>();
  const out: Combination[] = [];
  for (const run of runs) {
    const [first] = run.combo;
    if (!first || run.combo.length !== 1 || run.firstFaultSeq === undefined) continue;
    for (const point of run.points) {
      if (point.execution !== 0 || point.seq <= run.firstFaultSeq) continue;
      if (covers(first, point.state, point.item, point.attempt)) continue;
      for (const second of faultsAt(point)) {
        const combo = [first, second];
        const key = comboKey(combo);
        if (seen.has(key)) continue;
        seen.add(key);
        out.push(combo);
      }
    }
  }
  return out;
}

/** A seeded sample of n, in a stable order (the same seed picks the same combinations). */
export function sample<T>(items: readonly T[], n: number, seed: number): T[] {
  if (n >= items.length) return [...items];
  const random = mulberry32(seed);
  const pool = [...items];
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [pool[i], pool[j]] = [pool[j] as T, pool[i] as T];
  }
  return pool.slice(0, n);
}

/** A seed from a text (FNV-1a): each combination draws its own random choices, the same on a replay. */
export function seedOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Both faults on one state and item: a retry meeting a second answer, where Catch sees only the last. */
export const isRetryPair = (combo: Combination) =>
  combo.length === 2 && combo[0]?.state === combo[1]?.state && combo[0]?.item === combo[1]?.item;

/**
 * The short form's sample: half from the retry pairs, half from the rest (each seeded), so a small
 * sample still meets the retries, which a uniform draw over thousands of pairs mostly misses.
 */
export function sampleStratified(combos: readonly Combination[], n: number, seed: number): Combination[] {
  const retry = combos.filter(isRetryPair);
  const rest = combos.filter((c) => !isRetryPair(c));
  const fromRetry = Math.min(retry.length, Math.max(n - rest.length, Math.ceil(n / 2)));
  return [...sample(retry, fromRetry, seed), ...sample(rest, n - fromRetry, seed + 1)];
}

/**
 * One fault more, only where no shallower combination could put one: at the points of states that only
 * runs of `level` faults reached (the dead-letter path needs a forward and a failover refused first; the
 * dead-letter-again branch runs only on the next delivery, after a dead-letter send without an answer).
 * Points of the next delivery count too: the added fault then hits that delivery. One run per such point
 * is enough to cover the state. `covered` holds sites (siteOf): a state inside the Forward map counts per
 * region group, as each region's own state did when the definition had one branch per region.
 */
export function frontier(
  runs: ReadonlyArray<{ readonly combo: Combination; readonly points: readonly Point[]; readonly firstFaultSeq?: number }>,
  covered: ReadonlySet<string>,
  level = 2,
): Combination[] {
  const seen = new Set<string>();
  const out: Combination[] = [];
  for (const run of runs) {
    if (run.combo.length !== level || run.firstFaultSeq === undefined) continue;
    for (const point of run.points) {
      if (point.seq <= run.firstFaultSeq || covered.has(siteOf(point))) continue;
      if (run.combo.some((f) => covers(f, point.state, point.item, point.attempt, point.execution))) continue;
      const where = `${point.state}\u0000${point.item}\u0000${point.attempt}\u0000${point.execution}`;
      if (seen.has(where)) continue;
      seen.add(where);
      for (const next of faultsAt(point)) out.push([...run.combo, next]);
    }
  }
  return out;
}
