/**
 * `npm run console:screenshots`: starts a local stack with its web console, makes the scenes (a region
 * that refuses sends, so that a batch fails over; requests no region takes, and malformed ones, in the
 * dispatch DLQ; a few more batches, and an execution that fails, for the search), and saves what a
 * person sees, with headless Chromium:
 *   docs/console-executions.png     the Executions page searched (status, start time, page size) on its second page
 *   docs/console-execution.png      the failed-over execution's graph at fit: Map blocks, the caught state's details, the batch
 *   docs/console-events.png         its Table of events filtered to the forward function's events, a failed one opened
 *   docs/console-timeline.png       its Timeline, the Claim map folded, the caught Forward's figures shown
 *   docs/console-dead-letters.png   the Dead letters page, grouped by reason, a JSON body and its attributes opened
 * Usage: npm run console:screenshots [-- <output folder>]
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SFNClient, StartSyncExecutionCommand } from '@aws-sdk/client-sfn';
import type { Page } from 'playwright-core';
import { MALFORMED_BODIES } from '../ops/requests.js';
import { LOCAL_CREDENTIALS } from '../local/resources.js';
import { startLocalStack, type LocalStack } from '../local/stack.js';
import { launchChromium } from './chromium.js';
import { deadLetterScene, failoverScene, requestBodies, sendBodies, sleep, waitFor } from './scene.js';
import { startConsole } from './server.js';

const out = resolve(process.argv[2] ?? 'docs');
mkdirSync(out, { recursive: true });

/** Batches sent a moment apart, so that the Executions page has more than one page to show. */
async function moreBatches(stack: LocalStack, waves: number): Promise<void> {
  for (let i = 0; i < waves; i += 1) {
    await sendBodies(stack, requestBodies(`req-batch-${i + 1}`, 3));
    await sleep(300);
  }
  await waitFor('every execution ended', () => stack.stepFunctions.executions().every((e) => e.status !== 'RUNNING'));
}

/** An execution started by hand with an input the definition cannot take: it fails (States.Runtime). */
async function failedExecution(stack: LocalStack): Promise<void> {
  const d = stack.description;
  const sfn = new SFNClient({ region: d.homeRegion, endpoint: d.endpoints.stepFunctions, credentials: LOCAL_CREDENTIALS, disableHostPrefix: true });
  try {
    await sfn.send(new StartSyncExecutionCommand({ stateMachineArn: d.stateMachineArn, name: 'hand-started-bad-input', input: JSON.stringify({ messages: 'not a list' }) }));
  } finally {
    sfn.destroy();
  }
}

const text = async (page: Page, selector: string) => (await page.locator(selector).textContent()) ?? '';

const stack = await startLocalStack({ env: { regionHealthSeconds: 0 } });
const web = await startConsole({ description: stack.description, sampleIntervalMs: 500 });
const browser = await launchChromium().catch(async (error: Error) => {
  await web.stop();
  await stack.stop();
  console.error(error.message);
  process.exit(1);
});
try {
  console.log(`console at ${web.url}; making the scenes ...`);
  const execution = await failoverScene(stack, 'us-west-2', 'req-demo');
  await deadLetterScene(stack, 'req-unplaced', 3);
  await sendBodies(stack, MALFORMED_BODIES.slice(0, 2));
  await moreBatches(stack, 20);
  await failedExecution(stack);
  await sleep(1500); // the intake dead-letters the malformed ones

  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 }, deviceScaleFactor: 1 });
  page.setDefaultTimeout(20_000);
  const saved: string[] = [];
  const save = async (name: string, fullPage = true) => {
    const path = join(out, name);
    await page.screenshot({ path, fullPage });
    saved.push(path);
  };

  // Executions: the succeeded ones of the last 15 minutes, 10 a page, the second page.
  await page.goto(`${web.url}#/executions?status=SUCCEEDED&range=15m&limit=10`);
  await waitFor('the first page of the search', async () => (await text(page, '#executions-info')).startsWith('1–10 of '));
  await page.locator('[data-action="next"]').click();
  await waitFor('the second page of the search', async () => (await text(page, '#executions-info')).startsWith('11–'));
  await save('console-executions.png');

  // The failed-over execution's graph: the caught state chosen from the list of errors (which opens the
  // Map that holds it), then the whole graph at fit.
  const link = `${web.url}#/execution/${encodeURIComponent(execution.executionArn)}`;
  await page.goto(link);
  await page.locator('#notable a', { hasText: 'Forward' }).first().click();
  await page.locator('#state-details .errors').waitFor();
  await page.locator('.graph-frame g.state[data-state="Forward to regions"][aria-expanded="true"]').waitFor();
  await page.locator('.graph-controls button[name="fit"]').click();
  await save('console-execution.png');

  // Its table of events, by the execution's name: the events of the forward function (a text filter), the
  // first failed one opened to its error and cause.
  await page.goto(`${web.url}#/execution/${encodeURIComponent(execution.name)}?tab=events`);
  await page.locator('#event-history tbody tr.event-row').first().waitFor();
  await page.locator('input[name="event-search"]').fill('inference-dispatch-forward');
  const failed = page.locator('#event-history tr.event-row.failed');
  await failed.first().locator('button.expand').click();
  await page.locator('#event-history tr.event-details [data-field="cause"]').waitFor();
  await save('console-events.png');

  // Its timeline, the Claim map folded, the caught Forward's figures shown (as a hover shows them); back at
  // the top, so that the figures and the axis, which stay in view as the page scrolls, sit above the bars.
  await page.goto(`${link}?tab=timeline`);
  await page.locator('#timeline .gantt-row[data-state="Claim requests"][data-kind="state"] button.fold').click();
  const forward = page.locator('#timeline .gantt-row[data-state="Forward"][data-outcome="caught"] .bar');
  await forward.hover();
  await waitFor("the caught Forward's figures", async () => (await text(page, '#timeline-figures')).startsWith('Forward (Task): caught'));
  await page.evaluate('window.scrollTo(0, 0)');
  await save('console-timeline.png');

  // Dead letters: a group of requests no region took opened, and its first message's body and attributes.
  await page.goto(`${web.url}#/dead-letters`);
  const group = page.locator('section[data-queue="dispatch"] .group[data-reason^="no region accepted"]').first();
  await group.waitFor();
  await group.locator('details summary').click();
  await group.locator('[data-action="toggle-body"]').first().click();
  await group.locator('.message-body-text').first().waitFor();
  await save('console-dead-letters.png');

  console.log(saved.map((path) => `saved ${path}`).join('\n'));
} finally {
  await browser.close();
  await web.stop();
  await stack.stop();
}
