/**
 * Things that carry a store file's name but are no file: a named pipe (FIFO), which a plain open
 * for reading waits on until some process opens it for writing, maybe never. A store that opened
 * it so would hang `list()` (and with it `checkpointkit ls` and the VS Code tree) for ever. Each is
 * refused unread, with an error naming it, and left in place.
 */
import { execFileSync } from 'node:child_process';
import { constants } from 'node:fs';
import { lstat, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { openRun } from '@checkpointkit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ACK_SUFFIX,
  CheckpointFileError,
  checkpointFileName,
  type FileStoreWarning,
  fileStore,
  journalFileName,
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
