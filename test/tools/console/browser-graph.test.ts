/**
 * The execution graph a person can read, in Chromium: Map states drawn as blocks that open in place (by
 * click, Enter or Space), states never entered hidden by default, and "fit" showing a handful of boxes
 * large enough to read; a legend for the outcomes, a closed block and the dashed edges. One local stack
 * and one failed-over execution for the whole file.
 */
import { describe, expect, it } from 'vitest';
import { executionOutputSchema } from '../../../core/outcomes.js';
import { failoverScene } from '../../../tools/console/scene.js';
import { consoleInChromium, poll } from './browser-harness.js';
import { definitionStateNames } from './harness.js';

let executionArn: string;
/** The failover's Map iterations (one per region group) and the batch's messages (one Claim iteration each). */
let groups: number;
let messages: number;
/** The states the execution entered, as the API's history model names them. */
let entered: string[];

const { ready, page } = consoleInChromium({
  async setup(harness) {
    const execution = await failoverScene(harness.stack, 'us-west-2', 'req-graph');
    executionArn = execution.executionArn;
    const output = executionOutputSchema.parse(execution.output);
    groups = (output.forwardedGroups ?? []).length;
    const { body } = await harness.get(`/api/execution?arn=${encodeURIComponent(executionArn)}`);
    entered = Object.keys((body.model as { states: Record<string, unknown> }).states);
    messages = (body.messages as unknown[]).length;
  },
});

const iterations = (n: number) => `${n} iteration${n === 1 ? '' : 's'}`;
/** A Map block's summary when all its iterations ended alike: "1 iteration: caught", "9 iterations: all succeeded". */
const allAlike = (n: number, outcome: string) => `${iterations(n)}: ${n === 1 ? outcome : `all ${outcome}`}`;
const drawn = () => page.locator('svg.graph [data-state]');
const box = (name: string) => page.locator(`svg.graph [data-state="${name}"]`);
const drawnNames = async () => (await drawn().evaluateAll((els) => els.map((e) => e.getAttribute('data-state') ?? ''))).sort();

/** Opens the execution in a new document, so that nothing chosen on an earlier page carries over. */
async function openExecution() {
  const harness = ready();
  await page.goto('about:blank');
  await page.goto(`${harness.console.url}#/execution/${encodeURIComponent(executionArn)}`);
  await box('Forward to regions').waitFor();
}

describe('GET /api/graph?view=', () => {
  it('lays out a view, and answers a bad one with a 400 that names the parameter and why', async () => {
    const harness = ready();
    const get = (view: string) => harness.get(`/api/graph?view=${encodeURIComponent(view)}`);
    const { status, body } = await get('{"open":[]}');
    expect(status).toBe(200);
    expect((body.nodes as Array<{ name: string }>).map((n) => n.name)).toEqual(['Claim requests', 'Read queue depths', 'No depth readings', 'Choose regions', 'Forward to regions', 'Report outcomes']);
    expect(await get('{open')).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^query parameter view: must be JSON/) } });
    expect(await get('{"open":["Forward"]}')).toMatchObject({ status: 400, body: { error: 'query parameter view.open: no Map or Parallel state named Forward' } });
    expect(await get('{"hide":true}')).toMatchObject({ status: 400, body: { error: 'query parameter view.hide: needs states: what the execution entered' } });
    expect(await harness.get('/api/graph?colour=red')).toMatchObject({ status: 400, body: { error: 'unknown query parameter: colour' } });
  });
});

