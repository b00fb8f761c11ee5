import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { api, EXTENSION_ID } from './helpers.js';

suite('activation', () => {
  test('the workspace, which contains checkpoint files, activates the extension without a command', async () => {
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(extension, 'installed');
    const deadline = Date.now() + 20_000;
    while (!extension.isActive && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    assert.equal(extension.isActive, true);
    assert.equal(extension.packageJSON.main, './dist/extension.cjs');
  });

  test('every contributed command is registered', async () => {
    await api();
    const manifest = JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8'));
    const contributed: string[] = manifest.contributes.commands.map(
      (c: { command: string }) => c.command,
    );
    assert.equal(contributed.length, 10);
    const registered = new Set(await vscode.commands.getCommands(true));
    for (const command of contributed)
      assert.ok(registered.has(command), `${command} is registered`);
  });

  test('the view container opens', async () => {
    await vscode.commands.executeCommand('workbench.view.extension.checkpointkit');
    await vscode.commands.executeCommand('checkpointkit.checkpoints.focus');
  });

  test('the timings the benchmark splits its figures with are filled in by the first scan', async () => {
    const kit = await api();
    const deadline = Date.now() + 20_000;
    while (kit.timings.firstTreeMs === null && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    const { listedMs, firstTreeMs } = kit.timings;
    assert.ok(listedMs !== null && firstTreeMs !== null, 'listed and populated');
    assert.ok(firstTreeMs >= listedMs, `populated (${firstTreeMs}) after listed (${listedMs})`);
    assert.ok(kit.registry.parseMs > 0, 'the reads counted their parsing time');
    assert.ok(
      kit.registry.parseMs < 60_000,
      `a plausible parsing time: ${kit.registry.parseMs} ms`,
    );
  });

  test('a trusted workspace is what the main suite runs in', () => {
    assert.equal(vscode.workspace.isTrusted, true);
  });
});
