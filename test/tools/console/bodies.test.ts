/**
 * Message bodies as the console shows them: cut to their first bytes, JSON or not (ops/body-preview.ts),
 * indented without changing a token (static/body.js), and served by the API for the Dead letters page and
 * a request's story, read from a local stack without consuming anything.
 */
import { SendMessageCommand, type MessageAttributeValue, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invalidRequestScene } from '../../../tools/console/scene.js';
import { sqsAt } from '../../../tools/local/resources.js';
import { BODY_PREVIEW_BYTES, cutUtf8, isJson, previewBody, previewMessage, type MessagePreview } from '../../../tools/ops/body-preview.js';
import { queueDepth } from '../../../tools/ops/queue-reader.js';
import { startConsoleHarness, type ConsoleHarness } from './harness.js';

// The page's module, loaded as the browser loads it (plain JS; a path the type-check does not follow).
type BodyModule = { indentJson(text: string): string };
const bodyModulePath = '../../../tools/console/static/body.js';
const { indentJson } = (await import(bodyModulePath)) as BodyModule;

describe('a body cut to its first bytes (ops/body-preview.ts)', () => {
  it('keeps a body within the limit whole, and says nothing was left out', () => {
    expect(cutUtf8('héllo', 6)).toEqual({ text: 'héllo', moreBytes: 0, bytes: 6 });
  });

  it('cuts by UTF-8 bytes, never inside a character, and counts the bytes left out', () => {
    // 'é' is 2 bytes and '€' 3: a cut at 3 bytes falls inside '€', which is left out whole.
    expect(cutUtf8('é€x', 3)).toEqual({ text: 'é', moreBytes: 4, bytes: 6 });
    expect(cutUtf8('é€x', 5)).toEqual({ text: 'é€', moreBytes: 1, bytes: 6 });
    expect(cutUtf8('€', 0)).toEqual({ text: '', moreBytes: 3, bytes: 3 });
  });

  it('a 256 KiB JSON body: its first 4 KiB, the rest counted, known as JSON from the whole body', () => {
    const body = jsonBodyOfBytes('req-big', 256 * 1024);
    const preview = previewBody(body);
    expect(preview).toMatchObject({ bytes: 262_144, moreBytes: 262_144 - BODY_PREVIEW_BYTES, json: true });
    expect(preview.text).toBe(body.slice(0, BODY_PREVIEW_BYTES));
    expect(isJson(preview.text)).toBe(false); // the cut text alone is not JSON: the flag comes from the whole body
  });

  it('a body that is not JSON, or JSON nested deeper than the parser goes, is text', () => {
    expect(previewBody('<script>alert(1)</script>')).toEqual({ text: '<script>alert(1)</script>', bytes: 25, moreBytes: 0, json: false });
    expect(previewBody('"a string"').json).toBe(true);
    expect(isJson('[1, 2')).toBe(false);
  });

  it('lists attributes by name, each value cut on its own', () => {
    const preview = previewMessage('{}', { request_id: 'r-1', reason: 'x'.repeat(3000), execution: undefined, batch_id: 'b' }, 100, 1024);
    expect(preview.attributes).toEqual([
      { name: 'batch_id', text: 'b', moreBytes: 0 },
      { name: 'reason', text: 'x'.repeat(1024), moreBytes: 3000 - 1024 },
      { name: 'request_id', text: 'r-1', moreBytes: 0 },
    ]);
  });
});

