import * as assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summarize } from '@checkpointkit/core';
import {
  checkpointFileName,
  encodeCheckpointId,
  journalFileName,
} from '@checkpointkit/storage-file';
import * as vscode from 'vscode';
import { loaded } from '../../src/state/entry.js';
import { readCheckpointFiles } from '../../src/state/read-entry.js';
import { CheckpointRegistry } from '../../src/state/registry.js';
import { FIXTURE } from '../fixtures/workspace.js';
import { api, fixture, onDisk } from './helpers.js';

suite('rows from summaries, units when needed', () => {
  test('a scan reads every row from its summary, builds the units after, and they agree', async () => {
    await api();
    const registry = new CheckpointRegistry();
    try {
      await registry.scan();
      const shown = registry.entries().flatMap((entry) => loaded(entry) ?? []);
      assert.ok(shown.length >= 4, `checkpoints read: ${shown.length}`);
      assert.ok(
        shown.some((value) => value.summary.id === FIXTURE.big),
        'the big checkpoint has its row',
      );
      assert.deepEqual(
        shown
          .filter((value) => value.built && value.format === 'checkpointkit/1')
          .map((v) => v.summary.id),
        [],
        'no file store checkpoint has built its units when the rows are read',
      );
      await registry.whenIdle();
      for (const value of shown) {
        assert.equal(value.built, true, `${value.summary.id}: units built once idle`);
        assert.deepEqual(value.summary, summarize(value.checkpoint), value.summary.id);
      }
    } finally {
      registry.dispose();
    }
  });

  test('the units come from the bytes the summary was read from, though the files changed since', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ck-summary-first-'));
    try {
      cpSync(join(fixture().project, '.checkpoints'), dir, { recursive: true });
      const id = FIXTURE.failing;
      const expected = await onDisk(dir, id);
      assert.ok(expected);
      const root = vscode.Uri.file(dir);
      const folder: vscode.WorkspaceFolder = { uri: root, name: 'copy', index: 9 };
      const stem = encodeCheckpointId(id);
      const clock = { parseMs: 0 };
      const read = await readCheckpointFiles(
        folder,
        {
          kind: 'canonical',
          key: `${root.toString()}/${stem}.checkpoint`,
          stem,
          id,
          snapshot: vscode.Uri.joinPath(root, checkpointFileName(id)),
          journal: vscode.Uri.joinPath(root, journalFileName(id)),
        },
        clock,
      );
      // (Not JSON.stringify(read) for the message: it would build the units.)
      assert.equal(read.kind, 'loaded', read.kind === 'damaged' ? read.message : read.kind);
      if (read.kind !== 'loaded') return;
      assert.equal(read.value.built, false);
      assert.deepEqual(read.value.summary, summarize(expected));
      // A compaction, an edit or damage after the read must not show units of other files.
      writeFileSync(join(dir, checkpointFileName(id)), 'not a snapshot\n');
      rmSync(join(dir, journalFileName(id)));
      const parsedBefore = clock.parseMs;
      assert.deepEqual(read.value.checkpoint, expected);
      assert.equal(read.value.built, true);
      assert.ok(clock.parseMs > parsedBefore, 'building the units is counted as parsing');
      assert.equal(read.value.tree.page('', 0, 10).total > 0, true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
