/** core/batching.ts: one SQS batch -> Express executions within the payload limit, named after the batch. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  aloneBytes,
  batchIdFor,
  BOOKKEEPING_HEADROOM_BYTES,
  EXECUTION_INPUT_BUDGET_BYTES,
  fitsAlone,
  jsonBytes,
  MAX_PAYLOAD_BYTES,
  planExecutions,
  splitRepeats,
  tooLargeReason,
} from '../../core/batching.js';
import type { Envelope, ExecutionInput } from '../../core/placement.js';
import { executionInputSchema } from '../../core/placement.js';
import { seededRandom } from '../../core/random.js';

const NOW = new Date('2025-12-02T10:23:00.999Z');
const NOW_SECONDS = Date.UTC(2025, 11, 2, 10, 23, 0) / 1000;
const BATCH_ID = batchIdFor(['m-0', 'm-1'], NOW);

const envelope = (n: number, bodyPad = '', requestId = `req-${n}`): Envelope => ({
  messageId: `m-${n}`,
  requestId,
  body: JSON.stringify({ request_id: requestId, model_name: 'gpt-l-7b', input_data_url: 's3://b/k', pad: bodyPad }),
  priority: 'normal',
});

const plan = (messages: Envelope[], budgetBytes?: number) =>
  planExecutions(messages, { batchId: BATCH_ID, now: NOW, claimLeaseSeconds: 300, idempotencyTtlSeconds: 604_800, budgetBytes });

const utf8 = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');
const ids = (executions: ExecutionInput[]) => executions.flatMap((e) => e.messages.map((m) => m.messageId));

/** An execution input with the longest names Step Functions allows (80 characters): the worst case. */
const worstCase = (messages: Envelope[]): ExecutionInput => ({
  batchId: 'x'.repeat(80),
  executionName: 'x'.repeat(80),
  now: NOW_SECONDS,
  leaseUntil: NOW_SECONDS,
  expiresAt: NOW_SECONDS,
  messages,
});

describe('limits', () => {
  it('are the Step Functions payload limit (256 KiB) and a budget below it', () => {
    expect(MAX_PAYLOAD_BYTES).toBe(262_144);
    expect(EXECUTION_INPUT_BUDGET_BYTES).toBeLessThan(MAX_PAYLOAD_BYTES);
    expect(EXECUTION_INPUT_BUDGET_BYTES).toBeGreaterThan(MAX_PAYLOAD_BYTES / 2);
  });

  it('keep 16 KiB of the payload limit for the workflow: the budget is 240 KiB', () => {
    expect(BOOKKEEPING_HEADROOM_BYTES).toBe(16 * 1024);
    expect(EXECUTION_INPUT_BUDGET_BYTES).toBe(240 * 1024);
  });

  it('jsonBytes counts UTF-8 bytes of the JSON text, escapes included', () => {
    expect(jsonBytes('é')).toBe(4);
    expect(jsonBytes('"')).toBe(4);
    expect(jsonBytes({ a: 1 })).toBe(7);
  });
});

describe('batchIdFor', () => {
  it('is b<UTC yyyymmddThhmmss>-<first 8 hex of sha256 of the ids joined by newlines>', () => {
    const digest = createHash('sha256').update('m-1\nm-2\nm-3').digest('hex').slice(0, 8);
    expect(batchIdFor(['m-1', 'm-2', 'm-3'], new Date('2025-12-02T10:23:00.456Z'))).toBe(`b20251202T102300-${digest}`);
    expect(batchIdFor(['x'], new Date('2026-01-09T03:04:05Z'))).toMatch(/^b20260109T030405-[0-9a-f]{8}$/);
  });

  it('is deterministic, and changes with the ids, their order and the second', () => {
    const ids3 = ['a', 'b', 'c'];
    const id = batchIdFor(ids3, NOW);
    expect(batchIdFor([...ids3], new Date(NOW.getTime()))).toBe(id);
    expect(batchIdFor(['a', 'b', 'd'], NOW)).not.toBe(id);
    expect(batchIdFor(['c', 'b', 'a'], NOW)).not.toBe(id);
    expect(batchIdFor(ids3, new Date(NOW.getTime() + 1000))).not.toBe(id);
  });

  it('makes a valid execution name even with the longest split suffix', () => {
    const id = batchIdFor(['0b8a7c1e-1f2d-4c3b-9a8e-7d6c5b4a3f2e'], NOW);
    expect(`${id}-10of10`).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
  });
});

