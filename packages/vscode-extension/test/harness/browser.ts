/** Debian's Chromium driven by playwright-core (no browser download). */
import { type BrowserContext, chromium, type Page } from 'playwright-core';
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

/**
 * Opens a workbench URL. Waits only for the document, not the `load` event: the workbench pulls
 * many megabytes of scripts, and on a busy CI machine `load` once took longer than Playwright's
 * default 30 s. Callers then wait for the element they need with their own timeout.
 */
export async function openWorkbench(page: Page, url: string, timeoutMs = 120_000): Promise<void> {
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: timeoutMs });
}
