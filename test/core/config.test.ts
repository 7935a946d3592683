/** core/config.ts: the functions' environment, its defaults (the original system's "Configuration") and its errors. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, required } from '../../core/config.js';
import { MAX_SQS_REQUEST_TIMEOUT_MS } from '../../core/topology.js';

const URL_EAST = 'https://sqs.us-east-1.amazonaws.com/123456789012/inference-dispatch-queue-us-east-1-dev';
const URL_WEST2 = 'https://sqs.us-west-2.amazonaws.com/123456789012/inference-dispatch-queue-us-west-2-dev';
const URL_WEST1 = 'https://sqs.us-west-1.amazonaws.com/123456789012/inference-dispatch-queue-us-west-1-dev';

/** The seed's REGION_QUEUES form: {"region": "url"}. */
const SEED_QUEUES = JSON.stringify({ 'us-east-1': URL_EAST, 'us-west-2': URL_WEST2, 'us-west-1': URL_WEST1 });

/** The message of the ConfigError that parseConfig throws, or a failure if it does not throw one. */
function configError(env: Record<string, string | undefined>): string {
  try {
    parseConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).name).toBe('ConfigError');
    return (error as Error).message;
  }
  throw new Error('parseConfig accepted the environment');
}

describe('parseConfig: REGION_QUEUES', () => {
  it("reads the seed's {region: url} form in configured order, capacity 1 each", () => {
    expect(parseConfig({ REGION_QUEUES: SEED_QUEUES }).regions).toEqual([
      { region: 'us-east-1', queueUrl: URL_EAST, capacity: 1 },
      { region: 'us-west-2', queueUrl: URL_WEST2, capacity: 1 },
      { region: 'us-west-1', queueUrl: URL_WEST1, capacity: 1 },
    ]);
  });

  it('reads the {region: {url, capacity}} form, capacity optional (1), and mixes with the seed form', () => {
    const env = {
      REGION_QUEUES: JSON.stringify({
        'us-west-2': { url: URL_WEST2, capacity: 2.5 },
        'us-east-1': { url: URL_EAST },
        'us-west-1': URL_WEST1,
      }),
    };
    expect(parseConfig(env).regions).toEqual([
      { region: 'us-west-2', queueUrl: URL_WEST2, capacity: 2.5 },
      { region: 'us-east-1', queueUrl: URL_EAST, capacity: 1 },
      { region: 'us-west-1', queueUrl: URL_WEST1, capacity: 1 },
    ]);
  });

  it.each([
    ['missing', undefined, 'REGION_QUEUES: is required'],
    ['empty (counts as unset)', '', 'REGION_QUEUES: is required'],
    ['not JSON', '{us-east-1: x', 'REGION_QUEUES: must be JSON'],
    ['an empty map', '{}', 'REGION_QUEUES'],
    ['a list', JSON.stringify([URL_EAST]), 'REGION_QUEUES'],
    ['keyed by a non-region', JSON.stringify({ US_EAST: URL_EAST }), 'REGION_QUEUES'],
    ['with a non-URL queue', JSON.stringify({ 'us-east-1': 'inference-queue' }), 'REGION_QUEUES'],
    ['with capacity 0', JSON.stringify({ 'us-east-1': { url: URL_EAST, capacity: 0 } }), 'REGION_QUEUES.us-east-1'],
    ['with a negative capacity', JSON.stringify({ 'us-east-1': { url: URL_EAST, capacity: -1 } }), 'REGION_QUEUES.us-east-1'],
    ['with an unknown key', JSON.stringify({ 'us-east-1': { url: URL_EAST, weight: 2 } }), 'REGION_QUEUES.us-east-1'],
    ['without url', JSON.stringify({ 'us-east-1': { capacity: 2 } }), 'REGION_QUEUES.us-east-1'],
  ])('rejects REGION_QUEUES %s, naming it', (_label, value, expected) => {
    const message = configError({ REGION_QUEUES: value });
    expect(message).toMatch(/^invalid configuration:/);
    expect(message).toContain(expected);
  });
});

