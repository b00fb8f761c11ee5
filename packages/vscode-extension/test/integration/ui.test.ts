/**
 * The extension as a person uses it: the packaged .vsix installed into code-server, the fixture
 * folder opened in Chromium, the tree read off the screen, Reset Failed Units run from the command
 * palette, the tree seen to update. Screenshots go to test-artifacts/ (look at them).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCheckpointFiles } from '@checkpointkit/storage-file';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildFixtureWorkspace, FIXTURE, type FixtureWorkspace } from '../fixtures/workspace.js';
import { launchChromium, openWorkbench } from '../harness/browser.js';
import { type CodeServer, installExtension, startCodeServer } from '../harness/code-server.js';
import { packageDir } from '../harness/paths.js';

const artifacts = join(packageDir(), 'test-artifacts');
const vsix = join(packageDir(), 'checkpointkit-vscode.vsix');
const UI_TIMEOUT = 60_000;
/**
 * How long the first start may take: code-server's extension host, the extension's activation and
 * its first scan. On an idle 2-core machine about 5 s; a CI machine running every package's tests
 * at once was 2 to 4 times slower than that and once took more than 60 s. Not a speed check (the
 * bench measures that): past it, the error carries the logs that say which step was slow.
 */
const FIRST_START_TIMEOUT = 240_000;

