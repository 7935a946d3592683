/**
 * core/config.ts: the functions' record lifetime (IDEMPOTENCY_TTL_SECONDS) against the queues' retention
 * and the redrive window (docs/architecture.md, invariant 11). A record kept 7 days while the DLQs and the regional
 * queues keep messages 14 let a redrive on day 8 dispatch a completed request again.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../core/config.js';

const DAY = 86_400;
const QUEUES = JSON.stringify({ 'us-east-1': 'https://sqs.us-east-1.amazonaws.com/123456789012/q' });

const refusal = (env: Record<string, string>): string => {
  try {
    parseConfig({ REGION_QUEUES: QUEUES, ...env });
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the configuration to be refused');
};

describe('record lifetime in the functions config', () => {
  it('defaults to the longest queue retention (14 days) + a 7-day redrive window: 21 days, not 7', () => {
    const cfg = parseConfig({ REGION_QUEUES: QUEUES });
    expect(cfg.idempotencyTtlSeconds).toBe(21 * DAY);
    expect(cfg).toMatchObject({ redriveWindowSeconds: 7 * DAY });
  });

  it("refuses the original system's 7 days, naming both settings and the floor", () => {
    const message = refusal({ IDEMPOTENCY_TTL_SECONDS: String(7 * DAY) });
    expect(message).toMatch(/^\s*IDEMPOTENCY_TTL_SECONDS: /m);
    expect(message).toContain('REDRIVE_WINDOW_SECONDS');
    expect(message).toContain(String(21 * DAY));
  });

  it('takes the redrive window into the floor: a longer window needs a longer lifetime', () => {
    expect(parseConfig({ REGION_QUEUES: QUEUES, IDEMPOTENCY_TTL_SECONDS: String(30 * DAY), REDRIVE_WINDOW_SECONDS: String(16 * DAY) })).toMatchObject({
      idempotencyTtlSeconds: 30 * DAY,
      redriveWindowSeconds: 16 * DAY,
    });
    expect(refusal({ IDEMPOTENCY_TTL_SECONDS: String(30 * DAY), REDRIVE_WINDOW_SECONDS: String(16 * DAY + 1) })).toMatch(/IDEMPOTENCY_TTL_SECONDS/);
    // Exactly the floor is enough; a second less is not.
    expect(parseConfig({ REGION_QUEUES: QUEUES, IDEMPOTENCY_TTL_SECONDS: String(14 * DAY), REDRIVE_WINDOW_SECONDS: '0' }).idempotencyTtlSeconds).toBe(14 * DAY);
    expect(refusal({ IDEMPOTENCY_TTL_SECONDS: String(14 * DAY - 1), REDRIVE_WINDOW_SECONDS: '0' })).toMatch(/IDEMPOTENCY_TTL_SECONDS/);
  });

  it('refuses a redrive window that is not a whole number of seconds >= 0', () => {
    expect(refusal({ REDRIVE_WINDOW_SECONDS: '-1' })).toMatch(/^\s*REDRIVE_WINDOW_SECONDS: /m);
    expect(refusal({ REDRIVE_WINDOW_SECONDS: 'a week' })).toMatch(/^\s*REDRIVE_WINDOW_SECONDS: /m);
  });
});
