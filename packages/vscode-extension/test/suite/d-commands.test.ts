import * as assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCheckpointJson } from '@checkpointkit/core';
import { checkpointFileName, journalFileName } from '@checkpointkit/storage-file';
import * as vscode from 'vscode';
import type { CheckpointKitApi } from '../../src/api.js';
import type { Outcome } from '../../src/commands/context.js';
import type { Ui } from '../../src/ui.js';
import { FIXTURE } from '../fixtures/workspace.js';
import {
  api,
  checkpointNodes,
  descend,
  eventually,
  fixture,
  labelOf,
  nodeOf,
  onDisk,
  RecordingUi,
} from './helpers.js';

const run = (command: string, ...args: unknown[]) =>
  vscode.commands.executeCommand<Outcome | undefined>(command, ...args);

suite('commands', () => {
  let kit: CheckpointKitApi;
  let ui: RecordingUi;
  let previous: Ui;
  const { project, second } = fixture();
  const store = join(project, '.checkpoints');

  suiteSetup(async () => {
    kit = await api();
    ui = new RecordingUi();
    previous = kit.setUi(ui);
  });
  suiteTeardown(async () => {
    kit.setUi(previous);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  test('Show Summary opens a page with a progress bar per phase', async () => {
    const html = await vscode.commands.executeCommand<string>(
      'checkpointkit.showSummary',
      await nodeOf(kit, FIXTURE.failing),
    );
    assert.match(html, /<tr><th>discover<\/th><td class="bar-cell"><svg class="bar"/);
    assert.match(html, /<tr><th>collect<\/th><td class="bar-cell"><svg class="bar"[\s\S]*?20\.0%/);
    assert.match(html, /HTTP 502 Bad Gateway on collect\/acme\/web\/pulls/);
  });

  test('Open Raw shows the snapshot in an editor', async () => {
    await run('checkpointkit.openRaw', await nodeOf(kit, FIXTURE.failing));
    const editor = await eventually('an editor', () => vscode.window.activeTextEditor);
    assert.equal(editor.document.uri.fsPath, join(store, checkpointFileName(FIXTURE.failing)));
  });

  test('Copy Summary puts the summary on the clipboard', async () => {
    const outcome = await run('checkpointkit.copySummary', await nodeOf(kit, FIXTURE.second));
    assert.equal(outcome?.ok, true);
    const text = await vscode.env.clipboard.readText();
    assert.match(text, /^# matrix:room\n/);
    assert.match(text, /- rooms\/!def\/history: HTTP 502 Bad Gateway/);
  });

  test('Reveal in Explorer reveals the checkpoint file', async () => {
    const outcome = await run(
      'checkpointkit.revealInExplorer',
      await nodeOf(kit, FIXTURE.completed),
    );
    assert.equal(outcome?.ok, true);
    assert.equal(
      vscode.Uri.parse(outcome.message).fsPath,
      join(store, journalFileName(FIXTURE.completed)),
    );
  });

  test('Reset Failed Units sets every failed unit pending again, keeping its cursor', async () => {
    const failingBefore = kit.view.badge?.value ?? 0;
    const outcome = await run('checkpointkit.resetFailed', await nodeOf(kit, FIXTURE.failing));
    assert.equal(outcome?.ok, true, outcome?.message);
    assert.match(ui.last(), /reset 2 failed units of "github:acme\/pulls"/);
    const disk = await onDisk(store, FIXTURE.failing);
    assert.ok(disk);
    for (const key of ['collect/acme/api/issues', 'collect/acme/web/pulls']) {
      assert.deepEqual(
        {
          status: disk.units[key]?.status,
          cursor: disk.units[key]?.cursor,
          done: disk.units[key]?.done,
          error: disk.units[key]?.error,
        },
        { status: 'pending', cursor: { page: 3 }, done: 3, error: null },
      );
    }
    assert.equal(disk.units['collect/acme/api/pulls']?.status, 'complete');
    assert.equal(
      disk.status,
      'interrupted',
      'a failed run with nothing failed left is ready to resume',
    );
    const item = kit.provider.getTreeItem(await nodeOf(kit, FIXTURE.failing));
    assert.match(String(item.description), /^33\.3% · \d+ (s|min) ago|^33\.3% · just now/);
    assert.doesNotMatch(String(item.contextValue), /hasFailed/);
    assert.equal(kit.view.badge?.value, failingBefore - 1, 'the badge counts one checkpoint less');
  });

  test('from the palette, Reset Failed Units asks which checkpoint, among those with failures', async () => {
    ui.choose = (label) => label === FIXTURE.second;
    const outcome = await run('checkpointkit.resetFailed');
    assert.equal(outcome?.ok, true, outcome?.message);
    const offered = ui.picks.at(-1) ?? [];
    assert.ok(offered.includes(FIXTURE.second) && offered.includes(FIXTURE.big), offered.join());
    assert.ok(
      !offered.includes(FIXTURE.completed) && !offered.includes(FIXTURE.seed003),
      'only file store checkpoints with failures',
    );
    const disk = await onDisk(join(second, '.checkpoints'), FIXTURE.second);
    assert.equal(disk?.units['rooms/!def/history']?.status, 'pending');
  });

  test('Reset Unit: a failed unit keeps its cursor, a complete one starts over', async () => {
    const checkpoint = await nodeOf(kit, FIXTURE.big);
    const failed = await descend(kit, checkpoint, 'unit-000400');
    const complete = await descend(kit, checkpoint, 'unit-000401');
    assert.equal((await run('checkpointkit.resetUnit', failed))?.ok, true);
    assert.equal((await run('checkpointkit.resetUnit', complete))?.ok, true);
    const disk = await onDisk(store, FIXTURE.big);
    assert.deepEqual(
      [disk?.units['unit-000400']?.status, disk?.units['unit-000400']?.cursor],
      ['pending', { page: 3 }],
    );
    assert.deepEqual(
      [
        disk?.units['unit-000401']?.status,
        disk?.units['unit-000401']?.cursor,
        disk?.units['unit-000401']?.done,
      ],
      ['pending', null, 0],
    );
    assert.equal(disk?.units['unit-000000']?.status, 'failed', 'other units are left alone');
  });

  test('Delete Checkpoint asks first: declined, nothing changes; confirmed, the files and the node go', async () => {
    const journal = join(store, journalFileName(FIXTURE.completed));
    ui.answer = false;
    const declined = await run('checkpointkit.delete', await nodeOf(kit, FIXTURE.completed));
    assert.equal(declined?.ok, false);
    assert.match(ui.confirmations.at(-1) ?? '', /Delete checkpoint "export:done"\?/);
    assert.ok(existsSync(journal));
    ui.answer = true;
    const outcome = await run('checkpointkit.delete', await nodeOf(kit, FIXTURE.completed));
    assert.equal(outcome?.ok, true, outcome?.message);
    assert.ok(!existsSync(journal));
    assert.equal(await onDisk(store, FIXTURE.completed), null);
    await eventually('the node to go', async () =>
      (await checkpointNodes(kit)).every(
        (node) => labelOf(kit.provider.getTreeItem(node)) !== FIXTURE.completed,
      ),
    );
  });

  test('Migrate writes the seed checkpoint as a file store checkpoint beside it, and never overwrites', async () => {
    const dir = join(project, 'data/raw/target=sample-org');
    const seedFile = join(dir, 'checkpoint.json');
    const seedBytes = readFileSync(seedFile, 'utf8');
    const outcome = await run('checkpointkit.migrate', await nodeOf(kit, FIXTURE.seed003));
    assert.equal(outcome?.ok, true, outcome?.message);
    assert.ok(existsSync(join(dir, checkpointFileName(FIXTURE.seed003))));
    const expected = parseCheckpointJson(seedBytes, {
      file: 'data/raw/target=sample-org/checkpoint.json',
    }).checkpoint;
    const migrated = await onDisk(dir, FIXTURE.seed003);
    assert.deepEqual(migrated, expected);
    assert.equal(readFileSync(seedFile, 'utf8'), seedBytes, 'the seed file is unchanged');
    await eventually('the migrated checkpoint in the tree', () =>
      kit.registry
        .entries()
        .some(
          (entry) =>
            entry.files.kind === 'canonical' &&
            entry.state.kind === 'loaded' &&
            entry.state.value.checkpoint.id === FIXTURE.seed003,
        ),
    );
    const again = await run('checkpointkit.migrate', await nodeOf(kit, FIXTURE.seed003));
    assert.equal(again?.ok, false);
    assert.match(again?.message ?? '', /exists already; it was not overwritten/);
  });

  test('seed-format checkpoints are read-only except for Migrate', async () => {
    const file = join(project, 'migration/.migration_checkpoint.json');
    const before = readFileSync(file, 'utf8');
    const outcome = await run('checkpointkit.resetFailed', await nodeOf(kit, FIXTURE.seed000));
    assert.equal(outcome?.ok, false);
    assert.match(outcome?.message ?? '', /seed-000\/1\.0 file, which is read-only\. Migrate it/);
    assert.equal(readFileSync(file, 'utf8'), before);
  });

  test('a damaged file is refused and never rewritten, not even by Refresh', async () => {
    const file = join(project, 'broken/.checkpoints', checkpointFileName(FIXTURE.damaged));
    const before = readFileSync(file);
    const node = (await checkpointNodes(kit)).find((n) =>
      labelOf(kit.provider.getTreeItem(n)).includes('damaged'),
    );
    const outcome = await run('checkpointkit.resetFailed', node);
    assert.equal(outcome?.ok, false);
    assert.match(outcome?.message ?? '', /cannot be read .*; it is left as it is/);
    const refreshed = await run('checkpointkit.refresh');
    assert.match(refreshed?.message ?? '', /^CheckpointKit: \d+ checkpoints found\.$/);
    assert.deepEqual(readFileSync(file), before);
  });
});