describe('the packaged extension in code-server, driven through Chromium', () => {
  let scratch: string;
  let ws: FixtureWorkspace;
  let server: CodeServer;
  let browser: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    scratch = mkdtempSync(join(tmpdir(), 'checkpointkit-ui-'));
    ws = await buildFixtureWorkspace(join(scratch, 'workspace'));
    await installExtension(vsix, { scratch });
    server = await startCodeServer({ scratch });
    browser = await launchChromium(join(scratch, 'chromium'));
    await browser.grantPermissions(['clipboard-read', 'clipboard-write'], {
      origin: server.origin,
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    await openWorkbench(page, server.url(ws.project));
    await page.locator('.monaco-workbench').waitFor({ timeout: UI_TIMEOUT });
  });

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  const view = () => page.locator('#workbench\\.parts\\.sidebar');
  /** The tree row whose label is exactly `label`. */
  const row = (label: string): Locator =>
    view()
      .locator('.monaco-list-row')
      .filter({
        has: page.locator('.label-name', {
          hasText: new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`),
        }),
      })
      .first();
  const shot = (name: string) => page.screenshot({ path: join(artifacts, `${name}.png`) });

  /**
   * A failure's error gets what the workbench showed then (CI keeps only the log): the tree's rows,
   * the notifications, the quick input; and a screenshot. A CI run on a busy machine once failed
   * two of these tests with nothing saying what was on the screen.
   */
  afterEach(async ({ task }) => {
    const error = task.result?.errors?.[0];
    if (task.result?.state !== 'fail' || !error || !page) return;
    const texts = async (selector: string) =>
      (
        await page
          .locator(selector)
          .allTextContents()
          .catch(() => [])
      ).map((t) => t.trim());
    await shot(`failed-${task.id}`).catch(() => {});
    const screen = {
      rows: await texts('#workbench\\.parts\\.sidebar .monaco-list-row'),
      notifications: await texts('.notifications-toasts .notification-list-item'),
      quickInput: {
        visible: await page
          .locator('.quick-input-widget')
          .first()
          .isVisible()
          .catch(() => false),
        placeholder: await page
          .locator('.quick-input-widget input')
          .first()
          .getAttribute('placeholder', { timeout: 1000 })
          .catch(() => null),
        rows: await texts('.quick-input-widget .quick-input-list .monaco-list-row'),
      },
      dialogs: await texts('.monaco-dialog-box'),
      activityBar: await page
        .locator('.activitybar .badge')
        .evaluateAll((badges) => badges.map((badge) => badge.getAttribute('aria-label')))
        .catch(() => []),
    };
    error.message += `\n[the screen then] ${JSON.stringify(screen)}`;
    error.message += `\n[the server's logs then]\n${server?.logTail() ?? '(no server)'}`;
  });

  /**
   * Opens the view from its activity bar icon, clicked near its top left corner. The badge sits on
   * the icon's lower right; in a CI run on a fresh machine (Chromium and its fonts just installed)
   * it covered the icon's centre, where a plain click lands, for all 60 s ("badge intercepts
   * pointer events"). Run alone afterwards on that machine, the centre click passed.
   */
  async function openView(): Promise<void> {
    await page
      .locator('.activitybar [aria-label^="CheckpointKit"]')
      .first()
      .click({ timeout: UI_TIMEOUT, position: { x: 8, y: 8 } });
  }

  /** Drags the side bar's sash, so descriptions are readable in the screenshots. */
  async function widenSideBar(width: number): Promise<void> {
    const bar = await view().boundingBox();
    if (!bar) return;
    const edge = bar.x + bar.width;
    for (const sash of await page.locator('.monaco-sash.vertical').all()) {
      const box = await sash.boundingBox();
      if (!box || Math.abs(box.x + box.width / 2 - edge) > 6 || box.height < bar.height / 2)
        continue;
      const y = box.y + box.height / 2;
      await page.mouse.move(box.x + box.width / 2, y);
      await page.mouse.down();
      await page.mouse.move(bar.x + width, y, { steps: 8 });
      await page.mouse.up();
      return;
    }
  }

  const textOf = async (locator: Locator) => (await locator.textContent()) ?? '';
  /** Waits (the UI renders asynchronously) until `locator`'s text matches `pattern`. */
  const eventually = (locator: Locator, pattern: RegExp) =>
    expect.poll(() => textOf(locator), { timeout: UI_TIMEOUT }).toMatch(pattern);

  async function runCommand(title: string): Promise<void> {
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ timeout: UI_TIMEOUT });
    await input.fill(`>${title}`);
    await page
      .locator('.quick-input-list .monaco-list-row', { hasText: title })
      .first()
      .waitFor({ timeout: UI_TIMEOUT });
    await page.keyboard.press('Enter');
  }

  async function pick(label: string): Promise<void> {
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ timeout: UI_TIMEOUT });
    await input.fill(label);
    await page
      .locator('.quick-input-list .monaco-list-row', { hasText: label })
      .first()
      .waitFor({ timeout: UI_TIMEOUT });
    await page.keyboard.press('Enter');
  }

  it(
    'shows the checkpoints in their own view, with percent and failures',
    async () => {
      // Before the view is ever opened, its icon's badge counts the checkpoints with failed units.
      await server.waitForExtensionLog(/scan 1: \d+ checkpoint\(s\) read/, FIRST_START_TIMEOUT);
      // The folder was walked with Node's fs (walk.ts), not searched by findFiles.
      await server.waitForExtensionLog(/scan 1: \d+ file\(s\) in \S+ \(walked\)/, UI_TIMEOUT);
      // The log a user would attach to a report names the file it could not read, and the badge.
      await server.waitForExtensionLog(/\[warning\] cannot read .*damaged%3afile/, UI_TIMEOUT);
      await server.waitForExtensionLog(/badge: 5 checkpoint\(s\) with failed units/, UI_TIMEOUT);
      await page
        .locator(
          '.activitybar .badge[aria-label="CheckpointKit - 5 checkpoints with failed units"]',
        )
        .waitFor({ timeout: UI_TIMEOUT });
      await openView();
      await widenSideBar(700);
      await row(FIXTURE.failing).waitFor({ timeout: UI_TIMEOUT });
      await row(FIXTURE.seed003).waitFor({ timeout: UI_TIMEOUT });
      // A row appears first as "reading…"; its description follows when the file is parsed.
      await eventually(row(FIXTURE.failing), /33\.3% · 2 failed/);
      await eventually(row(FIXTURE.seed003), /seed 003/);
      const damaged = view().locator('.monaco-list-row', { hasText: 'damaged%3afile' }).first();
      await eventually(damaged, /cannot be read/);
      await expect
        .poll(() => row(FIXTURE.failing).locator('.codicon-error').count(), { timeout: UI_TIMEOUT })
        .toBe(1);
      await shot('1-tree');
    },
    FIRST_START_TIMEOUT + 300_000,
  );

  it('shows the failed units under their key path, with the error', async () => {
    // A click on a collapsed row expands it.
    for (const label of [FIXTURE.failing, 'collect', 'acme', 'api'])
      await row(label).click({ timeout: UI_TIMEOUT });
    const issues = row('issues');
    await issues.waitFor({ timeout: UI_TIMEOUT });
    await eventually(issues, /retryable · attempts 1 · cursor \{"page":3\} · 3\/5/);
    await issues.locator('.codicon-error').waitFor({ timeout: UI_TIMEOUT });
    await shot('2-failed-units');
  });

  it('resets the failed units from the command palette, and the tree updates', async () => {
    await runCommand('CheckpointKit: Reset Failed Units');
    await pick(FIXTURE.failing);
    await page
      .locator('.notifications-toasts', { hasText: 'reset 2 failed units' })
      .waitFor({ timeout: UI_TIMEOUT });
    await expect
      .poll(() => textOf(row(FIXTURE.failing)), { timeout: UI_TIMEOUT })
      .not.toMatch(/failed/);
    const issues = row('issues');
    await issues.locator('.codicon-circle-large-outline').waitFor({ timeout: UI_TIMEOUT });
    expect(await textOf(issues)).not.toMatch(/retryable/);
    await shot('3-after-reset');
    const disk = await readCheckpointFiles(join(ws.project, '.checkpoints'), FIXTURE.failing);
    expect(disk?.checkpoint.units['collect/acme/api/issues']).toMatchObject({
      status: 'pending',
      cursor: { page: 3 },
    });
  });

  it('shows the summary with a progress bar per phase', async () => {
    await runCommand('CheckpointKit: Show Summary');
    await pick(FIXTURE.seed003);
    const frame = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    await frame.locator('h1', { hasText: FIXTURE.seed003 }).waitFor({ timeout: UI_TIMEOUT });
    expect(await frame.locator('table.phases tr').count()).toBe(2);
    expect(await frame.locator('table.phases svg.bar rect.failed').count()).toBe(1);
    await shot('4-summary');
  });

  it('says so, with a Refresh link, in a workspace without checkpoints', async () => {
    const empty = join(scratch, 'empty');
    mkdirSync(join(empty, 'src'), { recursive: true });
    await openWorkbench(page, server.url(empty));
    await page.locator('.monaco-workbench').waitFor({ timeout: UI_TIMEOUT });
    await openView();
    const welcome = view().locator('.welcome-view-content');
    await welcome
      .getByText('No checkpoints found in this workspace.')
      .waitFor({ timeout: UI_TIMEOUT });
    expect(await welcome.getByRole('button', { name: 'Refresh' }).count()).toBe(1);
    await shot('5-welcome');
  });
});