describe('parseConfig: REGION_CAPACITY', () => {
  it('overrides the capacity of the regions it names, in either REGION_QUEUES form', () => {
    const seedForm = parseConfig({ REGION_QUEUES: SEED_QUEUES, REGION_CAPACITY: JSON.stringify({ 'us-west-2': 3 }) });
    expect(seedForm.regions.map((r) => [r.region, r.capacity])).toEqual([
      ['us-east-1', 1],
      ['us-west-2', 3],
      ['us-west-1', 1],
    ]);
    const objectForm = parseConfig({
      REGION_QUEUES: JSON.stringify({ 'us-east-1': { url: URL_EAST, capacity: 4 }, 'us-west-2': { url: URL_WEST2, capacity: 5 } }),
      REGION_CAPACITY: JSON.stringify({ 'us-east-1': 0.5 }),
    });
    expect(objectForm.regions.map((r) => [r.region, r.capacity])).toEqual([
      ['us-east-1', 0.5],
      ['us-west-2', 5],
    ]);
  });

  it('fails naming REGION_CAPACITY and the region when it names a region REGION_QUEUES does not', () => {
    const message = configError({ REGION_QUEUES: SEED_QUEUES, REGION_CAPACITY: JSON.stringify({ 'eu-west-1': 2 }) });
    expect(message).toContain('REGION_CAPACITY');
    expect(message).toContain('eu-west-1');
  });

  it.each([
    ['not JSON', 'two'],
    ['a zero capacity', JSON.stringify({ 'us-east-1': 0 })],
    ['a string capacity', JSON.stringify({ 'us-east-1': '2' })],
    ['a non-region key', JSON.stringify({ east: 2 })],
  ])('rejects REGION_CAPACITY with %s, naming it', (_label, value) => {
    expect(configError({ REGION_QUEUES: SEED_QUEUES, REGION_CAPACITY: value })).toContain('REGION_CAPACITY');
  });
});

describe('parseConfig: defaults and values', () => {
  it("uses the seed's defaults (and the design's) for everything but REGION_QUEUES", () => {
    const cfg = parseConfig({ REGION_QUEUES: SEED_QUEUES });
    expect(cfg).toMatchObject({
      homeRegion: 'us-east-1',
      cacheTtlSeconds: 5,
      maxQueueDepthThreshold: 5000,
      idempotencyTableName: 'inference-dispatch-idempotency-dev',
      // 21 days, not the seed's 7: the longest queue retention (14 days) + the redrive window (7 days).
      idempotencyTtlSeconds: 1_814_400,
      redriveWindowSeconds: 604_800,
      claimLeaseSeconds: 300,
      logLevel: 'INFO',
      selectionPolicy: 'least-wait',
      stateMachineArn: undefined,
      dispatchDeadLetterQueueUrl: undefined,
      endpoints: { sqs: {}, dynamodb: undefined, stepFunctions: undefined },
    });
  });

  it('treats every empty string as unset, so the defaults apply', () => {
    const cfg = parseConfig({
      REGION_QUEUES: SEED_QUEUES,
      HOME_REGION: '',
      REGION_CAPACITY: '',
      CACHE_TTL: '',
      MAX_QUEUE_DEPTH_THRESHOLD: '',
      IDEMPOTENCY_TABLE_NAME: '',
      IDEMPOTENCY_TTL_SECONDS: '',
      REDRIVE_WINDOW_SECONDS: '',
      CLAIM_LEASE_SECONDS: '',
      LOG_LEVEL: '',
      SELECTION_POLICY: '',
      STATE_MACHINE_ARN: '',
      DISPATCH_DLQ_URL: '',
      SQS_ENDPOINTS: '',
      DYNAMODB_ENDPOINT: '',
      SFN_ENDPOINT: '',
    });
    expect(cfg).toEqual(parseConfig({ REGION_QUEUES: SEED_QUEUES }));
  });

  it('reads every variable when set', () => {
    const cfg = parseConfig({
      REGION_QUEUES: SEED_QUEUES,
      HOME_REGION: 'us-west-2',
      CACHE_TTL: '0',
      MAX_QUEUE_DEPTH_THRESHOLD: '100',
      IDEMPOTENCY_TABLE_NAME: 'inference-dispatch-idempotency-prod',
      IDEMPOTENCY_TTL_SECONDS: '2592000',
      CLAIM_LEASE_SECONDS: '240',
      REGION_HEALTH_SECONDS: '0',
      LOG_LEVEL: 'debug',
      SELECTION_POLICY: 'seed-inverse',
      STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:inference-dispatch-dev',
      DISPATCH_DLQ_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/inference-dispatch-dlq-dev',
      SQS_ENDPOINTS: JSON.stringify({ 'us-east-1': 'http://127.0.0.1:4566' }),
      DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000',
      SFN_ENDPOINT: 'http://127.0.0.1:8083',
    });
    expect(cfg).toMatchObject({
      homeRegion: 'us-west-2',
      cacheTtlSeconds: 0,
      maxQueueDepthThreshold: 100,
      idempotencyTableName: 'inference-dispatch-idempotency-prod',
      idempotencyTtlSeconds: 2_592_000,
      claimLeaseSeconds: 240,
      regionHealthSeconds: 0,
      logLevel: 'DEBUG',
      selectionPolicy: 'seed-inverse',
      stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:inference-dispatch-dev',
      dispatchDeadLetterQueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/inference-dispatch-dlq-dev',
      endpoints: { sqs: { 'us-east-1': 'http://127.0.0.1:4566' }, dynamodb: 'http://127.0.0.1:8000', stepFunctions: 'http://127.0.0.1:8083' },
    });
  });

  it.each([
    ['info', 'INFO'],
    ['Warn', 'WARN'],
    ['WARNING', 'WARN'],
    ['warning', 'WARN'],
    ['error', 'ERROR'],
    ['SILENT', 'SILENT'],
  ])('reads LOG_LEVEL %s as %s', (value, expected) => {
    expect(parseConfig({ REGION_QUEUES: SEED_QUEUES, LOG_LEVEL: value }).logLevel).toBe(expected);
  });

  it('accepts a fractional CACHE_TTL (seconds)', () => {
    expect(parseConfig({ REGION_QUEUES: SEED_QUEUES, CACHE_TTL: '0.5' }).cacheTtlSeconds).toBe(0.5);
  });
});

