/**
 * The console's browser tests' shared setup: Chromium (tools/console/chromium.ts) and a console harness
 * for the whole file, a page open on it, and the poll that waits for what the page shows.
 */
import type { Browser, BrowserContextOptions, Page, ViewportSize } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { launchChromium } from '../../../tools/console/chromium.js';
import { startConsoleHarness, type ConsoleHarness } from './harness.js';

export interface ConsoleInChromiumOptions {
  /** The page's size; 1500×950 unless said. */
  readonly viewport?: ViewportSize;
  /** The rest of the page's browser context, such as permissions (the clipboard, for a copy button). */
  readonly context?: Omit<BrowserContextOptions, 'viewport'>;
  /** What the file's tests share (requests sent, executions awaited), once, after the page is open. */
  readonly setup?: (harness: ConsoleHarness, page: Page) => Promise<void>;
}

export interface ConsoleInChromium {
  /** The harness, once the file's setup is done; without Chromium, throws the error that says how to install it. */
  ready(): ConsoleHarness;
  /**
   * The file's page, usable at module scope (in a file's helpers): each use reaches the page the setup
   * opened. Before the setup, or without Chromium, it throws what ready() throws.
   */
  readonly page: Page;
}

/**
 * Registers the file's beforeAll and afterAll: Chromium, then the console harness, then a page on a new
 * browser context, then options.setup. Without Chromium the harness is not started and every test that
 * calls ready() fails with how to install it (counted as failed, never skipped).
 */
export function consoleInChromium(options: ConsoleInChromiumOptions = {}): ConsoleInChromium {
  let harness: ConsoleHarness | undefined;
  let browser: Browser | undefined;
  let opened: Page | undefined;
  let missing: Error | undefined;

  beforeAll(async () => {
    try {
      browser = await launchChromium();
    } catch (error) {
      missing = error as Error;
      return;
    }
    harness = await startConsoleHarness();
    const context = await browser.newContext({ ...options.context, viewport: options.viewport ?? { width: 1500, height: 950 } });
    opened = await context.newPage();
    opened.setDefaultTimeout(20_000);
    await options.setup?.(harness, opened);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await harness?.stop();
  });

  function ready(): ConsoleHarness {
    if (missing) throw missing;
    if (!harness) throw new Error('the console harness is not started: ready() is for tests, after the beforeAll');
    return harness;
  }
  function current(): Page {
    ready();
    if (!opened) throw new Error('the page is not open yet: the beforeAll opens it');
    return opened;
  }
  // Methods are bound to the page itself, so that playwright's objects never see the stand-in as `this`.
  const page = new Proxy({} as Page, {
    get(_, key) {
      const target = current();
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { ready, page };
}

/** Waits for what the page shows (vitest's expect.poll gives up after 1 s by default). */
export const poll = <T>(read: () => Promise<T> | T) => expect.poll(read, { timeout: 20_000, interval: 100 });
