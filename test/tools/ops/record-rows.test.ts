/** ops/record-rows.ts: what `status` and the console say of a record in each state. */
import { describe, expect, it } from 'vitest';
import { statusRows } from '../../../tools/ops/record-rows.js';
import type { RequestRecord } from '../../../core/record.js';

const shown = (record: RequestRecord) => Object.fromEntries(statusRows(record).filter(([, v]) => v !== undefined));

describe('statusRows', () => {
  it('says a released claim will be taken over, and where its unanswered send went', () => {
    const rows = shown({ request_id: 'r', status: 'IN_PROGRESS', leaseUntil: 0, triedRegion: 'us-west-2', attempts: 1, expiresAt: 0 });
    expect(rows.status).toMatch(/released/);
    expect(rows['tried region']).toMatch(/^us-west-2 /);
    expect(rows['lease until']).toBeUndefined();
  });

  it('names the worker that holds or completed a dispatched request, and the copy it took', () => {
    const rows = shown({
      request_id: 'r',
      status: 'DISPATCHED',
      region: 'us-east-1',
      token: 't-1',
      tokens: ['t-0', 't-1'],
      acceptedBy: 'gpu-7',
      acceptedToken: 't-1',
      workStatus: 'COMPLETED',
      completedAt: 1_764_670_980,
    });
    expect(rows.worker).toBe('gpu-7 (COMPLETED, copy t-1)');
    expect(rows['tokens sent']).toBe('t-0, t-1');
    expect(rows['completed at']).toBe('2025-12-02T10:23:00.000Z');
  });

  it('shows why a request was dead-lettered', () => {
    expect(shown({ request_id: 'r', status: 'DEAD_LETTERED', reason: 'no region accepted the message' }).reason).toBe('no region accepted the message');
  });
});
