import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkpointFileName } from '@checkpointkit/storage-file';
import * as vscode from 'vscode';
import type { Outcome } from '../../src/commands/context.js';
import { FIXTURE } from '../fixtures/workspace.js';
import { api, descend, fixture, nodeOf, RecordingUi } from './helpers.js';

const run = (command: string, ...args: unknown[]) =>
  vscode.commands.executeCommand<Outcome | undefined>(command, ...args);

suite('restricted mode (a workspace that is not trusted)', () => {
  test('the workspace is not trusted, and the extension still shows the checkpoints', async () => {
    assert.equal(vscode.workspace.isTrusted, false);
    const kit = await api();
    const item = kit.provider.getTreeItem(await nodeOf(kit, FIXTURE.failing));
    assert.match(String(item.description), /^33\.3% · 2 failed/);
    assert.doesNotMatch(String(item.contextValue), /\b(editable|migratable)\b/);
  });

  test('every command that writes refuses in code, and no file changes', async () => {
    const kit = await api();
    const ui = new RecordingUi();
    kit.setUi(ui);
    const { project } = fixture();
    const snapshot = join(project, '.checkpoints', checkpointFileName(FIXTURE.failing));
    const before = readFileSync(snapshot);
    const failing = await nodeOf(kit, FIXTURE.failing);
    const unit = await descend(kit, failing, 'collect', 'acme', 'api', 'issues');
    const attempts: [string, unknown][] = [
      ['checkpointkit.resetFailed', failing],
      ['checkpointkit.resetUnit', unit],
      ['checkpointkit.delete', failing],
      ['checkpointkit.migrate', await nodeOf(kit, FIXTURE.seed003)],
    ];
    for (const [command, node] of attempts) {
      const outcome = await run(command, node);
      assert.equal(outcome?.ok, false, command);
      assert.match(outcome?.message ?? '', /needs a trusted workspace/, command);
    }
    assert.deepEqual(ui.confirmations, [], 'not even asked');
    assert.deepEqual(readFileSync(snapshot), before);
    assert.equal(ui.messages.filter((m) => m.level === 'warn').length, attempts.length);
  });

  test('reading commands still work', async () => {
    const kit = await api();
    const html = await vscode.commands.executeCommand<string>(
      'checkpointkit.showSummary',
      await nodeOf(kit, FIXTURE.failing),
    );
    assert.match(html, /<h1>github:acme\/pulls<\/h1>/);
  });
});
