/**
 * Capacity that follows a fleet that reports itself (core/capacity.ts, core/presence.ts): between an
 * explicit setting and the estimate, a region whose presence item exists is weighed by its live
 * workers; one whose item holds no live entry takes no new work while another region has capacity; a
 * region without an item is weighed as before presence.
 */
import { describe, expect, it } from 'vitest';
import { effectiveCapacity, presentWorkersSchema, type CapacitySetting } from '../../core/capacity.js';
import type { RegionQueue } from '../../core/config.js';
import type { Envelope, SelectInput } from '../../core/placement.js';
import { leastWait } from '../../core/policy.js';
import { countPresence } from '../../core/presence.js';
import { seededRandom } from '../../core/random.js';
import { selectRegions, weighedRegions } from '../../core/select.js';
import { snapshotSchema, type Snapshot } from '../../core/snapshot.js';

const setting = (capacity: number, region = 'us-west-2'): CapacitySetting => ({ region, capacity, setAt: 1_700_000_000_000, setBy: 'ops' });

describe('effectiveCapacity with presence', () => {
  it('weighs a reporting region by its live workers (source present), above the estimate and the configured number', () => {
    expect(effectiveCapacity({ configured: 2, presence: { live: 5 } })).toEqual({ capacity: 5, source: 'present' });
    // Fewer live workers than configured: the fleet's own count, not the configured floor.
    expect(effectiveCapacity({ configured: 4, presence: { live: 1 } })).toEqual({ capacity: 1, source: 'present' });
    // A backlog does not raise it to what is in flight: the fleet said how many it is.
    expect(effectiveCapacity({ configured: 2, presence: { live: 3 }, inFlight: 9, waiting: 20 })).toEqual({ capacity: 3, source: 'present' });
  });

  it('gives 0 to a reporting fleet with no live worker left (it vanished)', () => {
    expect(effectiveCapacity({ configured: 4, presence: { live: 0 }, inFlight: 2, waiting: 50 })).toEqual({ capacity: 0, source: 'present' });
  });

  it('lets an explicit setting win over presence', () => {
    expect(effectiveCapacity({ configured: 2, setting: setting(7), presence: { live: 0 } })).toEqual({ capacity: 7, source: 'set' });
    expect(effectiveCapacity({ configured: 2, setting: setting(0), presence: { live: 9 } })).toEqual({ capacity: 0, source: 'set' });
  });

  it('changes nothing for a fleet that does not report (no presence item)', () => {
    expect(effectiveCapacity({ configured: 2, inFlight: 5, waiting: 1 })).toEqual({ capacity: 5, source: 'estimated' });
    expect(effectiveCapacity({ configured: 2, presence: undefined })).toEqual({ capacity: 2, source: 'configured' });
  });

  it('takes countPresence as it is (the snapshot carries its answer)', () => {
    const now = 1_800_000_000_000;
    const count = countPresence({ region: 'us-west-1', leases: new Map([['a', now + 1], ['b', now], ['c', now - 5]]) }, now);
    expect(presentWorkersSchema.parse(count)).toEqual({ region: 'us-west-1', live: 1, lapsed: 2, liveUntil: now + 1 });
    expect(effectiveCapacity({ configured: 3, presence: count })).toEqual({ capacity: 1, source: 'present' });
  });
});

const REGIONS: RegionQueue[] = [
  { region: 'us-east-1', queueUrl: 'https://sqs.us-east-1.amazonaws.com/1/q-east-1', capacity: 1 },
  { region: 'us-west-2', queueUrl: 'https://sqs.us-west-2.amazonaws.com/1/q-west-2', capacity: 2 },
  { region: 'us-west-1', queueUrl: 'https://sqs.us-west-1.amazonaws.com/1/q-west-1', capacity: 4 },
];
const idle = (extra: Partial<Snapshot> = {}): Snapshot => ({
  readings: REGIONS.map(({ region }) => ({ region, known: true as const, visible: 0, inFlight: 0, delayed: 0, readAt: 1_800_000_000_000 })),
  health: [],
  ...extra,
});
const present = (region: string, live: number, lapsed = 0) => ({ region, live, lapsed });

describe('weighedRegions with presence', () => {
  it('weighs reporting regions by their live workers and the others as configured', () => {
    const weighed = weighedRegions(REGIONS, idle({ presence: [present('us-west-1', 1, 3), present('us-east-1', 6)] }));
    expect(weighed.map((r) => [r.region, r.capacity])).toEqual([
      ['us-east-1', 6],
      ['us-west-2', 2],
      ['us-west-1', 1],
    ]);
  });

  it('leaves out a region whose fleet vanished (an item with no live entry) while another has capacity', () => {
    const weighed = weighedRegions(REGIONS, idle({ presence: [present('us-west-1', 0, 4)] }));
    expect(weighed.map((r) => r.region)).toEqual(['us-east-1', 'us-west-2']);
  });

  it('lets a setting bring a vanished fleet back, and drain a live one', () => {
    const weighed = weighedRegions(REGIONS, idle({ presence: [present('us-west-1', 0, 4), present('us-east-1', 3)], capacities: [setting(2, 'us-west-1'), setting(0, 'us-east-1')] }));
    expect(weighed.map((r) => [r.region, r.capacity])).toEqual([
      ['us-west-2', 2],
      ['us-west-1', 2],
    ]);
  });

  it('weighs every region as configured when every fleet vanished: dispatch never stops for presence', () => {
    const weighed = weighedRegions(REGIONS, idle({ presence: REGIONS.map((r) => present(r.region, 0, 1)) }));
    expect(weighed).toEqual(REGIONS);
  });
});

describe('selectRegions with a vanished fleet', () => {
  const messages: Envelope[] = Array.from({ length: 30 }, (_, n) => ({
    messageId: `msg-${n}`,
    requestId: `req-${n}`,
    body: JSON.stringify({ request_id: `req-${n}`, model_name: 'm', input_data_url: 's3://b/k' }),
    priority: 'normal',
  }));
  const input = (snapshot: Snapshot): SelectInput => ({
    batchId: 'b1',
    executionName: 'b1',
    messages,
    claims: messages.map((m) => ({ messageId: m.messageId, claim: 'claimed' as const })),
    snapshot,
  });
  const placed = (snapshot: Snapshot) => {
    const { assignments } = selectRegions(input(snapshot), { regions: REGIONS, maxQueueDepthThreshold: 5000, policy: leastWait, random: seededRandom(7) });
    return Object.fromEntries(Object.entries(assignments).map(([key, list]) => [key, list.length]));
  };

  it('places nothing in it, and everything elsewhere', () => {
    const counts = placed(idle({ presence: REGIONS.map((r) => present(r.region, r.region === 'us-west-1' ? 0 : 2, 1)) }));
    expect(counts.us_west_1).toBe(0);
    expect((counts.us_east_1 ?? 0) + (counts.us_west_2 ?? 0)).toBe(30);
  });

  it('still places there once its workers are back', () => {
    const counts = placed(idle({ presence: REGIONS.map((r) => present(r.region, 2)) }));
    expect(counts.us_west_1).toBeGreaterThan(0);
  });

  it('survives the snapshot schema (the select step parses its input: presence is not stripped)', () => {
    const snapshot = idle({ presence: [present('us-west-1', 0, 4)] });
    expect(snapshotSchema.parse(snapshot).presence).toEqual([{ region: 'us-west-1', live: 0, lapsed: 4 }]);
    expect(snapshotSchema.parse(idle()).presence).toBeUndefined();
  });
});
