/**
 * The web console in a real browser (Debian's Chromium, headless, driven by playwright-core), asserting
 * what a person sees. Without Chromium these tests fail and say how to install it.
 */
import { executionOutputSchema } from '../../../core/outcomes.js';
import { describe, expect, it } from 'vitest';
import { deadLetterScene, failoverScene, invalidRequestScene, waitFor } from '../../../tools/console/scene.js';
import { consoleInChromium, poll } from './browser-harness.js';
import { definitionStateNames } from './harness.js';

const { ready, page } = consoleInChromium();
const stateBox = (name: string) => page.locator(`svg.graph [data-state="${name}"]`);

describe('the console in Chromium', () => {
  it('lists a failed-over execution live, and draws one node per state of the deployed definition, coloured by what happened', async () => {
    const harness = ready();
    await page.goto(`${harness.console.url}#/executions`);
    await poll(() => page.locator('#executions tbody tr').count()).toBe(1); // the "no executions yet" row

    // The execution happens while the page is open: the list shows it without a reload.
    const execution = await failoverScene(harness.stack, 'us-west-2', 'req-ui-failover');
    const row = page.locator(`#executions tbody tr[data-name="${execution.name}"]`);
    await row.waitFor();
    await poll(() => row.textContent()).toMatch(/failed over/);
    await row.getByRole('link', { name: execution.name }).click();

    // One node per state, counted from the definition the stack runs, once every Map is opened and the
    // states never entered are shown (the graph starts with Map blocks closed, those states hidden).
    const names = definitionStateNames(harness.stack);
    await stateBox('Forward to regions').waitFor();
    await page.locator('.graph-controls button[name="expand-all"]').click();
    await page.locator('.graph-controls input[name="hide"]').uncheck();
    await poll(() => page.locator('svg.graph [data-state]').count()).toBe(names.length);
    for (const name of ['Claim requests', 'Read queue depths', 'Choose regions', 'Forward to regions', 'Forward', 'Failover', 'Settle', 'Report outcomes']) {
      expect(await stateBox(name).count(), name).toBe(1);
    }

    // One Forward for every region: one visit per region with work (one visit per group), coloured by the one that refused
    // (retried, then caught); the failover ran once (for that region only); nothing was dead-lettered.
    expect(await stateBox('Forward').getAttribute('data-outcome')).toBe('caught');
    expect(await stateBox('Forward').textContent()).toContain('↻1');
    // The groups the select step made: a region each, all forwarded.
    const groups = executionOutputSchema.parse(execution.output).forwardedGroups ?? [];
    expect(groups).toContain('us-west-2');
    expect(groups).toContain('us-east-1');
    expect(await stateBox('Forward').textContent()).toContain(`×${groups.length}`);
    expect(await stateBox('Region refused').getAttribute('data-outcome')).toBe('succeeded');
    expect(await stateBox('Failover').getAttribute('data-outcome')).toBe('succeeded');
    expect(await stateBox('Failover').textContent()).not.toContain('×');
    expect(await stateBox('Dead-letter').getAttribute('data-outcome')).toBe('not-entered');

    // A click shows the state's errors, in order, and each visit's input (the region's) and events.
    await stateBox('Forward').click();
    const details = page.locator('#state-details');
    await poll(() => details.locator('h2').textContent()).toBe('Forward');
    const errors = await details.locator('.errors li').allTextContents();
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/^RegionUnavailable .* retried/);
    expect(errors[1]).toMatch(/^RegionUnavailable .* caught, went on to “Region refused”/);
    const inputs = await details.locator('pre.input').allTextContents();
    expect(inputs).toHaveLength(groups.length);
    const regionOf = (text: string) => (JSON.parse(text) as { region?: string }).region;
    expect(inputs.filter((text) => regionOf(text) === 'us-west-2')).toHaveLength(1);
    expect(inputs.filter((text) => regionOf(text) === 'us-east-1')).toHaveLength(1);
    expect(await details.locator('.events .event').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining('LambdaFunctionFailed'), expect.stringContaining('TaskStateExited')]),
    );

    // The batch's messages: those that failed over say from where.
    const moved = page.locator('#messages tbody tr', { hasText: 'yes, from us-west-2' });
    expect(await moved.count()).toBeGreaterThan(0);
  }, 60_000);

  it("shows each region's depth, counts and chart, and the DLQs' depths, on the Regions page", async () => {
    const harness = ready();
    await page.goto(`${harness.console.url}#/regions`);
    const cards = page.locator('section.card[data-region]');
    await poll(() => cards.count()).toBe(harness.stack.description.regions.length);
    // The failover of the first test is counted on the region it left.
    await poll(() => page.locator('section.card[data-region="us-west-2"] dd[data-field="failed over from here"]').textContent()).not.toBe('0');
    for (const region of harness.stack.description.regions.map((r) => r.region)) {
      const card = page.locator(`section.card[data-region="${region}"]`);
      expect(await card.locator('h2 .health-ok').textContent()).toBe('healthy'); // region health is off in these stacks
      expect(await card.locator('svg.chart polyline').count()).toBe(4);
      // What the region is weighed by: nothing is set in these stacks, so its configured capacity (or the estimate).
      expect(await card.locator('dd[data-field="weighed by"]').textContent()).toMatch(/^\d+ \((configured|estimated: in flight with a backlog)\)$/);
      expect(await card.locator('dd[data-field="capacity set"]').textContent()).toBe('not set');
    }
    // The dispatch DLQ, both master lanes' DLQs, and both lanes' DLQs of every region.
    expect(await page.locator('#dlq-depths tbody tr').count()).toBe(3 + 2 * harness.stack.description.regions.length);
  }, 60_000);

  it('redrives the dispatch DLQ from the Dead letters page after a confirmation: the DLQ empties and each request is dispatched once', async () => {
    const harness = ready();
    const ids = await deadLetterScene(harness.stack, 'req-ui-dlq', 2);
    await page.goto(`${harness.console.url}#/dead-letters`);
    const dispatchDlq = page.locator('section[data-queue="dispatch"]');
    await poll(() => dispatchDlq.locator('.queue-count').textContent()).toMatch(/^2 messages read/);
    // Grouped by reason (one group, or one per region first tried, as the batches fell).
    const reasons = await dispatchDlq.locator('.group .reason').allTextContents();
    for (const reason of reasons) expect(reason).toMatch(/^no region accepted the message: us-[a-z]+-\d: RegionUnavailable/);
    expect((await dispatchDlq.locator('.group .count').allTextContents()).reduce((s, n) => s + Number(n), 0)).toBe(2);

    await dispatchDlq.locator('[data-action="redrive-all"]').click();
    const dialog = page.locator('#redrive-dialog');
    await poll(() => dialog.locator('#redrive-plan').textContent()).toMatch(/^2 messages would move back to the master queue/);
    for (const id of ids) expect(await harness.recordStatus(id)).toBe('DEAD_LETTERED'); // a dry run changes nothing
    await dialog.locator('#confirm-redrive').click();
    await poll(() => dialog.locator('#redrive-result').textContent()).toBe('2 moved, 0 skipped, 0 failed.');
    await dialog.getByRole('button', { name: 'Close' }).click();
    await poll(() => dispatchDlq.locator('.empty').textContent()).toBe('Empty.');

    // Each request is dispatched once: its record says DISPATCHED, and one copy is in a regional queue.
    for (const id of ids) await waitFor(`${id} dispatched`, async () => (await harness.recordStatus(id)) === 'DISPATCHED');
    await page.goto(`${harness.console.url}#/requests/${ids[0]}`);
    await poll(() => page.locator('#request-summary').textContent()).toMatch(/^Record DISPATCHED \(us-[a-z]+-\d\)\. 1 copy held: inference-dispatch-queue-us-/);
    expect(await page.locator('#held tbody tr[data-kind="regional queue"]').count()).toBe(1);
    for (const id of ids) expect(await harness.regionalCopies(id)).toHaveLength(1);
  }, 60_000);

  it('finds an invalid request the intake dead-lettered by the request_id in its body: on the Requests page and on the Dead letters page', async () => {
    const harness = ready();
    const d = harness.stack.description;
    const id = 'req-ui-invalid-body';
    await invalidRequestScene(harness.stack, id);
    const dlqName = d.dispatchDeadLetterQueueUrl.split('/').at(-1) as string;
    await page.goto(`${harness.console.url}#/requests/${id}`);
    await poll(() => page.locator('#request-summary').textContent()).toBe(`No record in the table (never claimed, or expired). 1 copy held: ${dlqName} (ready).`);
    const held = page.locator('#held tbody tr[data-kind="dispatch DLQ"]');
    expect(await held.count()).toBe(1);
    expect(await held.textContent()).toMatch(/invalid request: input_data_url must be an s3:\/\/ or http\(s\):\/\/ URL.*the intake \(request_id read from the body\)/);

    // On the Dead letters page it is listed under its request_id, with a button to redrive it by that id.
    await page.goto(`${harness.console.url}#/dead-letters`);
    const group = page.locator('section[data-queue="dispatch"] .group', { hasText: 'invalid request: input_data_url' });
    await group.waitFor();
    expect(await group.locator('summary').textContent()).toBe('1 request_id');
    expect(await group.locator(`tr[data-request-id="${id}"] [data-action="redrive-one"]`).count()).toBe(1);
  }, 60_000);

  it('titles every DLQ section by its label, the master high lane\'s too', async () => {
    const harness = ready();
    await page.goto(`${harness.console.url}#/dead-letters`);
    const titles = page.locator('#dead-letters section[data-queue] h2');
    await poll(() => titles.count()).toBe(3);
    const d = harness.stack.description;
    const name = (url: string | undefined) => (url ?? '').split('/').at(-1);
    expect(await titles.allTextContents()).toEqual([
      `Dispatch DLQ ${name(d.dispatchDeadLetterQueueUrl)}`,
      `Master DLQ ${name(d.masterDeadLetterQueueUrl)}`,
      `Master high DLQ ${name(d.masterHighDeadLetterQueueUrl)}`,
    ]);
  }, 60_000);

  it('says that nothing matches the status filter, not that there are no executions', async () => {
    const harness = ready();
    await page.goto(`${harness.console.url}#/executions`);
    await poll(() => page.locator('#executions tbody tr[data-name]').count()).not.toBe(0);
    await page.locator('select[name="status"]').selectOption('ABORTED');
    const empty = page.locator('#executions tbody td.empty');
    await poll(() => empty.textContent()).toBe(
      'No ABORTED execution: none of those the local endpoint keeps matches the filter (choose “all statuses” to see them all).',
    );
    // Without a filter, the list is back.
    await page.locator('select[name="status"]').selectOption('');
    await poll(() => page.locator('#executions tbody tr[data-name]').count()).not.toBe(0);
  }, 60_000);

  it('opens an execution from a deep link that names it by its name, as by its ARN', async () => {
    const harness = ready();
    const { body } = await harness.get('/api/executions');
    const first = (body.executions as Array<{ name: string; arn: string; status: string }>)[0] as { name: string; arn: string; status: string };
    await page.goto(`${harness.console.url}#/execution/${encodeURIComponent(first.name)}`);
    await poll(() => page.locator('#execution-status').textContent()).toBe(first.status);
    expect(await page.locator('h1 .mono').textContent()).toBe(first.name);
    expect(await page.locator('p.muted.mono').first().textContent()).toBe(first.arn);
    expect(await page.locator('#page .error').count()).toBe(0);
  }, 60_000);
});