describe('parseConfig: errors', () => {
  it.each([
    ['CACHE_TTL', 'sixty'],
    ['CACHE_TTL', '-1'],
    ['MAX_QUEUE_DEPTH_THRESHOLD', '0'],
    ['MAX_QUEUE_DEPTH_THRESHOLD', '10.5'],
    ['MAX_QUEUE_DEPTH_THRESHOLD', 'many'],
    ['IDEMPOTENCY_TTL_SECONDS', '-604800'],
    ['CLAIM_LEASE_SECONDS', '0'],
    ['CLAIM_LEASE_SECONDS', '1.5'],
    ['IDEMPOTENCY_TABLE_NAME', 'ab'],
    ['LOG_LEVEL', 'verbose'],
    ['SELECTION_POLICY', 'random'],
    ['HOME_REGION', 'virginia'],
    ['STATE_MACHINE_ARN', 'inference-dispatch-dev'],
    ['DISPATCH_DLQ_URL', 'inference-dispatch-dlq-dev'],
    ['SQS_ENDPOINTS', '{"us-east-1": "not a url"}'],
    ['DYNAMODB_ENDPOINT', 'localhost'],
    ['SFN_ENDPOINT', 'localhost'],
  ])('names %s when it is %j', (variable, value) => {
    const message = configError({ REGION_QUEUES: SEED_QUEUES, [variable]: value });
    expect(message).toMatch(new RegExp(`^\\s*${variable}[.:]`, 'm'));
  });

  it('names every bad variable in one message, one per line', () => {
    const message = configError({
      REGION_QUEUES: '{',
      CACHE_TTL: 'x',
      MAX_QUEUE_DEPTH_THRESHOLD: '-5',
      LOG_LEVEL: 'loud',
      SELECTION_POLICY: 'round-robin',
      CLAIM_LEASE_SECONDS: 'soon',
    });
    const lines = message.split('\n').slice(1);
    for (const variable of ['REGION_QUEUES', 'CACHE_TTL', 'MAX_QUEUE_DEPTH_THRESHOLD', 'LOG_LEVEL', 'SELECTION_POLICY', 'CLAIM_LEASE_SECONDS']) {
      expect(lines.some((line) => line.trim().startsWith(`${variable}:`)), `${variable} in\n${message}`).toBe(true);
    }
    expect(message).not.toContain('IDEMPOTENCY_TABLE_NAME');
  });

  it('ignores variables it does not know', () => {
    expect(() => parseConfig({ REGION_QUEUES: SEED_QUEUES, PATH: '/usr/bin', AWS_REGION: 'us-east-1' })).not.toThrow();
  });
});

