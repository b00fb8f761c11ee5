/**
 * What happens to the output file itself while the job runs, after the sink opened it: logrotate
 * renames it (with or without a new file in its place), a user deletes it, a cleanup script
 * moves its folder, `copytruncate` cuts it, another program appends to it. The sink keeps its
 * descriptor, so before, its pages went on into the renamed or unlinked file (or left a hole of
 * zeros after a cut), every flush succeeded, and the job reported the unit completed while the
 * path held part of the rows or none. Now the next page fails the unit with
 * SinkFileDisturbedError, naming the file and what happened, and no page after it is recorded.
 */
import {
  appendFileSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MemoryStorage, memoryStore, openRun, pipeline, type Sink } from '@checkpointkit/core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  jsonLinesSink,
  SinkFileDisturbedError,
  SinkFileLostError,
  sinkStateKey,
} from '../../src/index.js';
import { numberedSource, type Row, removeTempDirs, tempDir } from '../helpers/jobs.js';

afterAll(removeTempDirs);

/** Records what `sink`'s writes threw, for the test to look at the error object itself. */
function watched(sink: Sink<Row>, thrown: unknown[]): Sink<Row> {
  return {
    ...sink,
    write: async (items, context) =>
      Promise.resolve(sink.write(items, context)).catch((error: unknown) => {
        thrown.push(error);
        throw error;
      }),
  };
}

/**
 * One unit of 6 pages of 3 rows into `<dir>/out/out.jsonl`; `meddle` runs once 2 pages are
 * written and recorded, synchronously (pipeline() does not wait for an async listener, and the
 * meddling must be done before the third page is written). Returns the result, what the sink threw, and the bytes the checkpoint
 * recorded for the file.
 */
async function runJob(
  dir: string,
  meddle: (path: string) => void,
  maxBytes?: number,
  storage = new MemoryStorage(),
) {
  const path = join(dir, 'out', 'out.jsonl');
  const run = await openRun({ id: 'job', store: memoryStore(storage), signals: false });
  const thrown: unknown[] = [];
  let pages = 0;
  const result = await pipeline({
    run,
    source: numberedSource(1, 6),
    sink: watched(jsonLinesSink<Row>({ path, maxBytes }), thrown),
    onProgress: (event) => {
      if (event.type === 'page' && ++pages === 2) meddle(path);
    },
  });
  const state = run.checkpoint.meta.user[sinkStateKey('sink-file', path)] as { bytes: number };
  const error = run.unit('u0')?.error;
  await run.close();
  return { path, result, thrown, recorded: state.bytes, error };
}

const lines = (text: string) => text.trimEnd().split('\n');

