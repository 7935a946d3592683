/**
 * Message bodies in a real browser (Chromium, as browser.test.ts drives it): on the Dead letters page
 * and in a request's story, collapsed until asked for, shown as text whatever they hold, indented when
 * JSON, cut with the bytes left out counted, with their attributes and a copy button; and the reads
 * move nothing.
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { sqsAt } from '../../../tools/local/resources.js';
import { queueDepth } from '../../../tools/ops/queue-reader.js';
import { consoleInChromium, poll } from './browser-harness.js';

let home: SQSClient;

// What a hostile sender can put in a queue (SQS refuses C0 controls but takes C1 ones and bidi overrides).
const SCRIPT_BODY = '<script>window.__bodyRan = 1</script><img src=x onerror="window.__bodyRan = 2"><b>bold?</b>';
const ODD_BODY = 'a\u202Eevil\u0085b\uFFFDc\r d\ttab';
const STORY_BODY = JSON.stringify({ request_id: 'req-ui-body-story', model_name: 'm', input_data_url: 's3://b/k', nested: { list: [1, 2] } });
const BIG_BYTES = 256 * 1024;
const bigBody = () => {
  const head = '{"request_id":"req-ui-body-big","payload":"';
  return `${head}${'y'.repeat(BIG_BYTES - head.length - 2)}"}`;
};

async function send(client: SQSClient, url: string, body: string, attributes: Record<string, string>): Promise<void> {
  await client.send(
    new SendMessageCommand({
      QueueUrl: url,
      MessageBody: body,
      MessageAttributes: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }])),
    }),
  );
}

const { ready, page } = consoleInChromium({
  // The copy button writes to the clipboard; the test reads it back.
  context: { permissions: ['clipboard-read', 'clipboard-write'] },
  async setup(harness) {
    const d = harness.stack.description;
    home = sqsAt(d.homeRegion, d.endpoints.sqs[d.homeRegion] as string);
    const dlq = d.dispatchDeadLetterQueueUrl;
    await send(home, dlq, SCRIPT_BODY, { request_id: 'req-ui-body-script', reason: '<i>a reason in markup</i>', priority: 'high' });
    await send(home, dlq, ODD_BODY, { request_id: 'req-ui-body-odd', reason: 'odd characters' });
    await send(home, dlq, bigBody(), {});
    await send(home, dlq, STORY_BODY, { request_id: 'req-ui-body-story', reason: 'no region accepted the message' });
    // A second copy of the story's request waits in a regional queue (the harness runs no workers).
    const west = sqsAt('us-west-2', d.endpoints.sqs['us-west-2'] as string);
    await send(west, d.regions.find((r) => r.region === 'us-west-2')?.queueUrl as string, STORY_BODY, { request_id: 'req-ui-body-story' });
    west.destroy();
  },
});
afterAll(() => home?.destroy());

/** What the page's copy button put on the clipboard (the test has no DOM types: the page's globals, typed here). */
const readClipboard = () =>
  page.evaluate(() => (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText());

/** The body of a listed message (by its request_id), its group opened and its body still collapsed. */
async function listedBody(requestId: string) {
  const row = `tr[data-request-id="${requestId}"]`;
  await page.locator(`section[data-queue="dispatch"] ${row}`).waitFor({ state: 'attached' });
  const group = page.locator('section[data-queue="dispatch"] .group > details', { has: page.locator(row) });
  if ((await group.getAttribute('open')) === null) await group.locator(':scope > summary').click();
  return page.locator(`section[data-queue="dispatch"] ${row} + tr.message-body-row .message-body`);
}

describe('message bodies in Chromium', () => {
  it('Dead letters: each body is collapsed until opened, then shown as text (a <script> body runs nothing), with its attributes', async () => {
    const harness = ready();
    await page.goto(`${harness.console.url}#/dead-letters`);
    await poll(() => page.locator('section[data-queue="dispatch"] .queue-count').textContent()).toMatch(/^4 messages read/);

    const body = await listedBody('req-ui-body-script');
    // Collapsed: the toggle says what is inside, and no body is in the page yet.
    expect(await body.locator('.body-toggle').getAttribute('aria-expanded')).toBe('false');
    expect(await body.locator('.body-toggle').textContent()).toBe(`Body and attributes (${SCRIPT_BODY.length} bytes)`);
    expect(await page.locator('pre.message-body-text').count()).toBe(0);

    await body.locator('.body-toggle').click();
    const pre = body.locator('pre.message-body-text');
    expect(await pre.textContent()).toBe(SCRIPT_BODY);
    expect(await pre.getAttribute('data-format')).toBe('text');
    // Text, never markup: no element came from the body, and its script and handler never ran.
    expect(await pre.locator('*').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as { __bodyRan?: number }).__bodyRan)).toBeUndefined();
    expect(await body.locator('.body-toolbar').textContent()).toContain('not JSON (shown as it is)');
    // The attributes, by name, and what SQS says of the message; markup in a value is text too.
    const attributes = await body.locator('dl.message-attributes dt').allTextContents();
    expect(attributes).toEqual(['priority', 'reason', 'request_id', 'ApproximateReceiveCount', 'SentTimestamp']);
    expect(await body.locator('dl.message-attributes dd').nth(1).textContent()).toBe('<i>a reason in markup</i>');
    expect(await body.locator('dl.message-attributes i').count()).toBe(0);

    // Copied as it is.
    await body.locator('[data-action="copy-body"]').click();
    await poll(() => body.locator('[data-action="copy-body"]').textContent()).toBe('Copied');
    expect(await readClipboard()).toBe(SCRIPT_BODY);

    // Closed again by the same toggle.
    await body.locator('.body-toggle').click();
    expect(await pre.isVisible()).toBe(false);
  }, 60_000);

  it('Dead letters: a 256 KiB body shows its first 4 KiB, indented, and how many bytes are left out; characters that do not show are marked', async () => {
    const harness = ready();
    await page.goto(`${harness.console.url}#/dead-letters`);
    await poll(() => page.locator('section[data-queue="dispatch"] .queue-count').textContent()).toMatch(/^4 messages read/);

    const big = await listedBody('req-ui-body-big');
    expect(await big.locator('.body-toggle').textContent()).toBe('Body and attributes (256 KiB, JSON, first 4.0 KiB shown)');
    await big.locator('.body-toggle').click();
    const text = (await big.locator('pre.message-body-text').textContent()) ?? '';
    expect(text.startsWith('{\n  "request_id": "req-ui-body-big",\n  "payload": "yyyy')).toBe(true);
    expect(text.length).toBeLessThan(4200);
    expect(await big.locator('.more-bytes').textContent()).toBe(`… ${(BIG_BYTES - 4096).toLocaleString('en-US')} more bytes not shown`);
    expect(await big.locator('[data-action="copy-body"]').textContent()).toBe('Copy the 4.0 KiB shown');
    // The whole page stays small: the rest of the body never reached it.
    expect((await page.content()).length).toBeLessThan(60_000);

    const odd = await listedBody('req-ui-body-odd');
    await odd.locator('.body-toggle').click();
    expect(await odd.locator('.hidden-char').allTextContents()).toEqual(['U+202E', 'U+0085', 'U+FFFD', 'U+000D']);
    expect(await odd.locator('pre.message-body-text').textContent()).toBe('aU+202EevilU+0085bU+FFFDcU+000D d\ttab');
    // The copy is the body itself, not its marks.
    await odd.locator('[data-action="copy-body"]').click();
    await poll(() => odd.locator('[data-action="copy-body"]').textContent()).toBe('Copied');
    expect(await readClipboard()).toBe(ODD_BODY);
  }, 60_000);

  it("Requests: the story shows the body of each copy, in the regional queue and in the DLQ, and looking moves nothing", async () => {
    const harness = ready();
    const d = harness.stack.description;
    const westUrl = d.regions.find((r) => r.region === 'us-west-2')?.queueUrl as string;
    const west = sqsAt('us-west-2', d.endpoints.sqs['us-west-2'] as string);
    const depths = async () => [await queueDepth(home, d.dispatchDeadLetterQueueUrl), await queueDepth(west, westUrl)];
    try {
      const before = await depths();
      expect(before).toEqual([
        { visible: 4, inFlight: 0 },
        { visible: 1, inFlight: 0 },
      ]);
      await page.goto(`${harness.console.url}#/requests/req-ui-body-story`);
      await poll(() => page.locator('#request-summary').textContent()).toMatch(/2 copies held/);
      const pretty = JSON.stringify(JSON.parse(STORY_BODY), null, 2);
      for (const kind of ['regional queue', 'dispatch DLQ']) {
        const body = page.locator(`#held tr[data-kind="${kind}"] + tr.message-body-row .message-body`);
        expect(await body.locator('.body-toggle').getAttribute('aria-expanded')).toBe('false');
        await body.locator('.body-toggle').click();
        expect(await body.locator('pre.message-body-text').textContent()).toBe(pretty);
        expect(await body.locator('dl.message-attributes dt').allTextContents()).toContain('request_id');
      }
      expect(await page.locator('#held tr[data-kind="dispatch DLQ"] + tr .message-body dl.message-attributes').textContent()).toContain('no region accepted the message');
      expect(await depths()).toEqual(before);
    } finally {
      west.destroy();
    }
  }, 60_000);
});
