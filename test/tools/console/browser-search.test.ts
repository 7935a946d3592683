/**
 * The Executions page's search and pages in Chromium (as browser.test.ts drives it): what a person sees
 * when paging, searching by name and start time, and when a search is wrong; the hash keeps the search.
 */
import { describe, expect, it } from 'vitest';
import { requestBodies, sendBodies, waitFor } from '../../../tools/console/scene.js';
import { consoleInChromium, poll } from './browser-harness.js';

type Listed = { arn: string; name: string; status: string; startDate: number };

/** Every execution, newest first, as the API lists them once the scene is done. */
let all: Listed[] = [];

const { ready, page } = consoleInChromium({
  async setup(harness) {
    // 25 requests: at least 3 executions, since a batch holds at most 10.
    await sendBodies(harness.stack, requestBodies('req-ui-search', 25));
    all = await waitFor('every execution listed as ended', async () => {
      const { body } = await harness.get('/api/executions?limit=1000');
      const listed = body.executions as Listed[];
      const done = listed.length >= 3 && listed.every((e) => e.status !== 'RUNNING') && harness.stack.stepFunctions.executions().every((e) => e.status !== 'RUNNING');
      return done && listed.length === harness.stack.stepFunctions.executions().length ? listed : undefined;
    });
  },
});
const shownNames = () => page.locator('#executions tbody tr[data-name]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-name')));
const info = () => page.locator('#executions-info').textContent();
const button = (action: string) => page.locator(`[data-action="${action}"]`);

describe('searching executions in Chromium', () => {
  it('pages newest first from a link that sets the page size, forward and back, and says what it counts', async () => {
    const harness = ready();
    const n = all.length;
    const name = (i: number) => (all[i] as Listed).name;
    await page.goto(`${harness.console.url}#/executions?limit=1`);
    await poll(shownNames).toEqual([name(0)]);
    expect(await info()).toBe(`1–1 of ${n} executions`);
    expect(await page.locator('select[name="limit"]').inputValue()).toBe('1');
    expect(await button('previous').isDisabled()).toBe(true);

    await button('next').click();
    await poll(shownNames).toEqual([name(1)]);
    expect(await info()).toBe(`2–2 of ${n} executions`);
    await button('next').click();
    await poll(shownNames).toEqual([name(2)]);
    await button('previous').click();
    await poll(shownNames).toEqual([name(1)]);
    await button('newest').click();
    await poll(shownNames).toEqual([name(0)]);
    expect(await button('previous').isDisabled()).toBe(true);

    // The last page: nothing older.
    await page.locator('select[name="limit"]').selectOption('1000');
    await poll(shownNames).toEqual(all.map((e) => e.name));
    expect(await button('next').isDisabled()).toBe(true);
    expect(new URL(page.url()).hash).toBe('#/executions?limit=1000');
  }, 60_000);

  it('searches by part of the name in any case and by start time, keeps the search in the link, and says what is wrong', async () => {
    const harness = ready();
    const target = all[1] as Listed;
    const part = (target.name.split('-')[1] ?? '').toUpperCase();
    const expected = all.filter((e) => e.name.toUpperCase().includes(part)).map((e) => e.name);
    await page.goto(`${harness.console.url}#/executions`);
    await poll(shownNames).toEqual(all.map((e) => e.name));

    await page.locator('input[name="name"]').fill(part);
    await poll(shownNames).toEqual(expected);
    expect(await info()).toBe(`1–${expected.length} of ${expected.length} matching, among the ${all.length} kept`);
    expect(new URL(page.url()).hash).toBe(`#/executions?name=${part}`);
    // The link reproduces the search.
    await page.reload();
    await poll(shownNames).toEqual(expected);
    expect(await page.locator('input[name="name"]').inputValue()).toBe(part);

    await button('clear').click();
    await poll(shownNames).toEqual(all.map((e) => e.name));
    expect(new URL(page.url()).hash).toBe('#/executions');

    // A quick pick: these executions all started within the last 15 minutes.
    await page.locator('select[name="range"]').selectOption('15m');
    await poll(info).toBe(`1–${all.length} of ${all.length} matching, among the ${all.length} kept`);
    expect(new URL(page.url()).hash).toBe('#/executions?range=15m');

    // A range that ends before every execution started: nothing matches, and the page says so.
    await page.locator('select[name="range"]').selectOption('custom');
    const local = (ms: number) => new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    const oldest = Math.min(...all.map((e) => e.startDate));
    await page.locator('input[name="to"]').fill(local(oldest - 120_000));
    const empty = page.locator('#executions tbody td.empty');
    await poll(() => empty.textContent()).toMatch(new RegExp(`^No execution with started until .*: none of those the local endpoint keeps \\(${all.length} read\\) matches the search`));
    expect(decodeURIComponent(new URL(page.url()).hash)).toBe(`#/executions?to=${new Date(Math.floor((oldest - 120_000) / 60_000) * 60_000).toISOString()}`);

    // From after to: the API's reason, naming the parameter.
    await page.locator('input[name="from"]').fill(local(oldest));
    await poll(() => page.locator('#executions-problem .error').textContent()).toMatch(/^query parameter from: is after to \(/);
    expect(await page.locator('#executions tbody tr').count()).toBe(0);

    // A link with a date that is not one.
    await page.goto(`${harness.console.url}#/executions?from=yesterday`);
    await poll(() => page.locator('#executions-problem .error').textContent()).toBe(
      'query parameter from: must be an ISO 8601 time (2024-05-01T10:00:00Z) or epoch milliseconds',
    );
    expect(await page.locator('select[name="range"]').inputValue()).toBe('custom');
  }, 60_000);
});
