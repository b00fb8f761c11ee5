/**
 * What someone else does to the output between a crash and the resume: deletes a part, deletes
 * the file, replaces it with a file of their own, or resumes from another working directory where
 * a file of theirs has the output's relative name. The resume must refuse with a typed error that
 * names the file and the cause, and leave every file as it found it.
 */
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MemoryStorage, memoryStore, openRun, pipeline } from '@checkpointkit/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  jsonLinesSink,
  partPath,
  SinkFileChangedError,
  SinkFileLostError,
  SinkFileStateError,
  sinkStateKey,
} from '../../src/index.js';
import { crashAfter, numberedSource, type Row, removeTempDirs, tempDir } from '../helpers/jobs.js';

afterAll(removeTempDirs);
const startDir = process.cwd();
afterEach(() => process.chdir(startDir));

/** Resumes the job; what it rejected with. */
async function resumeError(storage: MemoryStorage, path: string, maxBytes?: number) {
  const run = await openRun({ id: 'job', store: memoryStore(storage), signals: false });
  const error = await pipeline({
    run,
    source: numberedSource(2, 5),
    sink: jsonLinesSink<Row>({ path, maxBytes }),
  }).catch((e: unknown) => e);
  await run.close();
  return error;
}

/** Every file of `dir` with its bytes, to compare before and after. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort())
    files[name] = await readFile(join(dir, name), 'utf8');
  return files;
}

describe('between a crash and the resume', () => {
  it('a deleted part before the recorded one: refuses, naming the part, and touches nothing', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.jsonl');
    const storage = new MemoryStorage();
    await crashAfter(storage, path, 7, 200);
    expect((await stat(partPath(path, 2))).size).toBeGreaterThan(0);
    await rm(partPath(path, 1));
    const before = await snapshot(dir);
    const error = await resumeError(storage, path, 200);
    expect(error).toBeInstanceOf(SinkFileChangedError);
    expect(error).toMatchObject({ file: partPath(path, 1) });
    expect(String(error)).toContain(partPath(path, 1));
    expect(await snapshot(dir)).toEqual(before);
  });

  it('a deleted output: refuses with SinkFileLostError, and creates no empty file in its place', async () => {
    const dir = await tempDir();
    const path = join(dir, 'sub', 'out.jsonl');
    const storage = new MemoryStorage();
    await crashAfter(storage, path, 3);
    await rm(join(dir, 'sub'), { recursive: true });
    const error = await resumeError(storage, path);
    expect(error).toBeInstanceOf(SinkFileLostError);
    expect(error).toMatchObject({ file: path, actual: 0 });
    expect(await readdir(dir)).toEqual([]);
  });

  it('an output replaced by a longer file of someone else: refuses, and the file stays byte for byte', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.jsonl');
    const storage = new MemoryStorage();
    await crashAfter(storage, path, 3);
    const theirs = `${'{"their":"data"}\n'.repeat(400)}`;
    await writeFile(path, theirs);
    const error = await resumeError(storage, path);
    expect(error).toBeInstanceOf(SinkFileChangedError);
    expect(String(error)).toContain(path);
    expect(await readFile(path, 'utf8')).toBe(theirs);
  });

  it('a resume from another working directory does not cut a file of the user there under the relative name', async () => {
    const first = await tempDir();
    const second = await tempDir();
    const storage = new MemoryStorage();
    process.chdir(first);
    await crashAfter(storage, 'out.jsonl', 4);
    const recorded = (await stat(join(first, 'out.jsonl'))).size;
    const theirs = 'a report of the user, longer than the job had written;\n'.repeat(100);
    expect(theirs.length).toBeGreaterThan(recorded);
    await writeFile(join(second, 'out.jsonl'), theirs);
    process.chdir(second);
    const error = await resumeError(storage, 'out.jsonl');
    expect(error).toBeInstanceOf(SinkFileChangedError);
    expect(await readFile(join(second, 'out.jsonl'), 'utf8')).toBe(theirs);
  });

  it('a checkpoint without fingerprints (an older version) still cuts back; a bad one is refused', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.jsonl');
    await writeFile(path, '{"a":1}\n{"unacknowledged":true}\n');
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    await run.setMeta(sinkStateKey('sink-file', path), { bytes: 8 });
    const sink = jsonLinesSink({ path });
    await sink.open?.({ run, signal: run.signal });
    await sink.close?.();
    expect(await readFile(path, 'utf8')).toBe('{"a":1}\n');
    await run.setMeta(sinkStateKey('sink-file', path), { bytes: 8, tail: 42 });
    await expect(sink.open?.({ run, signal: run.signal })).rejects.toBeInstanceOf(
      SinkFileStateError,
    );
    await run.close();
  });

  it('an untouched output resumes, and the file is complete', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.jsonl');
    const storage = new MemoryStorage();
    await crashAfter(storage, path, 4, 150);
    expect(await resumeError(storage, path, 150)).toMatchObject({ completed: 2 });
    let rows = 0;
    for (let part = 0; ; part++) {
      const text = await readFile(partPath(path, part), 'utf8').catch(() => null);
      if (text === null) break;
      rows += text.trimEnd().split('\n').length;
    }
    expect(rows).toBe(30);
  });
});
