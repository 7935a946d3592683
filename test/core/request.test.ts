/** core/request.ts: the inference request schema (the original system's "Message format"), parsed from a raw SQS body. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_METADATA_BYTES, MAX_NESTING_DEPTH, MAX_NUMBER_CHARS, parseRequest, type ParseResult } from '../../core/request.js';

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

/** A body of MINIMAL plus raw members, written by hand (duplicate keys, exact nesting). */
const raw = (members: string) => `${JSON.stringify(MINIMAL).slice(0, -1)}${members ? `,${members}` : ''}}`;
/** metadata whose arrays make the whole body `depth` levels deep (its object 1, metadata 2). */
const deepMetadata = (depth: number) => raw(`"metadata":{"a":${'['.repeat(depth - 2)}${']'.repeat(depth - 2)}}`);

describe('parseRequest: limits on the free-form parts', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('are far below what a Python worker fails on', () => {
    // CPython's json fails at about 1000 levels; Python refuses integers of over 4300 digits.
    expect(MAX_NESTING_DEPTH).toBe(32);
    expect(MAX_NUMBER_CHARS).toBeLessThan(4300);
    expect(MAX_METADATA_BYTES).toBe(16 * 1024);
  });

  it('accepts a body exactly at the nesting limit and refuses one level more, naming the field, depth and limit', () => {
    expect(requestOf(parseRequest(deepMetadata(32))).metadata).toBeDefined();
    expect(reasonOf(parseRequest(deepMetadata(33)))).toBe('metadata: nested 33 levels deep (the body itself is level 1); the limit is 32');
    expect(reasonOf(parseRequest(deepMetadata(1200)))).toBe('metadata: nested 1200 levels deep (the body itself is level 1); the limit is 32');
  });

  it('limits unknown fields too, objects counting as arrays do', () => {
    const body = raw(`"options":${'{"a":'.repeat(40)}1${'}'.repeat(40)}`);
    expect(reasonOf(parseRequest(body))).toBe('options: nested 41 levels deep (the body itself is level 1); the limit is 32');
  });

  it('names the field by the key JSON.parse reads, escapes decoded', () => {
    const body = raw(`"meta\\u0064ata":{"a":${'['.repeat(40)}${']'.repeat(40)}}`);
    expect(reasonOf(parseRequest(body))).toMatch(/^metadata: nested 42 levels/);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const text = `${'['.repeat(100)}\\"${'{'.repeat(100)}\\\\`;
    const body = raw(`"metadata":{"text":"${text}"}`);
    expect(JSON.parse(body).metadata.text).toContain('"');
    expect(requestOf(parseRequest(body)).metadata).toEqual({ text: JSON.parse(`"${text}"`) });
  });

  it.each([
    ['1 MiB of [', '['.repeat(1024 * 1024), 'body: nested 1048576 levels deep'],
    ['1 MB of {"a":', '{"a":'.repeat(200_000), 'a: nested 200000 levels deep'],
    ['balanced brackets 100 000 deep', `${'['.repeat(100_000)}${']'.repeat(100_000)}`, 'body: nested 100000 levels deep'],
  ])('refuses %s by scanning the text, without handing it to JSON.parse', (_label, body, expected) => {
    const parse = vi.spyOn(JSON, 'parse');
    expect(reasonOf(parseRequest(body))).toBe(`${expected} (the body itself is level 1); the limit is 32`);
    expect(parse.mock.calls.some(([text]) => text === body)).toBe(false);
  });

  it('accepts metadata of exactly 16 KiB serialized and refuses one byte more, with the measured size', () => {
    // {"blob":"..."} is 11 bytes around the blob.
    expect(parse({ ...MINIMAL, metadata: { blob: 'x'.repeat(MAX_METADATA_BYTES - 11) } }).ok).toBe(true);
    expect(reasonOf(parse({ ...MINIMAL, metadata: { blob: 'x'.repeat(MAX_METADATA_BYTES - 10) } }))).toBe(
      'metadata: 16385 bytes once serialized; the limit is 16384 (16 KiB)',
    );
  });

  it('measures metadata in UTF-8 bytes, not characters', () => {
    // 6000 "é" are 6000 characters but 12 000 bytes; 9000 are 18 000 bytes, over 16 KiB.
    expect(parse({ ...MINIMAL, metadata: { s: 'é'.repeat(6000) } }).ok).toBe(true);
    expect(reasonOf(parse({ ...MINIMAL, metadata: { s: 'é'.repeat(9000) } }))).toMatch(/^metadata: 18008 bytes once serialized/);
  });

  it('reports the metadata size alongside other schema problems', () => {
    const reason = reasonOf(parse({ ...MINIMAL, priority: 'urgent', metadata: { blob: 'x'.repeat(MAX_METADATA_BYTES) } }));
    expect(reason).toContain('priority must be one of high, normal, low');
    expect(reason).toContain('metadata: 16395 bytes once serialized');
  });

  it('reports a too-deep body alone: nothing else is read from it', () => {
    const body = raw(`"priority":"urgent","metadata":{"a":${'['.repeat(40)}${']'.repeat(40)}}`);
    expect(reasonOf(parseRequest(body))).toBe('metadata: nested 42 levels deep (the body itself is level 1); the limit is 32');
  });

  it('accepts a number of 100 characters and refuses one of 101, naming the field', () => {
    expect(parseRequest(raw(`"score":${'9'.repeat(100)}`)).ok).toBe(true);
    expect(reasonOf(parseRequest(raw(`"score":${'9'.repeat(101)}`)))).toBe('score: a number 101 characters long; the limit is 100');
    expect(reasonOf(parseRequest(raw(`"metadata":{"n":-${'1'.repeat(5000)}}`)))).toBe('metadata: a number 5001 characters long; the limit is 100');
  });

  it('does not count digits inside strings as numbers', () => {
    expect(parse({ ...MINIMAL, metadata: { digits: '1'.repeat(5000) } }).ok).toBe(true);
  });
});