describe('the execution graph in Chromium', () => {
  it('at fit, draws a handful of boxes large enough to read: Map blocks summed up, no state never entered', async () => {
    await openExecution();
    // The blocks, and the top-level states entered: 5 boxes of the definition's 51.
    expect(await drawnNames()).toEqual(['Choose regions', 'Claim requests', 'Forward to regions', 'Read queue depths', 'Report outcomes']);
    expect(await page.locator('.graph-note').textContent()).toBe(`5 of ${definitionStateNames(ready().stack).length} states drawn: ${definitionStateNames(ready().stack).length - 5} inside closed blocks or never entered.`);
    expect(await page.locator('svg.graph [data-outcome="not-entered"]').count()).toBe(0);

    // A block per Map, closed, saying how its iterations ended and coloured by the worst of it.
    const forward = box('Forward to regions');
    expect(await forward.getAttribute('data-kind')).toBe('block');
    expect(await forward.getAttribute('aria-expanded')).toBe('false');
    expect(await forward.getAttribute('data-outcome')).toBe('caught');
    // The summary as drawn, its lines joined (how it wraps depends on the counts the scene made).
    const summary = async (name: string) => (await box(name).locator('.summary').allTextContents()).join(' ');
    // One region group's iteration caught its Forward's error (and failed over); the others succeeded.
    expect(await summary('Forward to regions')).toBe(groups === 1 ? allAlike(1, 'caught') : `${iterations(groups)}: 1 caught, ${groups - 1} succeeded`);
    expect(await box('Claim requests').getAttribute('data-outcome')).toBe('succeeded');
    expect(await summary('Claim requests')).toBe(allAlike(messages, 'succeeded'));

    // The legend says what a closed block and a dashed edge are, drawn as the graph draws them.
    const key = (name: string) => page.locator(`.legend [data-key="${name}"]`);
    expect(await key('block').textContent()).toBe('closed Map or Parallel');
    expect(await key('block').locator('rect').evaluateAll((els) => els.map((e) => e.getAttribute('class')))).toEqual(['stack', 'box']);
    expect(await key('skipped').textContent()).toBe('through states not entered');
    type Styles = { getComputedStyle(element: unknown, pseudo?: string): { strokeDasharray: string; content: string } };
    const dashes = (name: string) => key(name).locator('path').evaluate((e) => (globalThis as unknown as Styles).getComputedStyle(e).strokeDasharray);
    expect(await dashes('skipped')).toBe('2px, 4px');
    expect(await dashes('catch')).toBe('5px, 3px');
    // Each key shows its drawing alone (another view's key marker is not drawn before it).
    for (const name of ['block', 'skipped', 'catch']) {
      expect(await key(name).evaluate((e) => (globalThis as unknown as Styles).getComputedStyle(e, '::before').content), name).toBe('none');
    }

    // Readable: every name is drawn at least 11 px tall, and the whole graph is inside the frame.
    const heights = await page.locator('svg.graph .state .label').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().height));
    expect(Math.min(...heights)).toBeGreaterThanOrEqual(11);
    const [frame, world] = await Promise.all([page.locator('svg.graph').boundingBox(), page.locator('svg.graph .world').boundingBox()]);
    expect(frame && world).toBeTruthy();
    if (!frame || !world) return;
    expect(world.x >= frame.x && world.y >= frame.y && world.x + world.width <= frame.x + frame.width && world.y + world.height <= frame.y + frame.height).toBe(true);
  }, 60_000);

  it('opens a block in place by a click and by Enter, closes it by Space, and keeps the keyboard on it', async () => {
    await openExecution();
    await box('Forward to regions').click();
    await poll(() => box('Forward to regions').getAttribute('aria-expanded')).toBe('true');
    // Its states drawn inside it; the Settle map inside is a block of its own; the panel shows the Map.
    for (const name of ['To a region?', 'Forward', 'Region refused', 'Failover']) expect(await box(name).count(), name).toBe(1);
    expect(await box('Settle').getAttribute('aria-expanded')).toBe('false');
    // The nested Map counts its iterations over all its visits (one per region group): one per message.
    expect(await box('Settle').getAttribute('aria-label')).toBe(`Settle, Map: ${allAlike(messages, 'succeeded')}`);
    expect(await box('Mark dispatched').count()).toBe(0);
    expect(await page.locator('#state-details h2').textContent()).toBe('Forward to regions');
    // Only what was entered: the retry's back-off and the dead-letter path are not drawn.
    for (const name of ['Back off', 'Forward again', 'Messages to dead-letter again']) expect(await box(name).count(), name).toBe(0);

    await box('Settle').focus();
    await page.keyboard.press('Enter');
    await poll(() => box('Settle').getAttribute('aria-expanded')).toBe('true');
    expect(await box('Mark dispatched').getAttribute('data-outcome')).toBe('succeeded');
    expect(await page.locator('svg.graph :focus').getAttribute('data-state')).toBe('Settle');

    await page.keyboard.press(' ');
    await poll(() => box('Settle').getAttribute('aria-expanded')).toBe('false');
    expect(await box('Mark dispatched').count()).toBe(0);
    expect(await page.locator('svg.graph :focus').getAttribute('data-state')).toBe('Settle');
  }, 60_000);

  it('expands all and collapses all; unhidden, it draws every state of the definition, those never entered as such', async () => {
    const names = definitionStateNames(ready().stack);
    await openExecution();
    await page.locator('.graph-controls button[name="expand-all"]').click();
    await poll(drawnNames).toEqual([...entered].sort());
    expect(await page.locator('svg.graph [data-outcome="not-entered"]').count()).toBe(0);

    await page.locator('.graph-controls input[name="hide"]').uncheck();
    await poll(() => drawn().count()).toBe(names.length);
    expect(await box('Dead-letter').getAttribute('data-outcome')).toBe('not-entered');
    expect(await box('Back off').getAttribute('data-outcome')).toBe('not-entered');
    expect(await page.locator('svg.graph [data-outcome="not-entered"]').count()).toBe(names.length - entered.length);

    await page.locator('.graph-controls button[name="collapse-all"]').click();
    await poll(drawnNames).toEqual(['Choose regions', 'Claim requests', 'Forward to regions', 'No depth readings', 'Read queue depths', 'Report outcomes']);
    expect(await box('No depth readings').getAttribute('data-outcome')).toBe('not-entered');
  }, 60_000);

  it('shows a state chosen from the list of errors: opens the block that holds it, selects it, zooms to it', async () => {
    await openExecution();
    expect(await box('Forward').count()).toBe(0);
    await page.locator('#notable a', { hasText: 'Forward' }).first().click();
    await poll(() => box('Forward').getAttribute('class')).toMatch(/\bselected\b/);
    expect(await box('Forward to regions').getAttribute('aria-expanded')).toBe('true');
    expect(await page.locator('#state-details h2').textContent()).toBe('Forward');
    // Zoomed to it: the state is drawn at the middle of the frame.
    const centre = async (selector: string) => {
      const b = await page.locator(selector).boundingBox();
      return b ? { x: Math.round(b.x + b.width / 2), y: Math.round(b.y + b.height / 2) } : undefined;
    };
    const frame = await centre('svg.graph');
    await poll(async () => {
      const forward = await centre('svg.graph [data-state="Forward"] rect.box');
      return forward && frame ? Math.max(Math.abs(forward.x - frame.x), Math.abs(forward.y - frame.y)) : undefined;
    }).toBeLessThanOrEqual(2);
  }, 60_000);
});
