import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { FIXTURE } from '../fixtures/workspace.js';
import { api, checkpointNodes, labelOf } from './helpers.js';

suite('discovery', () => {
  test('finds canonical and seed-format checkpoints in both workspace folders, and nothing else', async () => {
    const kit = await api();
    const labels = (await checkpointNodes(kit))
      .map((node) => labelOf(kit.provider.getTreeItem(node)))
      .sort();
    assert.deepEqual(
      labels,
      [
        FIXTURE.big,
        'broken/.checkpoints/damaged%3afile.checkpoint.json',
        FIXTURE.completed,
        FIXTURE.seed002,
        FIXTURE.failing,
        FIXTURE.seed003,
        FIXTURE.locked,
        FIXTURE.second,
        FIXTURE.seed000,
      ].sort(),
    );
  });

  test('groups a multi-root workspace by folder', async () => {
    const kit = await api();
    const roots = await kit.provider.getChildren();
    assert.deepEqual(
      roots.map((node) => node.type),
      ['folder', 'folder'],
    );
    assert.deepEqual(
      roots.map((node) => labelOf(kit.provider.getTreeItem(node))),
      vscode.workspace.workspaceFolders?.map((folder) => folder.name),
    );
    const second = await kit.provider.getChildren(roots[1]);
    assert.deepEqual(
      second.map((node) => labelOf(kit.provider.getTreeItem(node))),
      [FIXTURE.second],
    );
  });

  test('recognises the seed formats by content', async () => {
    const kit = await api();
    const formats = Object.fromEntries(
      kit.registry
        .entries()
        .filter((entry) => entry.state.kind === 'loaded')
        .map((entry) =>
          entry.state.kind === 'loaded'
            ? [entry.state.value.checkpoint.id, entry.state.value.format]
            : [],
        ),
    );
    assert.equal(formats[FIXTURE.seed000], 'seed-000/1.0');
    assert.equal(formats[FIXTURE.seed002], 'seed-002/2.0');
    assert.equal(formats[FIXTURE.seed003], 'seed-003');
    assert.equal(formats[FIXTURE.failing], 'checkpointkit/1');
  });

  test('honours node_modules, files.exclude and checkpointkit.exclude, and skips JSON that is no checkpoint', async () => {
    const kit = await api();
    const keys = kit.registry.entries().map((entry) => entry.key);
    for (const hidden of ['node_modules', 'generated', 'legacy']) {
      assert.ok(!keys.some((key) => key.includes(`/${hidden}/`)), `${hidden} is not searched`);
    }
    const notes = kit.registry
      .entries()
      .find((entry) => entry.key.endsWith('notes/checkpoint-notes.json'));
    assert.equal(notes?.state.kind, 'ignored');
  });

  test('shows a damaged file as an error node that names the cause', async () => {
    const kit = await api();
    const node = (await checkpointNodes(kit)).find((n) =>
      labelOf(kit.provider.getTreeItem(n)).includes('damaged'),
    );
    assert.ok(node);
    const item = kit.provider.getTreeItem(node);
    assert.match(
      String(item.description),
      /^cannot be read: .*damaged%3afile\.checkpoint\.json.*(checksum|crc|bytes)/i,
    );
    assert.equal((item.iconPath as vscode.ThemeIcon).id, 'error');
    assert.equal(item.collapsibleState, vscode.TreeItemCollapsibleState.None);
    assert.match(String(item.contextValue), /\bdamaged\b/);
    assert.doesNotMatch(String(item.contextValue), /\beditable\b/);
  });
});
