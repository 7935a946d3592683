/** core/request.ts: the inference request schema (the original system's "Message format"), parsed from a raw SQS body. */
import { describe, expect, it } from 'vitest';
import { parseRequest, type ParseResult } from '../../core/request.js';

/** The seed's example message, verbatim apart from a concrete request id. */
const SEED_EXAMPLE = {
  request_id: 'req-3f2a9c1e-8b7d-4e6f-a1b2-c3d4e5f60718',
  model_name: 'gpt-l-7b',
  input_data_url: 's3://bucket/inputs/file.json',
  callback_sns_topic: 'arn:aws:sns:us-east-1:123456789012:results',
  priority: 'high',
  timestamp: '2025-12-02T10:23:00Z',
  metadata: { user_id: 'user123', session_id: 'session456' },
};

const MINIMAL = { request_id: 'req-1', model_name: 'gpt-l-7b', input_data_url: 's3://bucket/in.json' };

const parse = (value: unknown) => parseRequest(JSON.stringify(value));

function reasonOf(result: ParseResult): string {
  if (result.ok) throw new Error(`expected a rejection, got ${JSON.stringify(result.request)}`);
  return result.reason;
}

function requestOf(result: ParseResult) {
  if (!result.ok) throw new Error(`expected a valid request, got: ${result.reason}`);
  return result.request;
}

describe('parseRequest: valid requests', () => {
  it("accepts the seed's example message unchanged", () => {
    expect(requestOf(parse(SEED_EXAMPLE))).toEqual(SEED_EXAMPLE);
  });

  it('needs only request_id, model_name and input_data_url; priority defaults to normal', () => {
    const request = requestOf(parse(MINIMAL));
    expect(request.priority).toBe('normal');
    expect(request).toEqual({ ...MINIMAL, priority: 'normal' });
  });

  it.each(['high', 'normal', 'low'] as const)('keeps priority %s', (priority) => {
    expect(requestOf(parse({ ...MINIMAL, priority })).priority).toBe(priority);
  });

  it('keeps unknown fields, nested ones included', () => {
    const request = requestOf(parse({ ...MINIMAL, tenant: 'acme', options: { temperature: 0.2, stop: ['\n'] } }));
    expect(request).toMatchObject({ tenant: 'acme', options: { temperature: 0.2, stop: ['\n'] } });
  });

  it.each([
    's3://bucket/inputs/file.json',
    'http://example.com/in.json',
    'https://example.com/a/b?c=d',
  ])('accepts input_data_url %s', (url) => {
    expect(parse({ ...MINIMAL, input_data_url: url }).ok).toBe(true);
  });

  it.each(['2025-12-02T10:23:00Z', '2025-12-02T10:23:00.123Z', '2025-12-02T10:23:00+02:00', '2025-12-02T10:23:00-05:30'])(
    'accepts the ISO 8601 timestamp %s (Z or an offset)',
    (timestamp) => {
      expect(requestOf(parse({ ...MINIMAL, timestamp })).timestamp).toBe(timestamp);
    },
  );

  it('accepts request ids of 1 and 128 characters made of letters, digits and . _ : -', () => {
    expect(parse({ ...MINIMAL, request_id: 'a' }).ok).toBe(true);
    expect(parse({ ...MINIMAL, request_id: 'x'.repeat(128) }).ok).toBe(true);
    expect(parse({ ...MINIMAL, request_id: 'Req_1.2:3-ABC' }).ok).toBe(true);
  });

  it('accepts an empty metadata object and metadata with any values', () => {
    expect(parse({ ...MINIMAL, metadata: {} }).ok).toBe(true);
    expect(parse({ ...MINIMAL, metadata: { n: 1, list: [1, 2], nested: { a: null } } }).ok).toBe(true);
  });
});

