/**
 * Things that carry a store file's name but are no file: a named pipe (FIFO), which a plain open
 * for reading waits on until some process opens it for writing, maybe never. A store that opened
 * it so would hang `list()` (and with it `checkpointkit ls` and the VS Code tree) for ever. Each is
 * refused unread, with an error naming it, and left in place.
 */
import { execFileSync } from 'node:child_process';
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { openRun } from '@checkpointkit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ACK_SUFFIX,
  CheckpointFileError,
  checkpointFileName,
  type FileStoreWarning,
  fileStore,
  JOURNAL_SUFFIX,
  journalFileName,
  PREVIOUS_SUFFIX,
  SNAPSHOT_SUFFIX,
} from '../../src/index.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

const fifos: string[] = [];

function mkfifo(path: string): string {
  execFileSync('mkfifo', [path]);
  fifos.push(path);
  return path;
}

async function writeGood(dir: string, id: string): Promise<void> {
  const store = fileStore({ dir });
  const run = await openRun({ id, store, signals: false });
  await run.plan(['a']);
  await run.finish({ cleanup: false });
  await store.close();
}

describe('named pipes with store file names', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir('fifo-');
  });
  afterEach(async () => {
    // Should a read have waited on a pipe, a writer that opens and closes it lets it go.
    for (const fifo of fifos.splice(0)) {
      const writer = await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK).catch(() => null);
      await writer?.close();
    }
    await removeDir(dir);
  });

  for (const [role, name] of [
    ['snapshot', checkpointFileName('piped')],
    ['journal', journalFileName('piped')],
  ] as const) {
    it(`a pipe named as a ${role}: list() goes on without it and load() refuses it, naming it`, async () => {
      await writeGood(dir, 'good');
      const fifo = mkfifo(join(dir, name));
      const warnings: FileStoreWarning[] = [];
      const store = fileStore({ dir, onWarning: (warning) => warnings.push(warning) });
      expect((await store.list()).map((listing) => listing.id)).toEqual(['good']);
      expect(warnings.map((warning) => warning.message).join('\n')).toContain(
        `${fifo}: it is a named pipe, not a file; it was not read`,
      );
      const error = await store.load('piped').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CheckpointFileError);
      expect(String(error)).toContain(`${fifo}: it is a named pipe, not a file; it was not read`);
      expect((await lstat(fifo)).isFIFO()).toBe(true);
      await store.close();
    });
  }

  it("a pipe named as a checkpoint's acknowledgement file is refused by load(), naming it", async () => {
    await writeGood(dir, 'piped');
    const ack = join(dir, checkpointFileName('piped').replace(SNAPSHOT_SUFFIX, ACK_SUFFIX));
    await rm(ack, { force: true });
    const fifo = mkfifo(ack);
    const store = fileStore({ dir });
    const error = await store.load('piped').catch((e: unknown) => e);
    expect(String(error)).toContain(`${fifo}: it is a named pipe, not a file; it was not read`);
    await store.close();
  });
});

describe('sockets and symbolic link loops with store file names', () => {
  // Opening either fails with Node's bare ENXIO or ELOOP, which says neither what the thing is
  // nor that it was left alone.
  let dir: string;
  const servers: Server[] = [];
  beforeEach(async () => {
    dir = await tempDir('special-');
  });
  afterEach(async () => {
    for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
    await removeDir(dir);
  });

  async function socketAt(path: string): Promise<void> {
    const server = createServer();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(path, resolve));
  }

  for (const [thing, make, says] of [
    ['a socket', socketAt, 'it is a socket, not a file; it was not read'],
    [
      'a symbolic link loop',
      (path: string) => symlink(path, path),
      'it is a symbolic link that leads back to itself; it was not read',
    ],
  ] as const) {
    it(`${thing} named as a snapshot: list() goes on without it, load() refuses it, naming it`, async () => {
      await writeGood(dir, 'good');
      const path = join(dir, checkpointFileName('odd'));
      await make(path);
      const warnings: FileStoreWarning[] = [];
      const store = fileStore({ dir, onWarning: (warning) => warnings.push(warning) });
      expect((await store.list()).map((listing) => listing.id)).toEqual(['good']);
      expect(warnings.map((warning) => warning.message).join('\n')).toContain(`${path}: ${says}`);
      const error = await store.load('odd').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CheckpointFileError);
      expect(String(error)).toContain(`${path}: ${says}`);
      expect(await lstat(path)).toBeTruthy();
      await store.close();
    });
  }
});

describe('a folder with one of a checkpoint file names', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir('folder-named-');
  });
  afterEach(async () => {
    await removeDir(dir);
  });

  /** Every entry of the folder: a file's bytes, or `<folder>`. */
  async function contents(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const name of (await readdir(dir)).sort()) {
      const info = await lstat(join(dir, name));
      out[name] = info.isDirectory() ? '<folder>' : await readFile(join(dir, name), 'latin1');
    }
    return out;
  }

  for (const suffix of [
    SNAPSHOT_SUFFIX,
    JOURNAL_SUFFIX,
    SNAPSHOT_SUFFIX + PREVIOUS_SUFFIX,
    JOURNAL_SUFFIX + PREVIOUS_SUFFIX,
    ACK_SUFFIX,
  ]) {
    it(`delete() refuses it (${suffix}), naming the folder, and deletes nothing`, async () => {
      // A checkpoint with every file: a compacted generation, its previous one, a journal after it.
      const store = fileStore({ dir });
      const run = await openRun({ id: 'job', store, signals: false });
      await run.plan(['a', 'b']);
      await run.flush('Planned');
      await store.compact('job');
      await run.progress('a', { cursor: 1 });
      await run.flush('Progress');
      await store.compact('job');
      await run.progress('b', { cursor: 2 });
      await run.flush('Progress');
      await run.close();
      const folder = join(dir, `job${suffix}`);
      await rm(folder, { force: true });
      await mkdir(folder);
      await writeFile(join(folder, 'keep.txt'), 'someone else’s');
      const before = await contents();

      const error = await store.delete('job').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CheckpointFileError);
      expect((error as CheckpointFileError).kind).toBe('type');
      expect((error as Error).message).toContain(folder);
      expect((error as Error).message).toContain('a folder');
      expect(await contents()).toEqual(before);
      expect(await readFile(join(folder, 'keep.txt'), 'utf8')).toBe('someone else’s');
      await store.close();
    });
  }
});