describe('JSON indented for the page (static/body.js indentJson)', () => {
  const withoutLayout = (text: string) => text.replace(/("(?:[^"\\]|\\.)*")|\s+/g, (_, s: string | undefined) => s ?? '');

  it('indents two spaces a level and keeps every token as the body has it', () => {
    const body = '{"n":12345678901234567890,"f":1.0,"k":"a b\\"c","k":[],"o":{},"e":[1,{"x":null}]}';
    const indented = indentJson(body);
    expect(indented).toBe(
      [
        '{',
        '  "n": 12345678901234567890,',
        '  "f": 1.0,',
        '  "k": "a b\\"c",',
        '  "k": [],',
        '  "o": {},',
        '  "e": [',
        '    1,',
        '    {',
        '      "x": null',
        '    }',
        '  ]',
        '}',
      ].join('\n'),
    );
    // JSON.stringify(JSON.parse()) would round the number, drop the repeated key and write 1.0 as 1.
    expect(withoutLayout(indented)).toBe(body);
  });

  it('indents the first bytes of a body cut inside a string, and a body nested 5000 deep within bounds', () => {
    expect(indentJson('{"a": ["b", "c{d')).toBe('{\n  "a": [\n    "b",\n    "c{d');
    const deep = indentJson(`${'['.repeat(5000)}${']'.repeat(5000)}`);
    // The indentation stops growing at 16 levels: each line at most 32 spaces and `[]`.
    const lines = deep.split('\n');
    expect(lines).toHaveLength(9999);
    expect(Math.max(...lines.map((line) => line.length))).toBe(34);
  });
});

