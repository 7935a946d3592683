/**
 * The bad-input corpus (tools/chaos/bad-input.ts) through parseRequest and the intake's triage: every
 * body is dispatched unchanged or dead-lettered with a reason naming what was wrong, and none throws.
 */
import { spawnSync } from 'node:child_process';
import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { parseRequest } from '../../core/request.js';
import { triage } from '../../functions/intake.js';
import { BAD_INPUT, CORPUS_MESSAGE_ID, type BadInputCase } from '../../tools/chaos/bad-input.js';

const record = (body: string): SQSRecord => ({
  messageId: CORPUS_MESSAGE_ID,
  receiptHandle: 'rh',
  body,
  attributes: { ApproximateReceiveCount: '1', SentTimestamp: '1764670980000', SenderId: 'AIDAEXAMPLE', ApproximateFirstReceiveTimestamp: '1764670980100' },
  messageAttributes: {},
  md5OfBody: 'md5',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:inference-dispatch-master-queue-dev',
  awsRegion: 'us-east-1',
});

const label = (c: BadInputCase) => `${c.name} (${c.expected.result})`;

describe('the corpus itself', () => {
  it('holds at least 20 classes, with unique names, and both outcomes', () => {
    expect(new Set(BAD_INPUT.map((c) => c.class)).size).toBeGreaterThanOrEqual(20);
    expect(new Set(BAD_INPUT.map((c) => c.name)).size).toBe(BAD_INPUT.length);
    expect(BAD_INPUT.some((c) => c.expected.result === 'dispatch')).toBe(true);
    expect(BAD_INPUT.some((c) => c.expected.result === 'dead-letter')).toBe(true);
  });

  it('uses each request_id it dispatches once, so one run can send it all', () => {
    const ids = BAD_INPUT.flatMap((c) => (c.expected.result === 'dispatch' ? [c.expected.requestId] : []));
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe.each(BAD_INPUT.map((c) => [label(c), c] as const))('%s', (_label, c) => {
  it('parseRequest gives the expected result without throwing', () => {
    const parsed = parseRequest(c.body);
    if (c.expected.result === 'dead-letter' && c.expected.stage === 'parse') {
      expect(parsed.ok).toBe(false);
      // The corpus states reasons as the DLQ holds them; parseRequest's lack triage's prefix.
      if (!parsed.ok) expect(`invalid request: ${parsed.reason}`).toMatch(c.expected.reason);
    } else {
      expect(parsed.ok, parsed.ok ? '' : parsed.reason).toBe(true);
      if (parsed.ok && c.expected.result === 'dispatch') {
        expect(parsed.request.request_id).toBe(c.expected.requestId);
        expect(parsed.request.priority).toBe(c.expected.priority);
      }
    }
  });

  it('triage dispatches it unchanged or dead-letters it with a matching reason', () => {
    const input = record(c.body);
    const { valid, invalid } = triage([input]);
    if (c.expected.result === 'dispatch') {
      expect(invalid.map((i) => i.reason)).toEqual([]);
      expect(valid).toEqual([{ messageId: CORPUS_MESSAGE_ID, requestId: c.expected.requestId, body: c.body, priority: c.expected.priority }]);
    } else {
      expect(valid).toEqual([]);
      expect(invalid).toHaveLength(1);
      expect(invalid[0]?.record).toBe(input);
      expect(invalid[0]?.reason).toMatch(c.expected.reason);
    }
  });
});

describe('prototype-pollution keys', () => {
  it('leave Object.prototype and the parsed request untouched', () => {
    for (const c of BAD_INPUT.filter((x) => x.class === 'prototype')) {
      const parsed = parseRequest(c.body);
      triage([record(c.body)]);
      expect(({} as Record<string, unknown>).polluted, c.name).toBeUndefined();
      if (parsed.ok) {
        expect(Object.getPrototypeOf(parsed.request)).toBe(Object.prototype);
        expect((parsed.request as Record<string, unknown>).polluted).toBeUndefined();
        if (parsed.request.metadata) expect(Object.getPrototypeOf(parsed.request.metadata)).toBe(Object.prototype);
      }
    }
  });
});

/** Python 3, where present, reading bodies as a worker would: json.loads of the body as a str. */
const PYTHON = spawnSync('python3', ['--version']).status === 0;
const PY_READ = `
import json, sys
out = []
for body in json.load(sys.stdin):
    try:
        r = json.loads(body)
        out.append({"request_id": r.get("request_id"), "priority": r.get("priority", "normal")} if isinstance(r, dict) else {"type": type(r).__name__})
    except Exception as e:
        out.append({"error": type(e).__name__})
print(json.dumps(out))
`;

function pythonReads(bodies: readonly string[]): Array<{ request_id?: unknown; priority?: unknown; error?: string }> {
  const run = spawnSync('python3', ['-c', PY_READ], { input: JSON.stringify(bodies), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout);
}

describe.skipIf(!PYTHON)("a Python worker's json.loads", () => {
  it('reads every body the dispatcher dispatches, with the same request_id and priority', () => {
    const dispatched = BAD_INPUT.filter((c) => c.expected.result === 'dispatch');
    const reads = pythonReads(dispatched.map((c) => c.body));
    dispatched.forEach((c, i) => {
      const expected = c.expected as Extract<BadInputCase['expected'], { result: 'dispatch' }>;
      expect(reads[i], c.name).toEqual({ request_id: expected.requestId, priority: expected.priority });
    });
  });

  it('fails on the bodies refused for depth or number length far over the limits: the limits are needed', () => {
    const names = ['nesting-python-breaking', 'number-python-breaking'];
    const reads = pythonReads(names.map((name) => BAD_INPUT.find((c) => c.name === name)?.body ?? ''));
    expect(reads).toEqual([{ error: 'RecursionError' }, { error: 'ValueError' }]);
  });

  it('reads a different request_id than a first-key parser would, for the refused duplicate', () => {
    const c = BAD_INPUT.find((x) => x.name === 'duplicate-request-id-different');
    expect(pythonReads([c?.body ?? ''])[0]?.request_id).toBe('req-c-dup-last');
  });
});