describe('planExecutions', () => {
  it('makes one execution, named after the batch, when everything fits', () => {
    const messages = Array.from({ length: 10 }, (_, i) => envelope(i));
    const executions = plan(messages);
    expect(executions).toEqual([
      {
        batchId: BATCH_ID,
        executionName: BATCH_ID,
        now: NOW_SECONDS,
        leaseUntil: NOW_SECONDS + 300,
        expiresAt: NOW_SECONDS + 604_800,
        messages,
      },
    ]);
    expect(executionInputSchema.safeParse(executions[0]).success).toBe(true);
  });

  it('fixes now to whole epoch seconds, rounded down, and derives lease and TTL from it', () => {
    const [execution] = planExecutions([envelope(1)], {
      batchId: BATCH_ID,
      now: new Date('2025-12-02T10:23:59.999Z'),
      claimLeaseSeconds: 90,
      idempotencyTtlSeconds: 3600,
    });
    expect(execution?.now).toBe(NOW_SECONDS + 59);
    expect(execution?.leaseUntil).toBe(NOW_SECONDS + 59 + 90);
    expect(execution?.expiresAt).toBe(NOW_SECONDS + 59 + 3600);
  });

  it('splits a batch whose input would pass the default budget, each part within it, order kept', () => {
    // Ten 30 KB bodies: about 300 KB together.
    const messages = Array.from({ length: 10 }, (_, i) => envelope(i, 'p'.repeat(30_000)));
    const executions = plan(messages);
    expect(executions.length).toBe(2);
    expect(ids(executions)).toEqual(messages.map((m) => m.messageId));
    for (const execution of executions) {
      expect(utf8(execution)).toBeLessThanOrEqual(EXECUTION_INPUT_BUDGET_BYTES);
      expect(executionInputSchema.safeParse(execution).success).toBe(true);
    }
  });

  it('names the parts <batchId>-<i>of<n>, all sharing the batch id, lease and TTL', () => {
    const messages = Array.from({ length: 10 }, (_, i) => envelope(i, 'p'.repeat(60_000)));
    const executions = plan(messages);
    expect(executions.length).toBeGreaterThan(2);
    const n = executions.length;
    expect(executions.map((e) => e.executionName)).toEqual(Array.from({ length: n }, (_, i) => `${BATCH_ID}-${i + 1}of${n}`));
    for (const e of executions) {
      expect(e).toMatchObject({ batchId: BATCH_ID, now: NOW_SECONDS, leaseUntil: NOW_SECONDS + 300, expiresAt: NOW_SECONDS + 604_800 });
      expect(e.executionName).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    }
  });

  it('measures bytes, not characters: multi-byte bodies are split too', () => {
    // 20 000 characters of "é" are 40 000 bytes; ten of them pass 240 KiB only when counted in bytes.
    const messages = Array.from({ length: 10 }, (_, i) => envelope(i, 'é'.repeat(20_000)));
    const executions = plan(messages);
    expect(executions.length).toBeGreaterThan(1);
    for (const execution of executions) expect(utf8(execution)).toBeLessThanOrEqual(EXECUTION_INPUT_BUDGET_BYTES);
  });

  it('measures the escaped JSON: bodies full of quotes count double', () => {
    // Each '"' is two bytes in the body and four once the body is a JSON string inside the input.
    const messages = Array.from({ length: 4 }, (_, i) => envelope(i, '"'.repeat(20_000)));
    const executions = plan(messages);
    expect(executions.length).toBeGreaterThan(1);
    for (const execution of executions) expect(utf8(execution)).toBeLessThanOrEqual(EXECUTION_INPUT_BUDGET_BYTES);
  });

  it('packs greedily: as many messages per execution as the budget allows', () => {
    const messages = Array.from({ length: 10 }, (_, i) => envelope(i, 'p'.repeat(1000)));
    // Exactly three messages fit with the longest names; a fourth does not.
    const budget = utf8(worstCase(messages.slice(0, 3))) + 10;
    expect(utf8(worstCase(messages.slice(0, 4)))).toBeGreaterThan(budget);
    const executions = plan(messages, budget);
    expect(executions.map((e) => e.messages.length)).toEqual([3, 3, 3, 1]);
    expect(ids(executions)).toEqual(messages.map((m) => m.messageId));
  });

  it('keeps every execution within any budget, for seeded random message sizes', () => {
    const gen = seededRandom(31);
    for (let run = 0; run < 60; run++) {
      const budget = 4_000 + Math.floor(gen() * 60_000);
      const messages = Array.from({ length: 1 + Math.floor(gen() * 10) }, (_, i) =>
        envelope(i, 'x'.repeat(Math.floor(gen() * 3_000)) + 'é"\\'.repeat(Math.floor(gen() * 300))),
      );
      const executions = plan(messages, budget);
      expect(ids(executions)).toEqual(messages.map((m) => m.messageId));
      for (const execution of executions) {
        expect(execution.messages.length).toBeGreaterThan(0);
        expect(utf8(execution)).toBeLessThanOrEqual(budget);
      }
    }
  });

  it('makes no execution for no messages', () => {
    expect(plan([])).toEqual([]);
  });

  it('throws, naming the message, when one message does not fit on its own', () => {
    expect(() => plan([envelope(1), envelope(2, 'p'.repeat(5_000))], 3_000)).toThrow(/m-2/);
  });
});

