import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkpointFileName,
  encodeCheckpointId,
  journalFileName,
} from '@checkpointkit/storage-file';
import * as vscode from 'vscode';
import { readCheckpointFiles } from '../../src/state/read-entry.js';
import { FIXTURE } from '../fixtures/workspace.js';
import { fixture, onDisk } from './helpers.js';

const SCHEME = 'checkpointkit-test-memfs';

/** A read-only file system in memory: what a remote or virtual workspace folder looks like. */
class MemoryFs implements vscode.FileSystemProvider {
  readonly files = new Map<string, Uint8Array>();
  readonly onDidChangeFile = new vscode.EventEmitter<vscode.FileChangeEvent[]>().event;
  watch(): vscode.Disposable {
    return new vscode.Disposable(() => {});
  }
  stat(uri: vscode.Uri): vscode.FileStat {
    const bytes = this.files.get(uri.path);
    if (!bytes) throw vscode.FileSystemError.FileNotFound(uri);
    return { type: vscode.FileType.File, ctime: 0, mtime: 0, size: bytes.length };
  }
  readFile(uri: vscode.Uri): Uint8Array {
    const bytes = this.files.get(uri.path);
    if (!bytes) throw vscode.FileSystemError.FileNotFound(uri);
    return bytes;
  }
  readDirectory(): [string, vscode.FileType][] {
    return [];
  }
  createDirectory(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }
  writeFile(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }
  delete(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }
  rename(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }
}

suite('a folder on another file system', () => {
  test('reads checkpoints through workspace.fs, not Node’s fs, and refuses junk with the file named', async () => {
    const memfs = new MemoryFs();
    const registration = vscode.workspace.registerFileSystemProvider(SCHEME, memfs, {
      isReadonly: true,
    });
    try {
      const disk = join(fixture().project, '.checkpoints');
      const snapshotName = checkpointFileName(FIXTURE.failing);
      memfs.files.set(`/jobs/${snapshotName}`, readFileSync(join(disk, snapshotName)));
      const journalName = journalFileName(FIXTURE.failing);
      memfs.files.set(`/jobs/${journalName}`, readFileSync(join(disk, journalName)));
      memfs.files.set('/jobs/junk.checkpoint.json', new TextEncoder().encode('not a snapshot\n'));

      const root = vscode.Uri.from({ scheme: SCHEME, path: '/' });
      const folder: vscode.WorkspaceFolder = { uri: root, name: 'memfs', index: 9 };
      const clock = { parseMs: 0 };
      const canonical = (stem: string, id: string, name: string) => ({
        kind: 'canonical' as const,
        key: `${root.toString()}jobs/${stem}.checkpoint`,
        stem,
        id,
        snapshot: vscode.Uri.joinPath(root, 'jobs', name),
        journal: null,
        leftover: null,
      });

      const stem = encodeCheckpointId(FIXTURE.failing);
      const read = await readCheckpointFiles(
        folder,
        canonical(stem, FIXTURE.failing, snapshotName),
        clock,
      );
      assert.equal(read.kind, 'loaded', JSON.stringify(read));
      if (read.kind !== 'loaded') return;
      // The same state as the file store's own reader gives from the files on disk.
      assert.deepEqual(read.value.checkpoint, await onDisk(disk, FIXTURE.failing));
      assert.equal(read.value.lockOwner, null, 'no lock files outside file: folders');

      const junk = await readCheckpointFiles(
        folder,
        canonical('junk', 'junk', 'junk.checkpoint.json'),
        clock,
      );
      assert.equal(junk.kind, 'damaged');
      assert.match(
        (junk as { message: string }).message,
        /^jobs\/junk\.checkpoint\.json:1: the first line is not a checkpointkit snapshot header/,
      );
    } finally {
      registration.dispose();
    }
  });
});
