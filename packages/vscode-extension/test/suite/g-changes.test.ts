import * as assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { CheckpointKitApi } from '../../src/api.js';
import { loaded } from '../../src/state/entry.js';
import { writeCheckpoint } from '../fixtures/checkpoints.js';
import { FIXTURE } from '../fixtures/workspace.js';
import { api, checkpointNodes, eventually, fixture, labelOf, watcherReady } from './helpers.js';

const ids = (kit: CheckpointKitApi) =>
  kit.registry
    .entries()
    .map((entry) => loaded(entry)?.checkpoint.id)
    .filter((id): id is string => id !== undefined);

suite('changes on disk', () => {
  test('a checkpoint deleted outside the editor leaves the tree without Refresh', async () => {
    const kit = await api();
    await watcherReady(kit);
    const scans = kit.registry.scanCount;
    rmSync(join(fixture().second, '.checkpoints'), { recursive: true });
    await eventually(
      'the folder to empty',
      async () => (await kit.provider.getChildren()).length === 1,
    );
    assert.ok(!ids(kit).includes(FIXTURE.second));
    assert.equal(kit.registry.scanCount, scans);
  });

  test('bulk changes: hundreds of checkpoint files copied in at once appear, and go when their folder is deleted', async function () {
    this.timeout(120_000);
    const kit = await api();
    await watcherReady(kit);
    const staging = mkdtempSync(join(tmpdir(), 'bulk-'));
    const count = 150;
    for (let i = 0; i < count; i++) {
      await writeCheckpoint(join(staging, `job-${i}`), {
        id: `bulk:${i}`,
        units: { a: 'complete', b: i % 2 ? 'failed' : 'pending' },
      });
    }
    const bulk = join(fixture().project, 'bulk');
    const scans = kit.registry.scanCount;
    cpSync(staging, bulk, { recursive: true });
    await eventually(
      'all of them',
      () => ids(kit).filter((id) => id.startsWith('bulk:')).length === count,
      60_000,
      () => {
        const states = kit.registry
          .entries()
          .filter((entry) => entry.key.includes('/bulk/'))
          .map((entry) =>
            entry.state.kind === 'damaged' ? entry.state.message : entry.state.kind,
          );
        const counts = new Map<string, number>();
        for (const state of states) counts.set(state, (counts.get(state) ?? 0) + 1);
        return `${states.length} entries, scans ${kit.registry.scanCount - scans}: ${[...counts].map(([k, v]) => `${v}x ${k}`).join('; ')}`;
      },
    );
    rmSync(bulk, { recursive: true });
    await eventually(
      'none of them',
      () => ids(kit).filter((id) => id.startsWith('bulk:')).length === 0,
      30_000,
    );
    rmSync(staging, { recursive: true });
  });

  test('a checkpoint whose snapshot and journal are removed by hand stays, damaged, saying what to run', async () => {
    const kit = await api();
    await watcherReady(kit);
    const dir = join(fixture().project, 'by-hand');
    await writeCheckpoint(dir, { id: 'by-hand', units: { a: 'complete', b: 'failed' } });
    const state = () =>
      kit.registry.entries().find((entry) => entry.key.endsWith('/by-hand/by-hand.checkpoint'))
        ?.state;
    await eventually('it to be read', () => state()?.kind === 'loaded');
    // The previous generation and the ack mark stay: the store refuses to start it anew.
    rmSync(join(dir, 'by-hand.checkpoint.json'));
    rmSync(join(dir, 'by-hand.checkpoint.jsonl'));
    const damaged = () => {
      const now = state();
      return (
        now?.kind === 'damaged' &&
        now.message.includes('`checkpointkit repair by-hand --dir by-hand`')
      );
    };
    await eventually('it to show as damaged', damaged, undefined, () => JSON.stringify(state()));
    // A search finds it by those files alone.
    await vscode.commands.executeCommand('checkpointkit.refresh');
    await kit.registry.whenIdle();
    assert.ok(damaged(), JSON.stringify(state()));
    rmSync(dir, { recursive: true });
    await eventually('it to go with its last files', () => state() === undefined);
  });

  test('a changed exclude setting applies at once', async () => {
    const kit = await api();
    const project = vscode.workspace.workspaceFolders![0]!;
    const config = vscode.workspace.getConfiguration('checkpointkit', project.uri);
    await config.update(
      'exclude',
      ['legacy/**', 'migration/**'],
      vscode.ConfigurationTarget.WorkspaceFolder,
    );
    try {
      await eventually('seed 000 to be excluded', () => !ids(kit).includes(FIXTURE.seed000));
    } finally {
      await config.update('exclude', ['legacy/**'], vscode.ConfigurationTarget.WorkspaceFolder);
    }
    await eventually('seed 000 back', () => ids(kit).includes(FIXTURE.seed000));
    assert.ok(
      (await checkpointNodes(kit)).some(
        (node) => labelOf(kit.provider.getTreeItem(node)) === FIXTURE.seed000,
      ),
    );
  });
});
