/**
 * `npm run console:screenshots`: starts a local stack with its web console, makes the scenes (a region
 * that refuses sends, so that a batch fails over; requests no region takes, and malformed ones, in the
 * dispatch DLQ), and saves what a person sees, with headless Chromium:
 *   docs/console-execution.png      the failed-over execution: graph, the caught state's details, the batch
 *   docs/console-dead-letters.png   the Dead letters page, grouped by reason, with the redrive buttons
 * Usage: npm run console:screenshots [-- <output folder>]
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MALFORMED_BODIES } from '../ops/requests.js';
import { startLocalStack } from '../local/stack.js';
import { launchChromium } from './chromium.js';
import { deadLetterScene, failoverScene, sendBodies, sleep } from './scene.js';
import { startConsole } from './server.js';

const out = resolve(process.argv[2] ?? 'docs');
mkdirSync(out, { recursive: true });

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
  await sleep(1500); // the intake dead-letters the malformed ones

  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 }, deviceScaleFactor: 1 });
  page.setDefaultTimeout(20_000);

  await page.goto(`${web.url}#/execution/${encodeURIComponent(execution.executionArn)}`);
  await page.locator('#notable a', { hasText: 'Forward' }).first().click(); // select it and zoom to it
  await page.locator('#state-details .errors').waitFor();
  const executionPng = join(out, 'console-execution.png');
  await page.screenshot({ path: executionPng, fullPage: true });

  await page.goto(`${web.url}#/dead-letters`);
  await page.locator('section[data-queue="dispatch"] .group').first().waitFor();
  await page.locator('section[data-queue="dispatch"] .group details summary').first().click();
  const deadLettersPng = join(out, 'console-dead-letters.png');
  await page.screenshot({ path: deadLettersPng, fullPage: true });

  console.log(`saved ${executionPng}\nsaved ${deadLettersPng}`);
} finally {
  await browser.close();
  await web.stop();
  await stack.stop();
}