describe('parseRequest: odd bodies', () => {
  it('says an empty or whitespace body is not JSON, and which', () => {
    expect(reasonOf(parseRequest(''))).toBe('body is not JSON: the body is empty');
    expect(reasonOf(parseRequest(' \t\r\n'))).toBe('body is not JSON: the body is only whitespace');
  });

  it('refuses a byte-order mark at the start, which a worker could not parse, but not one inside a string', () => {
    expect(reasonOf(parseRequest(`\uFEFF${JSON.stringify(MINIMAL)}`))).toBe(
      "body starts with a byte-order mark (U+FEFF), which JSON does not allow and Python's json.loads refuses",
    );
    expect(parse({ ...MINIMAL, metadata: { note: '\uFEFF' } }).ok).toBe(true);
  });

  it('refuses raw control characters in strings (invalid JSON), accepts escaped ones and whitespace between tokens', () => {
    expect(reasonOf(parseRequest(raw('"note":"a\tb"')))).toMatch(/^body is not JSON/);
    expect(reasonOf(parseRequest(raw('"note":"a\u0001b"')))).toMatch(/^body is not JSON/);
    expect(requestOf(parse({ ...MINIMAL, metadata: { note: 'a\u0000\u001fb' } })).metadata).toEqual({ note: 'a\u0000\u001fb' });
    expect(parseRequest(`\r\n\t${JSON.stringify(MINIMAL, null, '\t')}\n`).ok).toBe(true);
  });
});

describe('parseRequest: duplicate keys', () => {
  it('reads the last of repeated keys, as Python does, when request_id is not among them', () => {
    const request = requestOf(parseRequest(raw('"priority":"low","priority":"high","metadata":{"k":1,"k":2}')));
    expect(request.priority).toBe('high');
    expect(request.metadata).toEqual({ k: 2 });
  });

  it('accepts request_id given twice with the same value, escapes decoded', () => {
    expect(requestOf(parseRequest(raw('"request_id":"req-1"'))).request_id).toBe('req-1');
    expect(requestOf(parseRequest(raw('"request_id":"req-\\u0031"'))).request_id).toBe('req-1');
  });

  it('refuses request_id given twice with different values, naming both', () => {
    expect(reasonOf(parseRequest(raw('"request_id":"req-2"')))).toBe(
      'request_id: given 2 times with different values ("req-1", "req-2"); parsers disagree on which one counts, so the dispatcher and a worker could read different ids',
    );
  });

  it('sees a request_id key spelled with escapes, and values of another type', () => {
    expect(reasonOf(parseRequest(raw('"request\\u005fid":"req-2"')))).toMatch(/^request_id: given 2 times with different values/);
    expect(reasonOf(parseRequest(raw('"request_id":1,"request_id":"req-1"')))).toMatch(/^request_id: given 3 times with different values \("req-1", 1, "req-1"\)/);
  });

  it('ignores request_id keys nested below the top level', () => {
    expect(parse({ ...MINIMAL, metadata: { request_id: 'other' } }).ok).toBe(true);
  });
});

describe('parseRequest: prototype-pollution keys', () => {
  const body = raw('"__proto__":{"priority":"high","polluted":true},"constructor":{"prototype":{"polluted":true}},"metadata":{"__proto__":{"polluted":true}}');

  it('are plain data: accepted, with the own request_id and priority, and nothing polluted', () => {
    const request = requestOf(parseRequest(body));
    expect(request.request_id).toBe('req-1');
    expect(request.priority).toBe('normal');
    expect(Object.getPrototypeOf(request)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(request.metadata)).toBe(Object.prototype);
    expect((request as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('cannot supply a missing request_id', () => {
    expect(reasonOf(parseRequest('{"__proto__":{"request_id":"req-1","model_name":"m","input_data_url":"s3://b/k"}}'))).toContain(
      'request_id is required',
    );
  });
});

describe('parseRequest: reasons are text SQS takes', () => {
  const lone = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

  it("replaces the half emoji V8's parse error quotes (the token, and the quote cut inside a pair)", () => {
    const reason = reasonOf(parseRequest(`{"request_id": 😀a${'😀'.repeat(8)}}`));
    expect(reason).toMatch(/^body is not JSON: Unexpected token '\uFFFD'/);
    expect(reason).not.toMatch(lone);
    expect(reason).toContain('😀a😀😀😀\uFFFD');
  });

  it('cuts a long request_id value it shows without splitting an emoji', () => {
    const reason = reasonOf(parseRequest(raw(`"request_id":"a${'😀'.repeat(60)}"`)));
    expect(reason).toMatch(/^request_id: given 2 times with different values/);
    expect(reason).not.toMatch(lone);
  });
});
