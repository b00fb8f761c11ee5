/** Debian's Chromium driven by playwright-core (no browser download). */
import { type BrowserContext, chromium } from 'playwright-core';
import { toolPaths } from './paths.js';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A headless Chromium with its profile in `profileDir` (Playwright refuses a raw --user-data-dir). */
export async function launchChromium(profileDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, {
    executablePath: toolPaths().chromium,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1440, height: 900 },
  });
}
