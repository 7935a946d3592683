/**
 * Headless Chromium for the console's browser tests and screenshots: Debian's package, driven by
 * playwright-core (which downloads no browser of its own), in a new empty profile, with nothing that
 * reaches out to the network.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export class ChromiumMissingError extends Error {
  override name = 'ChromiumMissingError';
}

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches Chromium (playwright gives each launch a new empty --user-data-dir), or says how to install it. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new ChromiumMissingError(
      `Chromium is not installed at ${CHROMIUM_PATH}, and the console's browser tests and screenshots need it. ` +
        'Install Debian\'s package (as root): apt-get update && apt-get install -y --no-install-recommends chromium ' +
        '(.ci/run does this where it is missing), or point CHROMIUM_PATH at a Chromium binary.',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: FLAGS });
}
