import { describe, expect, it } from 'vitest';
import { executionOutputSchema, flattenOutcomes } from '../../core/outcomes.js';
import { claimRecord, drainRegions, envelope, executionInput, useLocalDispatch } from '../support/local-aws.js';

const local = useLocalDispatch();

describe('dispatch workflow, happy path', () => {
  it('puts each message in exactly one regional queue and marks its record DISPATCHED', async () => {
    const messages = Array.from({ length: 9 }, (_, i) => envelope(`req-happy-${i}`));
    const record = await local.runner.run(executionInput(messages));
    expect(record.error ?? null, record.cause).toBeNull();
    expect(record.status).toBe('SUCCEEDED');

    const output = executionOutputSchema.parse(record.output);
    const outcomes = flattenOutcomes(messages.map((m) => m.messageId), output);
    expect(outcomes.map((o) => o.outcome)).toEqual(messages.map(() => 'dispatched'));

    const queues = await drainRegions(local.aws);
    const delivered = Object.entries(queues).flatMap(([region, list]) =>
      list.map((m) => ({ region, requestId: m.MessageAttributes?.request_id?.StringValue, body: m.Body })),
    );
    expect(delivered).toHaveLength(messages.length);
    for (const message of messages) {
      const copies = delivered.filter((d) => d.requestId === message.requestId);
      expect(copies).toHaveLength(1);
      // Forwarded byte for byte, in the region the outcome names.
      expect(copies[0]?.body).toBe(message.body);
      const outcome = outcomes.find((o) => o.messageId === message.messageId);
      expect(copies[0]?.region).toBe(outcome?.region);
      const item = await claimRecord(local.aws, message.requestId);
      expect(item?.status?.S).toBe('DISPATCHED');
      expect(item?.region?.S).toBe(outcome?.region);
      expect(item?.leaseUntil).toBeUndefined();
    }
    // Nine messages on three empty equal regions: the policy counts each assignment before the next,
    // so a batch never piles onto one region (the exact split is random; see test/unit for seeded checks).
    expect(Object.values(queues).filter((list) => list.length > 0).length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...Object.values(queues).map((list) => list.length))).toBeLessThanOrEqual(6);
  });
});
