/** aws/intake-dead-letters.ts: the DLQ copy of an invalid message fits its DLQ's limit and carries a reason SQS takes. */
import { describe, expect, it } from 'vitest';
import { deadLetterCopy, FALLBACK_LIMIT_BYTES, REASON_ATTRIBUTE_BYTES, SQS_MESSAGE_LIMIT_BYTES } from '../../aws/intake-dead-letters.js';
import { isSqsText } from '../../core/sqs-text.js';
import { intakeDeadLetterKey } from '../../core/record.js';

const sqsSize = (m: { body: string; attributes: Record<string, string> }) =>
  Buffer.byteLength(m.body) + Object.entries(m.attributes).reduce((n, [k, v]) => n + Buffer.byteLength(k) + 6 + Buffer.byteLength(v), 0);

const invalid = (bodyBytes: number, reason = 'invalid request: body is not JSON') => ({
  messageId: 'm-1',
  body: 'x'.repeat(bodyBytes),
  reason,
  receiveCount: 1,
});

describe('deadLetterCopy', () => {
  it('carries the reason and the source when they fit, the body untouched', () => {
    const copy = deadLetterCopy(invalid(1000), 'b-1');
    expect(copy.body).toBe('x'.repeat(1000));
    expect(copy.attributes).toEqual({ reason: 'invalid request: body is not JSON', source_message_id: 'm-1', receive_count: '1', batch_id: 'b-1' });
  });

  it('cuts a long reason to what an attribute keeps', () => {
    const copy = deadLetterCopy(invalid(10, 'r'.repeat(5000)), 'b-1');
    expect(Buffer.byteLength(copy.attributes.reason as string)).toBeLessThanOrEqual(REASON_ATTRIBUTE_BYTES);
    expect(copy.attributes.reason).toMatch(/\.\.\.$/);
  });

  it('points to the table for the reason when the body leaves too little room for it', () => {
    const copy = deadLetterCopy(invalid(SQS_MESSAGE_LIMIT_BYTES - 600, 'r'.repeat(1000)), 'b-1');
    expect(copy.attributes.reason).toContain(intakeDeadLetterKey('m-1'));
    expect(sqsSize(copy)).toBeLessThanOrEqual(SQS_MESSAGE_LIMIT_BYTES);
  });

  it('sends the body alone when it fills the limit by itself', () => {
    const copy = deadLetterCopy(invalid(SQS_MESSAGE_LIMIT_BYTES - 10), 'b-1');
    expect(copy.attributes).toEqual({});
    expect(sqsSize(copy)).toBeLessThanOrEqual(SQS_MESSAGE_LIMIT_BYTES);
  });

  it("sizes the copy against the DLQ's own limit, not 1 MiB", () => {
    const message = invalid(FALLBACK_LIMIT_BYTES - 600, 'r'.repeat(1000));
    expect(deadLetterCopy(message, 'b-1').attributes.reason).toBe('r'.repeat(1000));
    const copy = deadLetterCopy(message, 'b-1', FALLBACK_LIMIT_BYTES);
    expect(copy.attributes.reason).toContain(intakeDeadLetterKey('m-1'));
    expect(sqsSize(copy)).toBeLessThanOrEqual(FALLBACK_LIMIT_BYTES);
    expect(deadLetterCopy(invalid(FALLBACK_LIMIT_BYTES - 10), 'b-1', FALLBACK_LIMIT_BYTES).attributes).toEqual({});
  });

  it('carries a reason SQS takes, cut on a character boundary, when the reason quotes half an emoji', () => {
    expect(deadLetterCopy(invalid(10, "invalid request: body is not JSON: Unexpected token '\uD83D'"), 'b-1').attributes.reason).toBe(
      "invalid request: body is not JSON: Unexpected token '\uFFFD'",
    );
    const long = deadLetterCopy(invalid(10, `${'r'.repeat(REASON_ATTRIBUTE_BYTES - 5)}😀😀`), 'b-1').attributes.reason as string;
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(REASON_ATTRIBUTE_BYTES);
    expect(isSqsText(long)).toBe(true);
  });
});
