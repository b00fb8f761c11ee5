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
      // A re-read (a job's journal grew) shows the new summary first, then builds again.
      const big = registry.entries().find((entry) => loaded(entry)?.summary.id === FIXTURE.big)!;
      await registry.readNow(big);
      assert.equal(loaded(big)?.built, false, 'the re-read row comes from its summary');
      await registry.whenIdle();
      assert.equal(loaded(big)?.built, true, 'and its units are built after');
    } finally {
      registry.dispose();
    }
  });

  test('the units wait for every read, and a read that will never come (its files deleted) does not keep them waiting', async () => {
    await api();
    const registry = new CheckpointRegistry();
    try {
      await registry.scan();
      await registry.whenIdle();
      const entryOf = (id: string) =>
        registry.entries().find((entry) => loaded(entry)?.summary.id === id)!;
      const failing = entryOf(FIXTURE.failing);
      // Another file store checkpoint (earlier suites deleted some of the fixture's).
      const completed = registry
        .entries()
        .find(
          (entry) =>
            entry.files.kind === 'canonical' &&
            loaded(entry) !== null &&
            loaded(entry)!.summary.id !== FIXTURE.failing,
        )!;
      assert.ok(completed, 'a second file store checkpoint');
      // A live update of `failing` runs at once; the next one waits for its interval.
      registry.requestRead(failing);
      await registry.whenRead();
      registry.requestRead(failing);
      // Read meanwhile, `completed` waits for `failing`'s read to build its units.
      await registry.readNow(completed);
      assert.equal(loaded(completed)?.built, false);
      // Then `failing`'s files go: its read is dropped, and the units of `completed` get built.
      const files = failing.files;
      assert.equal(files.kind, 'canonical');
      if (files.kind !== 'canonical') return;
      registry.applyEvents([
        { kind: 'deleted', uri: files.snapshot! },
        { kind: 'deleted', uri: files.journal! },
      ]);
      const idle = await Promise.race([
        registry.whenIdle().then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000)),
      ]);
      assert.equal(idle, true, 'idle once the deleted checkpoint is gone');
      assert.equal(loaded(completed)?.built, true);
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