describe('the API serves bodies from the local stack without consuming them', () => {
  let h: ConsoleHarness;
  let home: SQSClient;
  const invalidId = 'req-body-invalid';
  const scriptBody = '<script>window.__bodyRan = 1</script><img src=x onerror="window.__bodyRan = 2">';
  const bigBody = jsonBodyOfBytes('req-body-big', 256 * 1024);
  const oddBody = 'a\u202Eevil\u0085b\uFFFDc\r d\ttab';
  const storyBody = JSON.stringify({ request_id: 'req-body-story', model_name: 'm', input_data_url: 's3://b/k' });

  const send = (client: SQSClient, url: string, body: string, attributes: Record<string, string> = {}) =>
    client.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: body,
        MessageAttributes: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v } satisfies MessageAttributeValue])),
      }),
    );

  beforeAll(async () => {
    h = await startConsoleHarness();
    const d = h.stack.description;
    home = sqsAt(d.homeRegion, d.endpoints.sqs[d.homeRegion] as string);
    // Through the intake, as an operator meets it: an invalid request it dead-letters with the reason.
    await invalidRequestScene(h.stack, invalidId);
    const dlq = d.dispatchDeadLetterQueueUrl;
    await send(home, dlq, scriptBody, { request_id: 'req-body-script', reason: '<b>not bold</b>', priority: 'high' });
    await send(home, dlq, bigBody);
    await send(home, dlq, oddBody, { reason: 'odd characters' });
    await send(home, dlq, storyBody, { request_id: 'req-body-story', reason: 'no region accepted the message' });
    // A second copy of the story's request waits in a regional queue (the harness runs no workers).
    const west = d.regions.find((r) => r.region === 'us-west-2');
    if (!west) throw new Error('the local stack has no us-west-2');
    const westClient = sqsAt(west.region, d.endpoints.sqs[west.region] as string);
    await send(westClient, west.queueUrl, storyBody, { request_id: 'req-body-story' });
    westClient.destroy();
  }, 60_000);
  afterAll(async () => {
    home?.destroy();
    await h?.stop();
  });

  type Listed = { messageId: string; requestId?: string; reason: string; preview: MessagePreview };
  const dispatchListing = async () => {
    const response = await fetch(new URL('/api/dead-letters?queue=dispatch', h.console.url));
    const text = await response.text();
    const queues = (JSON.parse(text) as { queues: Array<{ read: number; messages: Listed[] }> }).queues;
    return { bytes: text.length, listing: queues[0] as { read: number; messages: Listed[] } };
  };

  it('lists each DLQ message with its body and attributes, as they are', async () => {
    const { listing } = await dispatchListing();
    expect(listing.read).toBe(5);
    const byBody = (start: string) => listing.messages.find((m) => m.preview.body.text.startsWith(start));

    expect(byBody('<script>')?.preview).toEqual({
      body: { text: scriptBody, bytes: scriptBody.length, moreBytes: 0, json: false },
      attributes: [
        { name: 'priority', text: 'high', moreBytes: 0 },
        { name: 'reason', text: '<b>not bold</b>', moreBytes: 0 },
        { name: 'request_id', text: 'req-body-script', moreBytes: 0 },
      ],
    });
    expect(byBody('a\u202E')?.preview.body).toEqual({ text: oddBody, bytes: Buffer.byteLength(oddBody), moreBytes: 0, json: false });

    // The intake's copy: the body the sender sent, with the reason and the intake's attributes.
    const invalid = listing.messages.find((m) => m.requestId === invalidId);
    expect(invalid?.preview.body.json).toBe(true);
    expect(JSON.parse(invalid?.preview.body.text ?? '')).toMatchObject({ request_id: invalidId, input_data_url: 'ftp://nowhere/x' });
    expect(invalid?.preview.attributes.find((a) => a.name === 'reason')?.text).toMatch(/^invalid request: input_data_url/);
  });

  it('sends only the first 4 KiB of a 256 KiB body, so that a listing of such bodies stays small', async () => {
    const { bytes, listing } = await dispatchListing();
    const big = listing.messages.find((m) => m.requestId === 'req-body-big');
    expect(big?.preview.body).toEqual({ text: bigBody.slice(0, BODY_PREVIEW_BYTES), bytes: 262_144, moreBytes: 262_144 - BODY_PREVIEW_BYTES, json: true });
    expect(bytes).toBeLessThan(40_000);
  });

  it("a request's story shows the body of its copy in a regional queue and of its copy in the DLQ", async () => {
    const { status, body } = await h.get('/api/requests?id=req-body-story');
    expect(status).toBe(200);
    const held = body.held as Array<{ kind: string; region: string; preview: MessagePreview; sentAt?: string }>;
    expect(held.map((m) => [m.kind, m.region]).sort()).toEqual([
      ['dispatch DLQ', 'us-east-1'],
      ['regional queue', 'us-west-2'],
    ]);
    for (const copy of held) {
      expect(copy.preview.body).toEqual({ text: storyBody, bytes: storyBody.length, moreBytes: 0, json: true });
      expect(copy.preview.attributes).toContainEqual({ name: 'request_id', text: 'req-body-story', moreBytes: 0 });
      expect(Date.parse(copy.sentAt ?? '')).toBeGreaterThan(Date.now() - 600_000);
    }
    expect(held.find((m) => m.kind === 'dispatch DLQ')?.preview.attributes).toContainEqual({ name: 'reason', text: 'no region accepted the message', moreBytes: 0 });
  });

  it('reading the bodies changes no count: every message stays where it was, visible', async () => {
    const d = h.stack.description;
    const west = d.regions.find((r) => r.region === 'us-west-2');
    const westClient = sqsAt('us-west-2', d.endpoints.sqs['us-west-2'] as string);
    try {
      const depths = async () => [await queueDepth(home, d.dispatchDeadLetterQueueUrl), await queueDepth(westClient, west?.queueUrl as string)];
      const before = await depths();
      expect(before).toEqual([
        { visible: 5, inFlight: 0 },
        { visible: 1, inFlight: 0 },
      ]);
      await dispatchListing();
      await h.get('/api/requests?id=req-body-story');
      expect(await depths()).toEqual(before);
      // And a second read finds every body again.
      expect((await dispatchListing()).listing.read).toBe(5);
    } finally {
      westClient.destroy();
    }
  });
});

/** A JSON body of exactly `bytes` bytes naming a request_id. */
function jsonBodyOfBytes(requestId: string, bytes: number): string {
  const head = `{"request_id":"${requestId}","payload":"`;
  return `${head}${'x'.repeat(bytes - head.length - 2)}"}`;
}
