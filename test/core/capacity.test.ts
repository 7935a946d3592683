/** The capacity a region is weighed by (core/capacity.ts): a setting wins, else the queue's estimate, else the configured number. */
import { describe, expect, it } from 'vitest';
import { capacitySettingSchema, effectiveCapacity, MAX_CAPACITY, settingsByRegion, type CapacitySetting } from '../../core/capacity.js';
import { capacityKey, regionHealthKey } from '../../core/record.js';

const setting = (capacity: number, region = 'us-west-2'): CapacitySetting => ({ region, capacity, setAt: 1_700_000_000_000, setBy: 'ops' });

describe('effectiveCapacity', () => {
  it('takes a set value over everything, even below what is in flight, and 0 (drained) as given', () => {
    expect(effectiveCapacity({ configured: 2, setting: setting(8) })).toEqual({ capacity: 8, source: 'set' });
    expect(effectiveCapacity({ configured: 2, setting: setting(1), inFlight: 6, waiting: 40 })).toEqual({ capacity: 1, source: 'set' });
    expect(effectiveCapacity({ configured: 2, setting: setting(0), inFlight: 3, waiting: 5 })).toEqual({ capacity: 0, source: 'set' });
  });

  it('estimates from in flight when the region has a backlog and more in flight than configured', () => {
    expect(effectiveCapacity({ configured: 2, inFlight: 5, waiting: 1 })).toEqual({ capacity: 5, source: 'estimated' });
  });

  it('keeps the configured number as the floor: in flight at or below it, even with a backlog', () => {
    expect(effectiveCapacity({ configured: 4, inFlight: 4, waiting: 30 })).toEqual({ capacity: 4, source: 'configured' });
    expect(effectiveCapacity({ configured: 4, inFlight: 1, waiting: 30 })).toEqual({ capacity: 4, source: 'configured' });
  });

  it('does not estimate without a backlog: in flight then says only how busy the workers are, not how many there are', () => {
    expect(effectiveCapacity({ configured: 1, inFlight: 7, waiting: 0 })).toEqual({ capacity: 1, source: 'configured' });
  });

  it('falls back to the configured number without a reading, or with one that failed (NaN)', () => {
    expect(effectiveCapacity({ configured: 3 })).toEqual({ capacity: 3, source: 'configured' });
    expect(effectiveCapacity({ configured: 3, inFlight: Number.NaN, waiting: Number.NaN })).toEqual({ capacity: 3, source: 'configured' });
    expect(effectiveCapacity({ configured: 3, inFlight: 9, waiting: Number.NaN })).toEqual({ capacity: 3, source: 'configured' });
    expect(effectiveCapacity({ configured: 3, inFlight: 9 })).toEqual({ capacity: 3, source: 'configured' });
  });

  it('keeps a fractional configured capacity (the config allows any number > 0)', () => {
    expect(effectiveCapacity({ configured: 0.5, inFlight: 1, waiting: 2 })).toEqual({ capacity: 1, source: 'estimated' });
    expect(effectiveCapacity({ configured: 0.5, inFlight: 0, waiting: 2 })).toEqual({ capacity: 0.5, source: 'configured' });
  });
});

describe('capacitySettingSchema', () => {
  it('accepts a whole number from 0 to the maximum', () => {
    expect(capacitySettingSchema.parse(setting(0)).capacity).toBe(0);
    expect(capacitySettingSchema.parse(setting(MAX_CAPACITY)).capacity).toBe(MAX_CAPACITY);
  });

  it.each([
    [{ ...setting(1), capacity: -1 }, /capacity must be >= 0/],
    [{ ...setting(1), capacity: 1.5 }, /capacity must be a whole number/],
    [{ ...setting(1), capacity: MAX_CAPACITY + 1 }, /capacity must be <=/],
    [{ ...setting(1), capacity: '3' }, /capacity must be a number/],
    [{ ...setting(1), setBy: '' }, /setBy must not be empty/],
    [{ ...setting(1), region: '' }, /region must not be empty/],
    [{ region: 'us-west-2', capacity: 1, setBy: 'ops' }, /setAt/],
  ])('refuses %j', (value, message) => {
    const result = capacitySettingSchema.safeParse(value);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')).toMatch(message);
  });
});

describe('keys and lookup', () => {
  it('keeps capacity items apart from health items and from any request_id', () => {
    expect(capacityKey('us-west-2')).toBe('#capacity#us-west-2');
    expect(capacityKey('us-west-2')).not.toBe(regionHealthKey('us-west-2'));
  });

  it('finds each region its setting', () => {
    const byRegion = settingsByRegion([setting(3, 'us-east-1'), setting(0, 'us-west-1')]);
    expect(byRegion.get('us-east-1')?.capacity).toBe(3);
    expect(byRegion.get('us-west-1')?.capacity).toBe(0);
    expect(byRegion.has('us-west-2')).toBe(false);
  });
});
