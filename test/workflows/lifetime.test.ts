/**
 * The record lifetime by construction (docs/architecture.md, invariant 11): derived from the retention of every queue
 * that can hold a copy plus the redrive window, and a configured lifetime below that refused, naming the
 * settings (workflows/lifetime.ts; core/topology.ts holds the numbers).
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RECORD_LIFETIME_SECONDS,
  LONGEST_RETENTION_SECONDS,
  RECORD_LIFETIME_SETTINGS,
  REDRIVE_WINDOW_SECONDS,
  RETENTION,
  recordLifetimeFloor,
  SQS_MAX_RETENTION_SECONDS,
  TIMEOUTS,
} from '../../core/topology.js';
import { RECORD_TTL_SECONDS } from '../../worker/fence.js';
import { assertRecordLifetime, RecordLifetimeError, recordLifetimeViolations, resolveRecordLifetime, type QueueRetention } from '../../workflows/lifetime.js';

const DAY = 86_400;
const QUEUES: QueueRetention[] = [
  { queue: 'master', seconds: 4 * DAY },
  { queue: 'dispatch-dlq', seconds: 14 * DAY },
  { queue: 'regional-us-west-2', seconds: 10 * DAY },
];

describe('the lifetime settings (core/topology.ts)', () => {
  it('every queue kind that can hold a copy has a retention, none above the SQS maximum', () => {
    expect(Object.keys(RETENTION).sort()).toEqual(['deadLetterSeconds', 'masterSeconds', 'regionalSeconds']);
    expect(RETENTION.regionalSeconds).toBe(TIMEOUTS.regionalRetentionSeconds);
    for (const seconds of Object.values(RETENTION)) expect(seconds).toBeLessThanOrEqual(SQS_MAX_RETENTION_SECONDS);
    expect(LONGEST_RETENTION_SECONDS).toBe(14 * DAY);
  });

  it('the default lifetime is the longest retention + the 7-day redrive window: 21 days (the original said 7)', () => {
    expect(REDRIVE_WINDOW_SECONDS).toBe(7 * DAY);
    expect(DEFAULT_RECORD_LIFETIME_SECONDS).toBe(21 * DAY);
    expect(DEFAULT_RECORD_LIFETIME_SECONDS).toBe(recordLifetimeFloor(Object.values(RETENTION), REDRIVE_WINDOW_SECONDS));
  });

  it('the floor is the longest retention plus the window, whatever the order', () => {
    expect(recordLifetimeFloor([4 * DAY, 14 * DAY, 10 * DAY], 7 * DAY)).toBe(21 * DAY);
    expect(recordLifetimeFloor([10 * DAY, 4 * DAY], 0)).toBe(10 * DAY);
    expect(() => recordLifetimeFloor([], 0)).toThrow(/at least one queue/);
  });

  it('the worker fence writes the same default lifetime on acceptance (it must not shorten the claim\'s)', () => {
    expect(RECORD_TTL_SECONDS).toBe(DEFAULT_RECORD_LIFETIME_SECONDS);
  });
});

describe('the check (workflows/lifetime.ts)', () => {
  it('holds when the lifetime covers the longest retention plus the window', () => {
    expect(recordLifetimeViolations({ recordLifetimeSeconds: 21 * DAY, redriveWindowSeconds: 7 * DAY, retentions: QUEUES })).toEqual([]);
    expect(() => assertRecordLifetime({ recordLifetimeSeconds: 21 * DAY, redriveWindowSeconds: 7 * DAY, retentions: QUEUES })).not.toThrow();
  });

  it('refuses 7 days against 14-day queues, naming the settings, the longest queue and the floor', () => {
    const input = { recordLifetimeSeconds: 7 * DAY, redriveWindowSeconds: 7 * DAY, retentions: QUEUES };
    const [violation, ...rest] = recordLifetimeViolations(input);
    expect(rest).toEqual([]);
    expect(violation).toContain(RECORD_LIFETIME_SETTINGS.recordLifetime);
    expect(violation).toContain(RECORD_LIFETIME_SETTINGS.redriveWindow);
    expect(violation).toContain('dispatch-dlq');
    expect(violation).toContain(`${21 * DAY} s`);
    expect(() => assertRecordLifetime(input)).toThrow(RecordLifetimeError);
    expect(() => assertRecordLifetime(input)).toThrow(/IDEMPOTENCY_TTL_SECONDS/);
  });

  it('uses the setting names it is given (the deployment names its own variables)', () => {
    const names = { recordLifetime: 'DISPATCH_IDEMPOTENCY_TTL_SECONDS', redriveWindow: 'DISPATCH_REDRIVE_WINDOW_SECONDS' };
    const [violation] = recordLifetimeViolations({ recordLifetimeSeconds: DAY, redriveWindowSeconds: 0, retentions: QUEUES, names });
    expect(violation).toMatch(/DISPATCH_IDEMPOTENCY_TTL_SECONDS.*DISPATCH_REDRIVE_WINDOW_SECONDS/);
  });

  it('one second short is refused; a queue kept longer than SQS allows is refused too', () => {
    expect(recordLifetimeViolations({ recordLifetimeSeconds: 21 * DAY - 1, redriveWindowSeconds: 7 * DAY, retentions: QUEUES })).toHaveLength(1);
    const tooLong = recordLifetimeViolations({ recordLifetimeSeconds: 60 * DAY, redriveWindowSeconds: 0, retentions: [{ queue: 'q', seconds: 15 * DAY }] });
    expect(tooLong.join('\n')).toMatch(/q.*SQS/);
  });

  it('derives the lifetime when none is configured, and checks one that is', () => {
    expect(resolveRecordLifetime({ redriveWindowSeconds: 7 * DAY, retentions: QUEUES })).toBe(21 * DAY);
    expect(resolveRecordLifetime({ redriveWindowSeconds: 30 * DAY, retentions: QUEUES })).toBe(44 * DAY);
    expect(resolveRecordLifetime({ recordLifetimeSeconds: 90 * DAY, redriveWindowSeconds: 7 * DAY, retentions: QUEUES })).toBe(90 * DAY);
    expect(() => resolveRecordLifetime({ recordLifetimeSeconds: 7 * DAY, redriveWindowSeconds: 7 * DAY, retentions: QUEUES })).toThrow(RecordLifetimeError);
  });
});
