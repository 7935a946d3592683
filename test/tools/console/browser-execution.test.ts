/**
 * The execution page's tabs in Chromium (see browser-harness.ts for the setup): the table of events, the
 * timeline, the input and output, the definition, and the tab in the URL. Two executions on one local
 * stack: a batch whose us-west-2 forward is retried, then caught and failed over; and an execution started
 * by hand with an input the definition cannot take (it fails), that carries markup and a long field.
 */
import { SFNClient, StartSyncExecutionCommand } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { failoverScene } from '../../../tools/console/scene.js';
import { LOCAL_CREDENTIALS } from '../../../tools/local/resources.js';
import { consoleInChromium, poll } from './browser-harness.js';
import { definitionStateNames, type ConsoleHarness } from './harness.js';

let failover: { arn: string; name: string };
let broken: { arn: string; input: string; error: string; cause: string };

/** Markup in an execution's input: drawn as text, it never becomes an element. */
const MARKUP = '<img src=x onerror=window.__injected=1>';

const { ready, page } = consoleInChromium({
  context: { permissions: ['clipboard-read', 'clipboard-write'] },
  async setup(harness) {
    const execution = await failoverScene(harness.stack, 'us-west-2', 'req-ui-views');
    failover = { arn: execution.executionArn, name: execution.name };
    const d = harness.stack.description;
    const sfn = new SFNClient({ region: d.homeRegion, endpoint: d.endpoints.stepFunctions, credentials: LOCAL_CREDENTIALS, disableHostPrefix: true });
    try {
      const input = JSON.stringify({ batchId: MARKUP, messages: 'not a list', padding: 'p'.repeat(100_000) });
      const started = await sfn.send(new StartSyncExecutionCommand({ stateMachineArn: d.stateMachineArn, name: 'broken-input-ui', input }));
      broken = { arn: started.executionArn as string, input, error: started.error as string, cause: started.cause as string };
    } finally {
      sfn.destroy();
    }
  },
});
const open = (harness: ConsoleHarness, arnOrName: string, tab?: string) =>
  page.goto(`${harness.console.url}#/execution/${encodeURIComponent(arnOrName)}${tab ? `?tab=${tab}` : ''}`);
const readClipboard = () => page.evaluate<string>('navigator.clipboard.readText()');
const tabParam = () => new URL(page.url()).hash.split('?tab=')[1];

type Row = { id: number; type: string; step?: string; iteration?: string; failed: boolean; fields: Array<{ name: string; text: string; bytes: number; moreBytes: number }> };
type Bar = { key: string; kind: string; name: string; startMs: number; endMs: number; outcome: string; retries: number; attempts: Array<{ outcome: string }> };
type Detail = { history: Row[]; timeline: { totalMs: number; axis: Array<{ label: string }>; bars: Bar[] }; execution: { input: string; output: string } };
const detailOf = async (harness: ConsoleHarness, arn: string) => (await harness.get(`/api/execution?arn=${encodeURIComponent(arn)}`)).body as unknown as Detail;

