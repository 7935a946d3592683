/** ops/dlq-search.ts: which DLQ messages are copies of a request (by attribute, else by body). */
import { describe, expect, it } from 'vitest';
import { bodyRequestId, namesRequest } from '../../../tools/ops/dlq-search.js';
import { readDlqMessage, type DlqMessage } from '../../../tools/ops/dlq-model.js';

/** A DLQ message as read from SQS (readDlqMessage: the one place a message's request_id is read). */
const message = (body: string, attributes: Record<string, string> = {}): DlqMessage =>
  readDlqMessage('dispatch', {
    MessageId: 'm-1',
    ReceiptHandle: 'rh-1',
    Body: body,
    MessageAttributes: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }])),
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

  it('names none for a request_id that breaks the request_id rules (the console and `status` refuse it too)', () => {
    expect(bodyRequestId(JSON.stringify({ request_id: 'bad id!' }))).toBeUndefined();
    expect(bodyRequestId(JSON.stringify({ request_id: '' }))).toBeUndefined();
    expect(bodyRequestId(JSON.stringify({ request_id: 'x'.repeat(129) }))).toBeUndefined();
    expect(bodyRequestId(JSON.stringify({ request_id: 'req:1_a.b-c' }))).toBe('req:1_a.b-c');
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