describe('the output file, disturbed while the job runs', () => {
  it.each([
    ['renamed (logrotate without create)', (path: string) => renameSync(path, `${path}.1`)],
    [
      'renamed, a new empty file in its place (logrotate create)',
      (path: string) => {
        renameSync(path, `${path}.1`);
        writeFileSync(path, '');
      },
    ],
  ])(
    '%s: the unit fails naming the file; the renamed file holds the recorded pages only',
    async (_, meddle) => {
      const dir = await tempDir();
      const { path, result, thrown, recorded, error } = await runJob(dir, meddle);
      // Before: completed 1, 12 rows in out.jsonl.1 and none (or no file) at the path.
      expect(result).toMatchObject({ completed: 0, failed: 1 });
      expect(thrown[0]).toBeInstanceOf(SinkFileDisturbedError);
      expect(thrown[0]).toMatchObject({ file: path, retryable: true });
      expect(error).toMatchObject({ retryable: true });
      expect(error?.message).toContain(path);
      expect(error?.message).toMatch(/renamed, moved or deleted|replaced/);
      // The page written into the renamed file after the rename is taken back: what it holds is
      // what the checkpoint recorded, so moving it back and resuming loses and repeats nothing.
      const renamed = await readFile(`${path}.1`, 'utf8');
      expect(Buffer.byteLength(renamed)).toBe(recorded);
      expect(lines(renamed)).toHaveLength(6);
    },
  );

  it('renamed, then moved back: the next run resumes it, and the file is whole, byte for byte', async () => {
    const dir = await tempDir();
    const storage = new MemoryStorage();
    const { path } = await runJob(dir, (path) => renameSync(path, `${path}.1`), undefined, storage);
    renameSync(`${path}.1`, path);
    // The failure is retryable: the next run takes the unit up again from its recorded page.
    const run = await openRun({ id: 'job', store: memoryStore(storage), signals: false });
    const result = await pipeline({
      run,
      source: numberedSource(1, 6),
      sink: jsonLinesSink<Row>({ path }),
    });
    await run.close();
    expect(result).toMatchObject({ completed: 1, failed: 0 });
    const { path: whole } = await runJob(await tempDir(), () => {});
    expect(await readFile(path, 'utf8')).toBe(await readFile(whole, 'utf8'));
  });

  it('deleted, and the job run again: refused with SinkFileLostError, no empty file made', async () => {
    const dir = await tempDir();
    const storage = new MemoryStorage();
    const { path } = await runJob(dir, (path) => rmSync(path), undefined, storage);
    const run = await openRun({ id: 'job', store: memoryStore(storage), signals: false });
    const error = await pipeline({
      run,
      source: numberedSource(1, 6),
      sink: jsonLinesSink<Row>({ path }),
    }).catch((e: unknown) => e);
    await run.close();
    expect(error).toBeInstanceOf(SinkFileLostError);
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('deleted: the unit fails, naming the file, and nothing more is recorded', async () => {
    const dir = await tempDir();
    let before = -1;
    const { path, result, thrown, recorded } = await runJob(dir, (path) => {
      before = statSync(path).size;
      rmSync(path);
    });
    expect(result).toMatchObject({ completed: 0, failed: 1 });
    expect(thrown[0]).toBeInstanceOf(SinkFileDisturbedError);
    expect(String(thrown[0])).toContain(path);
    expect(recorded).toBe(before);
    // No empty file is made at the path, which would hide that the rows are gone.
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('its folder moved away: the unit fails; the moved file holds the recorded pages only', async () => {
    const dir = await tempDir();
    const { result, thrown, recorded } = await runJob(dir, (path) =>
      renameSync(join(path, '..'), join(dir, 'moved')),
    );
    expect(result).toMatchObject({ completed: 0, failed: 1 });
    expect(thrown[0]).toBeInstanceOf(SinkFileDisturbedError);
    expect((await stat(join(dir, 'moved', 'out.jsonl'))).size).toBe(recorded);
  });

  it('its folder replaced by another holding a file of that name: that file is not written', async () => {
    const dir = await tempDir();
    const { result, thrown } = await runJob(dir, (path) => {
      renameSync(join(path, '..'), join(dir, 'moved'));
      mkdirSync(join(dir, 'out'));
      writeFileSync(path, 'theirs\n');
    });
    expect(result).toMatchObject({ completed: 0, failed: 1 });
    expect(thrown[0]).toBeInstanceOf(SinkFileDisturbedError);
    expect(await readFile(join(dir, 'out', 'out.jsonl'), 'utf8')).toBe('theirs\n');
  });

  it('its folder moved and a new one made, when the next page rotates: no part goes to the new folder', async () => {
    const dir = await tempDir();
    // Two pages fill the 200 bytes of part 0, so the third starts part 1.
    const { result, thrown } = await runJob(
      dir,
      (path) => {
        renameSync(join(path, '..'), join(dir, 'moved'));
        mkdirSync(join(dir, 'out'));
      },
      200,
    );
    // Before: parts 1 and on were written into the new folder, part 0 was in the moved one.
    expect(result).toMatchObject({ completed: 0, failed: 1 });
    expect(thrown[0]).toBeInstanceOf(SinkFileDisturbedError);
    expect(readdirSync(join(dir, 'out'))).toEqual([]);
  });

  it('cut in place (logrotate copytruncate): the unit fails, and no hole of zeros is written', async () => {
    const dir = await tempDir();
    const { path, result, thrown } = await runJob(dir, (path) => truncateSync(path, 0));
    // Before: the next page was written at its old offset, after a hole of NUL bytes.
    expect(result).toMatchObject({ completed: 0, failed: 1 });
    expect(thrown[0]).toBeInstanceOf(SinkFileDisturbedError);
    expect(String(thrown[0])).toMatch(/cut to 0 bytes/);
    expect(await readFile(path, 'utf8')).toBe('');
  });

  it('appended to by another program: the unit fails, and their bytes are not written over', async () => {
    const dir = await tempDir();
    const { path, result, thrown } = await runJob(dir, (path) => appendFileSync(path, 'theirs\n'));
    // Before: the next page was written at the sink's offset, over their line.
    expect(result).toMatchObject({ completed: 0, failed: 1 });
    expect(thrown[0]).toBeInstanceOf(SinkFileDisturbedError);
    const text = await readFile(path, 'utf8');
    expect(lines(text)).toHaveLength(7);
    expect(text.endsWith('theirs\n')).toBe(true);
  });

  it('left alone: every page is written and recorded, as before', async () => {
    const dir = await tempDir();
    const { path, result, thrown, recorded } = await runJob(dir, () => {});
    expect(result).toMatchObject({ completed: 1, failed: 0 });
    expect(thrown).toEqual([]);
    expect(lines(await readFile(path, 'utf8'))).toHaveLength(18);
    expect((await stat(path)).size).toBe(recorded);
  });
});

describe('a file the sink closed while idle (it keeps 64 open), disturbed before its next page', () => {
  /** Writes a page to u0, then one to each of 70 other units (u0's file is closed), then u0 again. */
  async function roundTrip(meddle: (path: string) => void) {
    const dir = await tempDir();
    const pathOf = (unit: string) => join(dir, `${unit}.jsonl`);
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    const sink = jsonLinesSink<{ n: number }>({ path: pathOf });
    const write = (unit: string, n: number) =>
      Promise.resolve(sink.write([{ n }], { unit, run, signal: run.signal })).catch(
        (e: unknown) => e,
      );
    await write('u0', 0);
    for (let i = 1; i <= 70; i++) await write(`u${i}`, 0);
    meddle(pathOf('u0'));
    const result = await write('u0', 1);
    await sink.close?.();
    await run.close();
    return { path: pathOf('u0'), result };
  }

  it('left alone: opened again, and its next page follows the first', async () => {
    const { path, result } = await roundTrip(() => {});
    expect(result).not.toBeInstanceOf(Error);
    expect(await readFile(path, 'utf8')).toBe('{"n":0}\n{"n":1}\n');
  });

  it('renamed: SinkFileDisturbedError, as when it was open, and no new file at its path', async () => {
    const { path, result } = await roundTrip((path) => renameSync(path, `${path}.1`));
    // Before (a closed file opened as a resume opens it): SinkFileLostError, as if between runs.
    expect(result).toBeInstanceOf(SinkFileDisturbedError);
    expect(String(result)).toMatch(/renamed, moved or deleted/);
    expect(await readFile(`${path}.1`, 'utf8')).toBe('{"n":0}\n');
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('appended to: SinkFileDisturbedError, and their line is not cut off as an unacknowledged tail', async () => {
    const { path, result } = await roundTrip((path) => appendFileSync(path, 'theirs\n'));
    expect(result).toBeInstanceOf(SinkFileDisturbedError);
    expect(String(result)).toMatch(/grew to/);
    expect(await readFile(path, 'utf8')).toBe('{"n":0}\ntheirs\n');
  });
});