describe('fitsAlone', () => {
  it('accepts an ordinary request and refuses one past the default budget', () => {
    expect(fitsAlone(envelope(1))).toBe(true);
    expect(fitsAlone(envelope(1, 'p'.repeat(EXECUTION_INPUT_BUDGET_BYTES)))).toBe(false);
  });

  it('refuses a body under 256 KiB whose escaped JSON does not fit', () => {
    const message = envelope(1, '"'.repeat(70_000));
    expect(Buffer.byteLength(message.body)).toBeLessThan(MAX_PAYLOAD_BYTES);
    expect(fitsAlone(message)).toBe(false);
  });

  it('honours a custom budget, as planExecutions does', () => {
    const message = envelope(1, 'p'.repeat(1000));
    const size = utf8(worstCase([message]));
    expect(fitsAlone(message, size)).toBe(true);
    expect(() => plan([message], size)).not.toThrow();
    // A budget smaller than the body itself cannot hold it.
    expect(fitsAlone(message, Buffer.byteLength(message.body))).toBe(false);
    expect(() => plan([message], Buffer.byteLength(message.body))).toThrow(/m-1/);
  });
});

/** A message whose execution input, alone, is exactly `bytes`: each pad character adds one byte. */
const taking = (bytes: number) => envelope(1, 'p'.repeat(bytes - aloneBytes(envelope(1))));

describe('tooLargeReason', () => {
  it('measures what fitsAlone measures: the input with the longest names', () => {
    const message = envelope(1, 'p'.repeat(1000));
    expect(aloneBytes(message)).toBe(utf8(worstCase([message])));
    expect(aloneBytes(taking(5000))).toBe(5000);
  });

  it('is undefined for a message at the budget, and names the measured size and the budget one byte over it', () => {
    expect(tooLargeReason(taking(EXECUTION_INPUT_BUDGET_BYTES))).toBeUndefined();
    expect(fitsAlone(taking(EXECUTION_INPUT_BUDGET_BYTES))).toBe(true);
    expect(tooLargeReason(taking(EXECUTION_INPUT_BUDGET_BYTES + 1))).toBe(
      'too large: the request takes 245761 bytes of execution input (its body as a JSON string, with its envelope); ' +
        "the budget is 245760 bytes (240 KiB): the 256 KiB Step Functions payload limit less 16 KiB kept for the workflow's bookkeeping",
    );
    expect(fitsAlone(taking(EXECUTION_INPUT_BUDGET_BYTES + 1))).toBe(false);
  });

  it('names the budget it was given, not the default', () => {
    expect(tooLargeReason(taking(3001), 3000)).toBe(
      'too large: the request takes 3001 bytes of execution input (its body as a JSON string, with its envelope); ' +
        "the budget is 3000 bytes: the 256 KiB Step Functions payload limit less 259144 bytes kept for the workflow's bookkeeping",
    );
    expect(tooLargeReason(taking(3000), 3000)).toBeUndefined();
  });

  it('counts the escaped body: a body of quotes under 256 KiB is too large', () => {
    const message = envelope(1, '"'.repeat(70_000));
    expect(Buffer.byteLength(message.body)).toBeLessThan(MAX_PAYLOAD_BYTES);
    expect(tooLargeReason(message)).toMatch(new RegExp(`^too large: the request takes ${utf8(worstCase([message]))} bytes`));
  });
});

describe('splitRepeats', () => {
  it('keeps the first message of each request_id, in order, and returns the later ones as repeats', () => {
    const a1 = { ...envelope(1, '', 'req-a'), extra: 1 };
    const b1 = { ...envelope(2, '', 'req-b'), extra: 2 };
    const a2 = { ...envelope(3, '', 'req-a'), extra: 3 };
    const c1 = { ...envelope(4, '', 'req-c'), extra: 4 };
    const a3 = { ...envelope(5, '', 'req-a'), extra: 5 };
    const b2 = { ...envelope(6, '', 'req-b'), extra: 6 };
    const { first, repeats } = splitRepeats([a1, b1, a2, c1, a3, b2]);
    expect(first).toEqual([a1, b1, c1]);
    expect(repeats).toEqual([a2, a3, b2]);
  });

  it('returns no repeats for distinct ids and nothing for nothing', () => {
    const messages = [envelope(1), envelope(2)];
    expect(splitRepeats(messages)).toEqual({ first: messages, repeats: [] });
    expect(splitRepeats([])).toEqual({ first: [], repeats: [] });
  });
});