describe('parseRequest: rejections name the field', () => {
  it.each([
    ['', 'body is not JSON'],
    ['{"request_id": ', 'body is not JSON'],
    ['not json at all', 'body is not JSON'],
  ])('rejects the non-JSON body %j', (body, expected) => {
    expect(reasonOf(parseRequest(body))).toContain(expected);
  });

  it.each(['[]', '[{"request_id":"a"}]', 'null', '42', '"a string"', 'true'])('rejects the non-object JSON %s', (body) => {
    expect(reasonOf(parseRequest(body))).toBe('body must be a JSON object');
  });

  it('names every missing required field of an empty object', () => {
    const reason = reasonOf(parse({}));
    expect(reason).toContain('request_id is required');
    expect(reason).toContain('model_name is required');
    expect(reason).toContain('input_data_url is required');
  });

  it('names every violated field at once, separated by "; "', () => {
    const reason = reasonOf(
      parse({
        request_id: 'has spaces',
        model_name: '',
        input_data_url: 'ftp://host/file',
        callback_sns_topic: 'arn:aws:sqs:us-east-1:123456789012:queue',
        priority: 'urgent',
        timestamp: 'yesterday',
        metadata: 'user123',
      }),
    );
    const fields = ['request_id', 'model_name', 'input_data_url', 'callback_sns_topic', 'priority', 'timestamp', 'metadata'];
    for (const field of fields) expect(reason).toContain(field);
    expect(reason.split('; ').length).toBeGreaterThanOrEqual(fields.length);
  });

  it('says "must be a string" for a field of the wrong type, "is required" for a missing one', () => {
    expect(reasonOf(parse({ ...MINIMAL, request_id: 42 }))).toContain('request_id must be a string');
    const { model_name: _omitted, ...withoutModel } = MINIMAL;
    expect(reasonOf(parse(withoutModel))).toContain('model_name is required');
  });

  it.each([
    ['empty', ''],
    ['129 characters', 'x'.repeat(129)],
    ['a space', 'req 1'],
    ['a slash', 'req/1'],
    ['a non-ASCII letter', 'req-é'],
    ['a newline', 'req\n1'],
  ])('rejects a request_id with %s', (_label, requestId) => {
    expect(reasonOf(parse({ ...MINIMAL, request_id: requestId }))).toMatch(/^request_id /);
  });

  it.each(['ftp://host/file', 'bucket/key', 's3:/bucket/key', 'https://', 'https://host/with space', ''])(
    'rejects input_data_url %j',
    (url) => {
      expect(reasonOf(parse({ ...MINIMAL, input_data_url: url }))).toContain('input_data_url');
    },
  );

  it('rejects an input_data_url over 2048 characters', () => {
    expect(reasonOf(parse({ ...MINIMAL, input_data_url: `s3://b/${'k'.repeat(2048)}` }))).toContain(
      'input_data_url must be at most 2048 characters',
    );
  });

  it('rejects a model_name over 256 characters', () => {
    expect(reasonOf(parse({ ...MINIMAL, model_name: 'm'.repeat(257) }))).toContain('model_name');
    expect(parse({ ...MINIMAL, model_name: 'm'.repeat(256) }).ok).toBe(true);
  });

  it.each([
    'arn:aws:sqs:us-east-1:123456789012:results',
    'results',
    'arn:aws:sns:us-east-1:123456789012',
    'https://sns.us-east-1.amazonaws.com/results',
  ])('rejects callback_sns_topic %s, which is not an SNS topic ARN', (topic) => {
    expect(reasonOf(parse({ ...MINIMAL, callback_sns_topic: topic }))).toBe('callback_sns_topic must be an SNS topic ARN');
  });

  it('accepts SNS topic ARNs of other partitions and FIFO topics', () => {
    expect(parse({ ...MINIMAL, callback_sns_topic: 'arn:aws-cn:sns:cn-north-1:123456789012:results' }).ok).toBe(true);
    expect(parse({ ...MINIMAL, callback_sns_topic: 'arn:aws:sns:us-east-1:123456789012:results.fifo' }).ok).toBe(true);
  });

  it.each(['urgent', 'HIGH', '', 1, null])('rejects priority %j', (priority) => {
    expect(reasonOf(parse({ ...MINIMAL, priority }))).toBe('priority must be one of high, normal, low');
  });

  it.each(['2025-12-02T10:23:00', '2025-12-02', '10:23:00Z', '2025-13-02T10:23:00Z', 'yesterday', '1764670980'])(
    'rejects timestamp %s (not an ISO 8601 date-time with Z or an offset)',
    (timestamp) => {
      expect(reasonOf(parse({ ...MINIMAL, timestamp }))).toMatch(/^timestamp must be an ISO 8601 date-time/);
    },
  );

  it('rejects a numeric timestamp', () => {
    expect(reasonOf(parse({ ...MINIMAL, timestamp: 1764670980 }))).toContain('timestamp');
  });

  it.each([['a string', 'user123'], ['an array', ['user123']], ['null', null], ['a number', 3]])(
    'rejects metadata that is %s',
    (_label, metadata) => {
      expect(reasonOf(parse({ ...MINIMAL, metadata }))).toBe('metadata must be an object');
    },
  );

  it('never throws, whatever the body', () => {
    const bodies = ['', '\u0000', '{', '}', '{"__proto__": {"polluted": true}}', '{"request_id": {}}', 'x'.repeat(10_000)];
    for (const body of bodies) expect(() => parseRequest(body)).not.toThrow();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
