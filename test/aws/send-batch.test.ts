/**
 * aws/send-batch.ts: chunking for SendMessageBatch and entry-level error handling, against a fake
 * client object (the one place a fake AWS client is used: these are error-mapping unit tests).
 */
import type { SendMessageBatchCommand, SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { chunk, MAX_BATCH_BYTES, MAX_BATCH_ENTRIES, sendBatch, type OutgoingMessage } from '../../aws/send-batch.js';

const QUEUE = 'https://sqs.us-west-2.amazonaws.com/123456789012/inference-dispatch-queue-us-west-2-dev';
const NO_WAIT = { backoffMs: 0 };

const message = (id: string, body = `{"request_id":"${id}"}`, attributes: Record<string, string> = { request_id: id }): OutgoingMessage => ({
  id,
  body,
  attributes,
});
const messages = (n: number) => Array.from({ length: n }, (_, i) => message(`msg-${i}`));

interface Reply {
  Successful?: Array<{ Id: string; MessageId: string; MD5OfMessageBody: string }>;
  Failed?: Array<{ Id: string; SenderFault?: boolean; Code?: string; Message?: string }>;
}

/** The regional queue's message id the fake gives an entry: derived from the body, so mix-ups show. */
const sqsIdFor = (entry: SendMessageBatchRequestEntry) => `sqs:${entry.MessageBody}`;

/** A fake SQS client: `reply(entries, callNumber)` answers each SendMessageBatch; every call is recorded. */
function fakeClient(reply: (entries: SendMessageBatchRequestEntry[], call: number) => Reply | Promise<Reply>) {
  const calls: Array<{ queueUrl: string | undefined; entries: SendMessageBatchRequestEntry[] }> = [];
  const client = {
    send: async (command: SendMessageBatchCommand) => {
      const entries = command.input.Entries ?? [];
      calls.push({ queueUrl: command.input.QueueUrl, entries });
      return { $metadata: {}, ...(await reply(entries, calls.length)) };
    },
  } as unknown as SQSClient;
  return { client, calls };
}

const succeed = (entries: SendMessageBatchRequestEntry[]) =>
  entries.map((e) => ({ Id: e.Id as string, MessageId: sqsIdFor(e), MD5OfMessageBody: 'md5' }));

/** The body of an entry, to recognise messages whatever Id they were given in this call. */
const bodyOf = (id: string) => `{"request_id":"${id}"}`;

/** SQS's own measure of a message: body plus each attribute's name, type and value. */
const sqsSize = (m: OutgoingMessage) =>
  Buffer.byteLength(m.body) + Object.entries(m.attributes).reduce((n, [k, v]) => n + Buffer.byteLength(k) + 'String'.length + Buffer.byteLength(v), 0);

describe('chunk', () => {
  it('cuts at 10 entries, keeping order', () => {
    const input = messages(25);
    const chunks = chunk(input);
    expect(MAX_BATCH_ENTRIES).toBe(10);
    expect(chunks.map((c) => c.length)).toEqual([10, 10, 5]);
    expect(chunks.flat()).toEqual(input);
  });

  it('cuts at 256 KiB, attributes counted', () => {
    expect(MAX_BATCH_BYTES).toBe(262_144);
    const big = (id: string) => message(id, 'b'.repeat(100 * 1024), {});
    expect(chunk([big('a'), big('b'), big('c')]).map((c) => c.map((m) => m.id))).toEqual([['a', 'b'], ['c']]);
    // Two bodies of exactly 128 KiB fill one batch.
    const half = (id: string, bytes: number, attributes: Record<string, string>) => message(id, 'h'.repeat(bytes), attributes);
    expect(chunk([half('a', 128 * 1024, {}), half('b', 128 * 1024, {})])).toHaveLength(1);
    // One byte less plus an attribute "k" = "v" is 1 + 6 ("String") + 1 = 8 bytes: over the limit.
    expect(chunk([half('a', 128 * 1024, {}), half('b', 128 * 1024 - 1, { k: 'v' })])).toHaveLength(2);
  });

  it('keeps every chunk within both limits for mixed sizes', () => {
    const input = Array.from({ length: 40 }, (_, i) =>
      message(`m${i}`, 'x'.repeat(((i * 7919) % 90) * 1024), { request_id: `req-${i}`, batch_id: 'b20251202T102300-1a2b3c4d' }),
    );
    const chunks = chunk(input);
    expect(chunks.flat()).toEqual(input);
    for (const c of chunks) {
      expect(c.length).toBeLessThanOrEqual(10);
      expect(c.reduce((n, m) => n + sqsSize(m), 0)).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    }
  });

  it('puts a message too large for any batch in a chunk of its own, and makes no chunk of nothing', () => {
    const huge = message('huge', 'x'.repeat(300 * 1024), {});
    expect(chunk([message('a'), huge, message('b')]).map((c) => c.map((m) => m.id))).toEqual([['a'], ['huge'], ['b']]);
    expect(chunk([])).toEqual([]);
  });
});

describe('sendBatch', () => {
  it('sends every message once with its body and String attributes, results in input order', async () => {
    const { client, calls } = fakeClient((entries) => ({ Successful: succeed(entries).reverse() }));
    const input = [message('a', bodyOf('a'), { request_id: 'req-a', priority: 'high' }), message('b', bodyOf('b'))];
    const results = await sendBatch(client, QUEUE, input, NO_WAIT);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.queueUrl).toBe(QUEUE);
    expect(calls[0]?.entries).toEqual([
      {
        Id: 'm0',
        MessageBody: bodyOf('a'),
        MessageAttributes: { request_id: { DataType: 'String', StringValue: 'req-a' }, priority: { DataType: 'String', StringValue: 'high' } },
      },
      { Id: 'm1', MessageBody: bodyOf('b'), MessageAttributes: { request_id: { DataType: 'String', StringValue: 'b' } } },
    ]);
    expect(results).toEqual([
      { messageId: 'a', ok: true, sqsMessageId: `sqs:${bodyOf('a')}` },
      { messageId: 'b', ok: true, sqsMessageId: `sqs:${bodyOf('b')}` },
    ]);
  });

  it('uses entry ids SQS accepts (unique, alphanumeric, hyphen, underscore, at most 80) whatever our ids are', async () => {
    const { client, calls } = fakeClient((entries) => ({ Successful: succeed(entries) }));
    await sendBatch(client, QUEUE, [message('id with spaces/and:colons'), message('x'.repeat(200))], NO_WAIT);
    const entryIds = calls[0]?.entries.map((e) => e.Id) ?? [];
    expect(new Set(entryIds).size).toBe(2);
    for (const id of entryIds) expect(id).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
  });

  it('sends 25 messages in three calls of at most 10 and reports them in input order', async () => {
    const { client, calls } = fakeClient((entries) => ({ Successful: succeed(entries) }));
    const input = messages(25);
    const results = await sendBatch(client, QUEUE, input, NO_WAIT);
    expect(calls.map((c) => c.entries.length)).toEqual([10, 10, 5]);
    expect(results.map((r) => r.messageId)).toEqual(input.map((m) => m.id));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(results.map((r) => r.sqsMessageId)).toEqual(input.map((m) => `sqs:${m.body}`));
  });

  it('retries entries that failed without SenderFault, only those, and maps the retry answers back correctly', async () => {
    const failFirstTime = new Set([bodyOf('msg-1'), bodyOf('msg-3')]);
    const { client, calls } = fakeClient((entries, call) => {
      const failing = call === 1 ? entries.filter((e) => failFirstTime.has(e.MessageBody as string)) : [];
      return {
        Successful: succeed(entries.filter((e) => !failing.includes(e))),
        Failed: failing.map((e) => ({ Id: e.Id as string, SenderFault: false, Code: 'InternalError', Message: 'try again' })),
      };
    });
    const input = messages(5);
    const results = await sendBatch(client, QUEUE, input, NO_WAIT);
    expect(calls).toHaveLength(2);
    expect(calls[1]?.entries.map((e) => e.MessageBody)).toEqual([bodyOf('msg-1'), bodyOf('msg-3')]);
    expect(results).toEqual(input.map((m) => ({ messageId: m.id, ok: true, sqsMessageId: `sqs:${m.body}` })));
  });

  it('gives up on an entry that keeps failing after the configured attempts, with the last error', async () => {
    const alwaysFail = (entries: SendMessageBatchRequestEntry[]) => ({
      Successful: succeed(entries.filter((e) => e.MessageBody !== bodyOf('msg-0'))),
      Failed: entries.filter((e) => e.MessageBody === bodyOf('msg-0')).map((e) => ({ Id: e.Id as string, Code: 'ServiceUnavailable', Message: 'busy' })),
    });
    const three = fakeClient(alwaysFail);
    const results = await sendBatch(three.client, QUEUE, messages(2), NO_WAIT);
    expect(three.calls).toHaveLength(3);
    expect(results[0]).toEqual({ messageId: 'msg-0', ok: false, error: 'ServiceUnavailable: busy', senderFault: false });
    expect(results[1]?.ok).toBe(true);

    const five = fakeClient(alwaysFail);
    await sendBatch(five.client, QUEUE, messages(2), { backoffMs: 0, entryAttempts: 5 });
    expect(five.calls).toHaveLength(5);
  });

  it('does not retry SenderFault entries and marks them as such', async () => {
    const { client, calls } = fakeClient((entries) => ({
      Successful: succeed(entries.slice(1)),
      Failed: [{ Id: entries[0]?.Id as string, SenderFault: true, Code: 'InvalidParameterValue', Message: 'attribute too long' }],
    }));
    const results = await sendBatch(client, QUEUE, messages(3), NO_WAIT);
    expect(calls).toHaveLength(1);
    expect(results[0]).toEqual({ messageId: 'msg-0', ok: false, senderFault: true, error: 'InvalidParameterValue: attribute too long' });
    expect(results.slice(1).every((r) => r.ok)).toBe(true);
  });

  it('describes a failed entry without code or message', async () => {
    const { client } = fakeClient((entries) => ({ Failed: entries.map((e) => ({ Id: e.Id as string, SenderFault: true })) }));
    expect(await sendBatch(client, QUEUE, messages(1), NO_WAIT)).toEqual([
      { messageId: 'msg-0', ok: false, senderFault: true, error: 'Failed: entry not sent' },
    ]);
  });

  it('turns a thrown error into a failed result per message with the error text, and never throws', async () => {
    const { client, calls } = fakeClient(() => {
      const error = new Error('socket hang up');
      error.name = 'TimeoutError';
      throw error;
    });
    const results = await sendBatch(client, QUEUE, messages(12), NO_WAIT);
    // Without an answer the messages may have arrived: the result says so (aws/delivery.ts).
    expect(results).toEqual(messages(12).map((m) => ({ messageId: m.id, ok: false, error: 'TimeoutError: socket hang up', unknown: true })));
    // Each of the two chunks is tried a bounded number of times.
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(calls.length).toBeLessThanOrEqual(6);
  });

  it('does not repeat a call that failed whole: the SDK retried it, and the workflow retries the region', async () => {
    const { client, calls } = fakeClient((entries, call) => {
      if (call === 1) throw Object.assign(new Error('connect ECONNREFUSED'), { name: 'NetworkingError' });
      return { Successful: succeed(entries) };
    });
    const results = await sendBatch(client, QUEUE, messages(3), NO_WAIT);
    expect(calls).toHaveLength(1);
    expect(results.every((r) => !r.ok && r.error === 'NetworkingError: connect ECONNREFUSED')).toBe(true);
  });

  it('keeps chunks independent: one that cannot be sent does not fail the others', async () => {
    const { client } = fakeClient((entries) => {
      if (entries.some((e) => e.MessageBody === bodyOf('msg-0'))) throw Object.assign(new Error('Access denied'), { name: 'AccessDenied' });
      return { Successful: succeed(entries) };
    });
    const results = await sendBatch(client, QUEUE, messages(15), NO_WAIT);
    expect(results.slice(0, 10).every((r) => !r.ok && r.error === 'AccessDenied: Access denied')).toBe(true);
    expect(results.slice(10).every((r) => r.ok)).toBe(true);
  });

  it('reports a message the answer does not mention as not sent', async () => {
    const { client } = fakeClient((entries) => ({ Successful: succeed(entries.slice(1)) }));
    const results = await sendBatch(client, QUEUE, messages(2), NO_WAIT);
    expect(results[0]).toEqual({ messageId: 'msg-0', ok: false, error: 'not sent' });
    expect(results[1]?.ok).toBe(true);
  });

  it('ignores answers for entry ids it did not send', async () => {
    const { client } = fakeClient((entries) => ({
      Successful: [...succeed(entries), { Id: 'm99', MessageId: 'stray', MD5OfMessageBody: 'x' }],
      Failed: [{ Id: 'bogus', Code: 'X', Message: 'y' }],
    }));
    const results = await sendBatch(client, QUEUE, messages(2), NO_WAIT);
    expect(results.map((r) => r.ok)).toEqual([true, true]);
  });

  it('sends nothing for no messages', async () => {
    const { client, calls } = fakeClient((entries) => ({ Successful: succeed(entries) }));
    expect(await sendBatch(client, QUEUE, [], NO_WAIT)).toEqual([]);
    expect(calls).toEqual([]);
  });

  it.each([
    ['a string', 'boom'],
    ['an object without name or message', { code: 'ECONNRESET' }],
    ['undefined', undefined],
    ['null', null],
  ])('never throws, even when the client rejects with %s', async (_label, rejection) => {
    const client = { send: () => Promise.reject(rejection) } as unknown as SQSClient;
    const results = await sendBatch(client, QUEUE, messages(2), NO_WAIT);
    expect(results.map((r) => [r.messageId, r.ok])).toEqual([
      ['msg-0', false],
      ['msg-1', false],
    ]);
    for (const r of results) expect(typeof r.error).toBe('string');
  });
});
