/** functions/intake.ts, its pure parts: triage of SQS records, and outcomes -> settled results for the middleware. */
import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { MAX_PAYLOAD_BYTES } from '../../core/batching.js';
import type { Outcome } from '../../core/outcomes.js';
import { toSettled, triage } from '../../functions/intake.js';

const record = (messageId: string, body: string): SQSRecord => ({
  messageId,
  receiptHandle: `rh-${messageId}`,
  body,
  attributes: {
    ApproximateReceiveCount: '1',
    SentTimestamp: '1764670980000',
    SenderId: 'AIDAEXAMPLE',
    ApproximateFirstReceiveTimestamp: '1764670980100',
  },
  messageAttributes: {},
  md5OfBody: 'md5',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:inference-dispatch-master-queue-dev',
  awsRegion: 'us-east-1',
});

const request = (requestId: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ request_id: requestId, model_name: 'gpt-l-7b', input_data_url: 's3://bucket/in.json', ...extra });

describe('triage', () => {
  it('turns valid records into envelopes: message id, request id, the body byte for byte, priority (default normal)', () => {
    // Odd spacing and an unknown field: the body must be forwarded as received, not re-serialised.
    const spaced = `{ "request_id" : "req-2",  "model_name":"m", "input_data_url":"https://h/x", "priority":"high", "tenant":"acme" }`;
    const { valid, invalid } = triage([record('m-1', request('req-1')), record('m-2', spaced)]);
    expect(invalid).toEqual([]);
    expect(valid).toEqual([
      { messageId: 'm-1', requestId: 'req-1', body: request('req-1'), priority: 'normal' },
      { messageId: 'm-2', requestId: 'req-2', body: spaced, priority: 'high' },
    ]);
  });

  it('rejects a body that is not JSON, with the reason', () => {
    const bad = record('m-1', '{"request_id": "req-1",');
    const { valid, invalid } = triage([bad]);
    expect(valid).toEqual([]);
    expect(invalid).toHaveLength(1);
    expect(invalid[0]?.record).toBe(bad);
    expect(invalid[0]?.reason).toMatch(/^invalid request: body is not JSON/);
  });

  it('rejects a schema violation with a reason naming the fields', () => {
    const { invalid } = triage([record('m-1', JSON.stringify({ request_id: 'bad id', priority: 'urgent' }))]);
    const reason = invalid[0]?.reason ?? '';
    expect(reason).toMatch(/^invalid request: /);
    for (const field of ['request_id', 'model_name', 'input_data_url', 'priority']) expect(reason).toContain(field);
  });

  it('rejects non-object JSON', () => {
    const { invalid } = triage([record('m-1', '[1,2,3]'), record('m-2', 'null')]);
    expect(invalid.map((i) => i.reason)).toEqual(['invalid request: body must be a JSON object', 'invalid request: body must be a JSON object']);
  });

  it('rejects a valid request too large for the workflow payload, saying so', () => {
    const big = record('m-1', request('req-1', { blob: 'x'.repeat(250 * 1024) }));
    const { valid, invalid } = triage([big]);
    expect(valid).toEqual([]);
    expect(invalid[0]?.record).toBe(big);
    expect(invalid[0]?.reason).toMatch(/too large/);
    // It names the budget actually applied, and why it is under the 256 KiB limit.
    expect(invalid[0]?.reason).toContain('the budget is 245760 bytes (240 KiB): the 256 KiB Step Functions payload limit less 16 KiB');
  });

  it('rejects a body under 256 KiB whose escaped form does not fit the workflow payload', () => {
    // 70 000 escaped quotes: 140 KB as received, about 280 KB once carried as a JSON string.
    const body = request('req-1', { quotes: '"'.repeat(70_000) });
    expect(Buffer.byteLength(body)).toBeLessThan(MAX_PAYLOAD_BYTES);
    expect(triage([record('m-1', body)]).invalid[0]?.reason).toMatch(/too large/);
  });

  it('accepts a large request that still fits', () => {
    const { valid } = triage([record('m-1', request('req-1', { blob: 'x'.repeat(150 * 1024) }))]);
    expect(valid.map((v) => v.messageId)).toEqual(['m-1']);
  });

  it('sorts a mixed batch without losing or reordering any record', () => {
    const records = [
      record('m-1', request('req-1')),
      record('m-2', 'nope'),
      record('m-3', request('req-3', { priority: 'low' })),
      record('m-4', request('req-4', { blob: 'x'.repeat(260 * 1024) })),
      record('m-5', request('req-1')),
    ];
    const { valid, invalid } = triage(records);
    expect(valid.map((v) => v.messageId)).toEqual(['m-1', 'm-3', 'm-5']);
    expect(invalid.map((i) => i.record.messageId)).toEqual(['m-2', 'm-4']);
    // A repeated request_id is still valid here; the batch-level dedup comes later.
    expect(valid.map((v) => v.requestId)).toEqual(['req-1', 'req-3', 'req-1']);
    expect(valid[1]?.priority).toBe('low');
  });

  it('returns nothing for no records', () => {
    expect(triage([])).toEqual({ valid: [], invalid: [] });
  });
});

describe('toSettled', () => {
  it('fulfils done outcomes and rejects retries with their reason, one per outcome, in order', () => {
    const outcomes: Outcome[] = [
      { messageId: 'a', outcome: 'dispatched', region: 'us-west-2' },
      { messageId: 'b', outcome: 'retry', reason: 'claim busy' },
      { messageId: 'c', outcome: 'duplicate', reason: 'duplicate request_id' },
      { messageId: 'd', outcome: 'dead-lettered', reason: 'invalid request: body is not JSON' },
    ];
    const settled = toSettled(outcomes);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(settled[0]).toEqual({ status: 'fulfilled', value: outcomes[0] });
    const rejected = settled[1] as PromiseRejectedResult;
    expect(rejected.reason).toBeInstanceOf(Error);
    expect((rejected.reason as Error).message).toBe('claim busy');
    expect(toSettled([])).toEqual([]);
  });
});