describe('an execution in tabs, as the Step Functions console shows one', () => {
  it('opens the table of events from a deep link: pages, filters by type and text, and opens a row to its error and cause', async () => {
    const harness = ready();
    const detail = await detailOf(harness, failover.arn);
    const total = detail.history.length;
    expect(total).toBeGreaterThan(50); // pages of 25: the smallest batch that failed over has more

    // By the execution's name, on the events tab: that tab is the one shown.
    await open(harness, failover.name, 'events');
    const rows = page.locator('#event-history tbody tr.event-row');
    await poll(() => page.locator('#events-count').textContent()).toBe(`Events 1–${Math.min(100, total)} of ${total}`);
    expect(await page.locator('#tab-events').getAttribute('aria-selected')).toBe('true');
    expect(await page.locator('#panel-graph').isHidden()).toBe(true);
    expect(await rows.count()).toBe(Math.min(100, total));

    // Pages of 25: the next page starts where the first ended, the one before goes back.
    await page.locator('select[name="page-size"]').selectOption('25');
    await poll(() => page.locator('#events-count').textContent()).toBe(`Events 1–25 of ${total}`);
    await page.locator('[data-page="next"]').click();
    await poll(() => page.locator('#events-count').textContent()).toBe(`Events 26–50 of ${total}`);
    expect(await rows.count()).toBe(25);
    expect(await rows.first().getAttribute('data-event-id')).toBe('26');
    await page.locator('[data-page="previous"]').click();
    await poll(() => rows.first().getAttribute('data-event-id')).toBe('1');
    expect(await page.locator('[data-page="previous"]').isDisabled()).toBe(true);

    // Failed events only: the two failures of the us-west-2 forward, in the Forward to regions iteration that ran it.
    await page.locator('select[name="event-filter"]').selectOption('failed');
    const failed = detail.history.filter((r) => r.failed);
    await poll(() => page.locator('#events-count').textContent()).toBe(`Events 1–${failed.length} of ${failed.length} (of ${total})`);
    expect(failed.map((r) => r.type)).toEqual(['LambdaFunctionFailed', 'LambdaFunctionFailed']);
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-event-id')))).toEqual(failed.map((r) => String(r.id)));
    for (let i = 0; i < failed.length; i += 1) {
      expect(await rows.nth(i).locator('td.step').textContent()).toBe('Forward');
      expect(await rows.nth(i).locator('td.iteration').textContent()).toBe(failed[0]?.iteration);
      expect(await rows.nth(i).locator('td.resource').textContent()).toBe('inference-dispatch-forward-local');
    }
    expect(failed[0]?.iteration).toMatch(/^Forward to regions #\d$/);

    // A row opens to its error and cause.
    await rows.first().locator('button.expand').click();
    const opened = page.locator(`tr.event-details[data-event-id="${failed[0]?.id}"]`);
    expect(await opened.locator('[data-field="error"] pre').textContent()).toBe('RegionUnavailable');
    expect(await opened.locator('[data-field="cause"] pre').textContent()).toBe(failed[0]?.fields.find((f) => f.name === 'cause')?.text);
    expect(await rows.first().locator('button.expand').getAttribute('aria-expanded')).toBe('true');

    // By text, over every type: the two events of the state the catch went to.
    await page.locator('select[name="event-filter"]').selectOption('all');
    await page.locator('input[name="event-search"]').fill('region refused');
    await poll(() => rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-type')))).toEqual(['PassStateEntered', 'PassStateExited']);
    await page.locator('input[name="event-search"]').fill('no such text anywhere');
    await poll(() => page.locator('#event-history td.empty').textContent()).toBe('No event matches the filter.');
  }, 60_000);

  it("draws the timeline: a bar per state, Map iterations under their Map, the caught Forward's two attempts, its figures on hover", async () => {
    const harness = ready();
    const { timeline } = await detailOf(harness, failover.arn);
    await open(harness, failover.arn);
    await page.locator('#tab-timeline').click();
    expect(tabParam()).toBe('timeline');
    const bars = page.locator('#timeline .gantt-row[data-key]');
    await poll(() => bars.count()).toBe(timeline.bars.length);
    expect(await page.locator('#timeline .gantt-axis .tick').allTextContents()).toEqual(timeline.axis.map((t) => t.label));
    expect(await bars.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')))).toEqual(timeline.bars.map((b) => b.key));

    // The Forward that was retried, then caught: coloured so, its failed attempts marked, ↻1.
    const caught = timeline.bars.filter((b) => b.name === 'Forward' && b.outcome === 'caught');
    expect(caught).toHaveLength(1);
    const forward = caught[0] as Bar;
    expect(forward.attempts.map((a) => a.outcome)).toEqual(['failed', 'failed']);
    const row = page.locator(`#timeline .gantt-row[data-key="${forward.key}"]`);
    expect(await row.locator('.attempt-failed').count()).toBe(2);
    expect(await row.locator('.bar').getAttribute('class')).toContain('outcome-caught');
    expect(await row.locator('.bar .retries').textContent()).toBe('↻1');
    // Placed on the axis: its left edge at its start's share of the whole.
    const left = await row.locator('.bar').evaluate((el) => (el as unknown as { style: { left: string } }).style.left);
    expect(Number.parseFloat(left)).toBeCloseTo((forward.startMs / timeline.totalMs) * 100, 3);

    await row.locator('.bar').hover();
    const figures = page.locator('#timeline-figures');
    await poll(() => figures.textContent()).toMatch(new RegExp(`^Forward \\(Task\\): caught · entered at \\+${Math.round(forward.startMs)} ms · exited at \\+${Math.round(forward.endMs)} ms`));
    expect(await figures.textContent()).toMatch(/2 attempts: #1 .* failed \(RegionUnavailable\); #2 .* failed \(RegionUnavailable\)$/);
    // Focus shows the same figures (the keyboard's way in).
    await page.locator(`#timeline .gantt-row[data-key="${timeline.bars[0]?.key}"] .bar`).focus();
    await poll(() => figures.textContent()).toMatch(/^Claim requests \(Map\): succeeded/);

    // A Map folds away what ran inside it, and opens again.
    const map = timeline.bars.find((b) => b.name === 'Forward to regions') as Bar;
    const inside = timeline.bars.filter((b) => isUnder(timeline.bars, b, map.key)).length;
    await page.locator(`#timeline .gantt-row[data-key="${map.key}"] button.fold`).click();
    await poll(() => bars.count()).toBe(timeline.bars.length - inside);
    await page.locator(`#timeline .gantt-row[data-key="${map.key}"] button.fold`).click();
    await poll(() => bars.count()).toBe(timeline.bars.length);

    // Arrow keys move between tabs, and the URL follows.
    await page.locator('#tab-timeline').focus();
    await page.keyboard.press('ArrowRight');
    await poll(() => tabParam()).toBe('io');
    expect(await page.locator('#panel-io').isVisible()).toBe(true);
  }, 60_000);

  it('shows the input and output pretty with a copy button, and the deployed definition on its own tab', async () => {
    const harness = ready();
    const { execution } = await detailOf(harness, failover.arn);
    await open(harness, failover.arn, 'io');
    const input = page.locator('#execution-input');
    await poll(() => input.textContent()).toBe(JSON.stringify(JSON.parse(execution.input), null, 2));
    expect(JSON.parse((await page.locator('#execution-output').textContent()) ?? '')).toEqual(JSON.parse(execution.output));
    await page.getByRole('button', { name: 'Copy output' }).click();
    await poll(() => page.locator('[data-part="output"] .copy-status').textContent()).toBe('Copied.');
    expect(await readClipboard()).toBe(JSON.stringify(JSON.parse(execution.output), null, 2));

    // The definition, as DescribeStateMachine gives it: every state of the one the stack runs.
    await page.locator('#tab-definition').click();
    const definition = page.locator('#definition-json');
    await definition.waitFor();
    const { body } = await harness.get('/api/definition');
    expect(JSON.parse((await definition.textContent()) ?? '')).toEqual(body.definition);
    expect(await page.locator('.definition-view p.muted').textContent()).toMatch(new RegExp(`^${definitionStateNames(harness.stack).length} states, `));
    // A reload keeps the tab.
    await page.reload();
    await definition.waitFor();
    expect(await page.locator('#tab-definition').getAttribute('aria-selected')).toBe('true');
    expect((await harness.get('/api/definition?x=1')).body.error).toBe('unknown query parameter: x');
  }, 60_000);

  it("shows a failed execution's error and cause, its input capped and escaped, and copies the whole input", async () => {
    const harness = ready();
    expect(broken.error).toBe('States.Runtime');
    await open(harness, broken.arn, 'io');
    await poll(() => page.locator('#execution-error').textContent()).toBe('States.Runtime');
    expect(await page.locator('#execution-cause').textContent()).toBe(broken.cause);
    expect(broken.cause).toMatch(/\$\.messages/);
    expect(await page.locator('#execution-output-missing').textContent()).toBe('No output: the execution FAILED.');

    // Over 64 KiB: shown up to the cap, with what was left out; the markup in it is text.
    const whole = JSON.stringify(JSON.parse(broken.input), null, 2);
    const shown = (await page.locator('#execution-input').textContent()) ?? '';
    // (Compared without printing 100 kB when they differ.)
    expect(shown.length).toBe(64 * 1024);
    expect(whole.startsWith(shown)).toBe(true);
    expect(await page.locator('[data-part="input"] .more-bytes').textContent()).toBe(`… ${whole.length - 64 * 1024} more bytes (${whole.length} in all)`);
    expect(shown.includes(MARKUP)).toBe(true);
    expect(await page.locator('#page img').count()).toBe(0);
    expect(await page.evaluate('typeof window.__injected')).toBe('undefined');
    // The copy button copies all of it.
    await page.getByRole('button', { name: 'Copy input' }).click();
    await poll(() => page.locator('[data-part="input"] .copy-status').textContent()).toBe('Copied.');
    expect((await readClipboard()) === whole).toBe(true);

    // Its first event opens to its input, capped in the table too.
    await page.locator('#tab-events').click();
    const { history } = await detailOf(harness, broken.arn);
    const input = history[0]?.fields.find((f) => f.name === 'input');
    expect(input?.moreBytes).toBeGreaterThan(0);
    await page.locator('#event-history tr.event-row[data-event-id="1"]').click();
    const started = page.locator('tr.event-details[data-event-id="1"] [data-field="input"]');
    expect(await started.locator('pre').textContent()).toBe(input?.text);
    expect(await started.locator('.more-bytes').textContent()).toBe(`… ${input?.moreBytes} more bytes (${input?.bytes} in all)`);

    // Its failed events, and the state it failed in, red on the timeline.
    await page.locator('select[name="event-filter"]').selectOption('failed');
    await poll(() => page.locator('#event-history tr.event-row').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-type')))).toEqual(['MapStateFailed', 'ExecutionFailed']);
    await page.locator('#tab-timeline').click();
    await poll(() => page.locator('#timeline .gantt-row[data-state="Claim requests"]').getAttribute('data-outcome')).toBe('failed');
  }, 60_000);
});

/** Whether a bar is nested, at any depth, under the bar with key `ancestor`. */
function isUnder(bars: readonly Bar[], bar: Bar, ancestor: string): boolean {
  const byKey = new Map(bars.map((b) => [b.key, b as Bar & { parentKey?: string }]));
  for (let at = (bar as Bar & { parentKey?: string }).parentKey; at; at = byKey.get(at)?.parentKey) if (at === ancestor) return true;
  return false;
}
