/** Presence items (core/presence.ts): live and lapsed workers, what a renewal forgets, attribute names. */
import { describe, expect, it } from 'vitest';
import { countPresence, forgettable, leasesFromAttributes, PRESENCE, presenceAttribute, presenceKey, vanishedFleetBoundSeconds } from '../../core/presence.js';

const presence = (entries: Record<string, number>) => ({ region: 'us-west-2', leases: new Map(Object.entries(entries)) });

describe('presence', () => {
  it('counts a worker live until its lease ends, lapsed from then on', () => {
    const p = presence({ a: 1_000, b: 2_000, c: 500 });
    expect(countPresence(p, 999)).toEqual({ region: 'us-west-2', live: 2, lapsed: 1, liveUntil: 2_000 });
    expect(countPresence(p, 1_000)).toEqual({ region: 'us-west-2', live: 1, lapsed: 2, liveUntil: 2_000 });
    expect(countPresence(p, 2_000)).toEqual({ region: 'us-west-2', live: 0, lapsed: 3 });
  });

  it('forgets only entries past their lease by the forget delay', () => {
    const p = presence({ old: 0, recent: 100_000, live: 10_000_000 });
    const now = PRESENCE.forgetAfterSeconds * 1000 + 50_000;
    expect(forgettable(p, now)).toEqual(['old']);
  });

  it('reads w_ attributes as leases and ignores the rest; names refuse ids that are not worker ids', () => {
    expect([...leasesFromAttributes({ request_id: '#presence#us-east-1', w_gpu1: 5, w_gpu2: '7', w_bad: 'x', note: 3 })]).toEqual([
      ['gpu1', 5],
      ['gpu2', 7],
    ]);
    expect(presenceKey('us-east-1')).toBe('#presence#us-east-1');
    expect(presenceAttribute('i-0abc.gpu:1')).toBe('w_i-0abc.gpu:1');
    expect(() => presenceAttribute('a b')).toThrow(/workerId may hold only/);
    expect(() => presenceAttribute('')).toThrow(/must not be empty/);
  });

  it('bounds how long a vanished fleet can still be offered work: its lease, the cache, one window', () => {
    expect(vanishedFleetBoundSeconds(5, 20)).toBe(PRESENCE.leaseSeconds + 25);
    // A fleet whose item is billed 4 units: each lease 4 times as long.
    expect(vanishedFleetBoundSeconds(5, 20, 4)).toBe(4 * PRESENCE.leaseSeconds + 25);
  });
});
