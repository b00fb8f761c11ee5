/**
 * Files far larger than any checkpoint this store writes: junk that happens to carry a store file
 * name, a snapshot whose header was kept but whose body was replaced, a journal grown past what
 * one read can hold. Each is refused from its first bytes and its size, with a CheckpointFileError
 * that names the file, and is left as it was. The files are sparse: they take no disk space.
 */
import { open, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openRun } from '@checkpointkit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CheckpointFileError,
  checkpointFileName,
  type FileStoreWarning,
  fileStore,
  journalFileName,
} from '../../src/index.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

/** More than Node reads into one buffer (2 GiB). */
const HUGE = 3 * 1024 ** 3;

async function writeGood(dir: string, id: string): Promise<void> {
  const store = fileStore({ dir });
  const run = await openRun({ id, store, signals: false });
  await run.plan([{ key: 'a' }, { key: 'b' }]);
  await run.complete('a');
  await run.finish({ cleanup: false });
  await store.close();
}

/** Size and modification time: what "left as it was" can be checked by for a sparse file. */
async function identity(path: string): Promise<string> {
  const info = await stat(path);
  return `${info.size}:${info.mtimeMs}`;
}

describe('files larger than one read can hold', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir('huge-');
  });
  afterEach(async () => {
    await removeDir(dir);
  });

  it('a junk file with a snapshot name is skipped by list() for its first line, naming the file', async () => {
    await writeGood(dir, 'good');
    const junk = join(dir, checkpointFileName('junk'));
    await writeFile(junk, 'PK\u0003\u0004 not a snapshot\n');
    await truncate(junk, HUGE);
    const before = await identity(junk);
    const warnings: FileStoreWarning[] = [];
    const store = fileStore({ dir, onWarning: (warning) => warnings.push(warning) });
    const listed = await store.list();
    expect(listed.map((listing) => listing.id)).toEqual(['good']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.file).toBe(junk);
    expect(warnings[0]!.message).toContain(junk);
    expect(warnings[0]!.message).toMatch(/first line is not a checkpointkit snapshot header/);
    await expect(store.load('junk')).rejects.toMatchObject({
      name: 'CheckpointFileError',
      file: junk,
      kind: 'json',
    });
    await store.close();
    expect(await identity(junk)).toBe(before);
  });

  it('a snapshot whose header was kept but whose size changed is refused by its header, not read', async () => {
    await writeGood(dir, 'grown');
    const path = join(dir, checkpointFileName('grown'));
    const header = (await readFile(path, 'utf8')).split('\n')[0]!;
    const declared = Number(/"bytes":(\d+)/.exec(header)![1]);
    await truncate(path, HUGE);
    const store = fileStore({ dir });
    const error = await store.load('grown').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CheckpointFileError);
    expect(error).toMatchObject({ file: path, kind: 'checksum' });
    expect((error as Error).message).toContain(`the snapshot is ${HUGE} bytes`);
    expect((error as Error).message).toContain(
      `its header says ${header.length + 1 + declared + 3}`,
    );
    await store.close();
  });

  it('a snapshot whose header declares more than one read can hold is refused by its size', async () => {
    const path = join(dir, checkpointFileName('vast'));
    const tail = '\n}\n';
    // A header as the store writes it, for a body that makes the file exactly HUGE bytes.
    const headerFor = (bytes: number) =>
      `{"format":"checkpointkit/1","snapshot":1,"bytes":${bytes},"crc32":"00000000","data":\n`;
    const body = HUGE - headerFor(HUGE).length - tail.length;
    const handle = await open(path, 'w');
    await handle.write(headerFor(body));
    await handle.truncate(HUGE - tail.length);
    await handle.write(tail, HUGE - tail.length);
    await handle.close();
    expect((await stat(path)).size).toBe(HUGE);
    const store = fileStore({ dir });
    await expect(store.load('vast')).rejects.toMatchObject({
      name: 'CheckpointFileError',
      file: path,
      kind: 'size',
      message: expect.stringMatching(/3\.0 GiB.*more than one read can hold/),
    });
    await store.close();
  });

  it('a journal larger than one read can hold is refused by its size, naming the journal', async () => {
    await writeGood(dir, 'long');
    const journal = join(dir, journalFileName('long'));
    await truncate(journal, HUGE);
    const before = await identity(journal);
    const warnings: FileStoreWarning[] = [];
    const store = fileStore({ dir, onWarning: (warning) => warnings.push(warning) });
    await expect(store.load('long')).rejects.toMatchObject({
      name: 'CheckpointFileError',
      file: journal,
      kind: 'size',
    });
    expect(await store.list()).toEqual([]);
    expect(warnings.map((warning) => warning.message)).toEqual([expect.stringContaining(journal)]);
    await store.close();
    expect(await identity(journal)).toBe(before);
  });
});