describe('required', () => {
  it('returns a present value as is, falsy ones included', () => {
    expect(required('arn:aws:states:x', 'STATE_MACHINE_ARN')).toBe('arn:aws:states:x');
    expect(required(0, 'N')).toBe(0);
    expect(required('', 'S')).toBe('');
    expect(required(false, 'B')).toBe(false);
  });

  it('throws a ConfigError naming the variable when the value is undefined', () => {
    expect(() => required(undefined, 'DISPATCH_DLQ_URL')).toThrow(ConfigError);
    expect(() => required(undefined, 'DISPATCH_DLQ_URL')).toThrow(/DISPATCH_DLQ_URL: is required/);
  });

  it('covers what parseConfig leaves undefined for a function that needs it', () => {
    const cfg = parseConfig({ REGION_QUEUES: SEED_QUEUES });
    expect(() => required(cfg.stateMachineArn, 'STATE_MACHINE_ARN')).toThrow(/STATE_MACHINE_ARN/);
  });
});

describe('messages for the cases zod words poorly', () => {
  it('names a REGION_QUEUES key that is not a region, and what a region looks like', () => {
    expect(() => parseConfig({ REGION_QUEUES: JSON.stringify({ mars: URL_EAST }) })).toThrow(
      /REGION_QUEUES\.mars: "mars" is not an AWS region name such as us-west-2/,
    );
  });

  it('treats a blank value as unset (the default applies), as an empty one', () => {
    expect(parseConfig({ REGION_QUEUES: SEED_QUEUES, CACHE_TTL: '   ' }).cacheTtlSeconds).toBe(5);
  });
});

describe('SQS_REQUEST_TIMEOUT_MS', () => {
  it('defaults to 3 s and refuses values too small to ever succeed or too large for the forward function', () => {
    expect(parseConfig({ REGION_QUEUES: SEED_QUEUES }).sqsRequestTimeoutMs).toBe(3000);
    expect(parseConfig({ REGION_QUEUES: SEED_QUEUES, SQS_REQUEST_TIMEOUT_MS: '2500' }).sqsRequestTimeoutMs).toBe(2500);
    expect(() => parseConfig({ REGION_QUEUES: SEED_QUEUES, SQS_REQUEST_TIMEOUT_MS: '5' })).toThrow(/SQS_REQUEST_TIMEOUT_MS: must be >= 100/);
    expect(parseConfig({ REGION_QUEUES: SEED_QUEUES, SQS_REQUEST_TIMEOUT_MS: String(MAX_SQS_REQUEST_TIMEOUT_MS) }).sqsRequestTimeoutMs).toBe(
      MAX_SQS_REQUEST_TIMEOUT_MS,
    );
    expect(() => parseConfig({ REGION_QUEUES: SEED_QUEUES, SQS_REQUEST_TIMEOUT_MS: String(MAX_SQS_REQUEST_TIMEOUT_MS + 1) })).toThrow(
      /SQS_REQUEST_TIMEOUT_MS: must be <= 3500 \(the forward function's time budget\)/,
    );
  });
});

describe('the time budget in the config', () => {
  it('refuses a claim lease shorter than the intake timeout plus the execution timeout', () => {
    expect(parseConfig({ REGION_QUEUES: SEED_QUEUES, CLAIM_LEASE_SECONDS: '185' }).claimLeaseSeconds).toBe(185);
    expect(() => parseConfig({ REGION_QUEUES: SEED_QUEUES, CLAIM_LEASE_SECONDS: '184' })).toThrow(
      /CLAIM_LEASE_SECONDS: must be >= the intake timeout \+ the execution timeout \(95 \+ 90 = 185 s\)/,
    );
  });

  it("refuses a claim lease that would still hold when the master queue delivers the message again", () => {
    expect(parseConfig({ REGION_QUEUES: SEED_QUEUES, CLAIM_LEASE_SECONDS: '599' }).claimLeaseSeconds).toBe(599);
    expect(() => parseConfig({ REGION_QUEUES: SEED_QUEUES, CLAIM_LEASE_SECONDS: '600' })).toThrow(
      /CLAIM_LEASE_SECONDS: must be < the master queue's visibility timeout \(600 s\)/,
    );
  });

  it('reads REGION_HEALTH_SECONDS, 0 turning region health off', () => {
    expect(parseConfig({ REGION_QUEUES: SEED_QUEUES }).regionHealthSeconds).toBe(30);
    expect(parseConfig({ REGION_QUEUES: SEED_QUEUES, REGION_HEALTH_SECONDS: '0' }).regionHealthSeconds).toBe(0);
    expect(() => parseConfig({ REGION_QUEUES: SEED_QUEUES, REGION_HEALTH_SECONDS: '-1' })).toThrow(/REGION_HEALTH_SECONDS: must be >= 0/);
  });
});
