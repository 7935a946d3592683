/** ops/dlq-search.ts: which DLQ messages are copies of a request (by attribute, else by body). */
import { describe, expect, it } from 'vitest';
import { bodyRequestId, namesRequest } from '../../../tools/ops/dlq-search.js';
import type { DlqMessage } from '../../../tools/ops/dlq-model.js';

const message = (body: string, attributes: Record<string, string> = {}): DlqMessage => ({
  queue: 'dispatch',
  messageId: 'm-1',
  receiptHandle: 'rh-1',
  body,
  attributes,
});

describe('bodyRequestId', () => {
  it('reads the request_id of any JSON object, valid request or not', () => {
    expect(bodyRequestId(JSON.stringify({ request_id: 'req-1', priority: 'urgent' }))).toBe('req-1');
  });

  it('names none for text that is not JSON, an array, or an object without a string request_id', () => {
    expect(bodyRequestId('this is not JSON')).toBeUndefined();
    expect(bodyRequestId(JSON.stringify(['req-1']))).toBeUndefined();
    expect(bodyRequestId(JSON.stringify({ request_id: 7 }))).toBeUndefined();
    expect(bodyRequestId('null')).toBeUndefined();
  });
});

describe('namesRequest', () => {
  it('matches by the request_id attribute first', () => {
    expect(namesRequest(message('{}', { request_id: 'req-1' }), 'req-1')).toBe('attribute');
  });

  it('matches by the body only when the message has no request_id attribute', () => {
    const body = JSON.stringify({ request_id: 'req-1' });
    expect(namesRequest(message(body), 'req-1')).toBe('body');
    // The attribute names another request: the body does not override it.
    expect(namesRequest(message(body, { request_id: 'req-2' }), 'req-1')).toBeUndefined();
  });

  it('matches nothing for another request', () => {
    expect(namesRequest(message(JSON.stringify({ request_id: 'req-2' })), 'req-1')).toBeUndefined();
  });
});
