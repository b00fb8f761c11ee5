import { readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  anyOf,
  everyItems,
  everyUnits,
  MemoryStorage,
  memoryStore,
  openRun,
  pipeline,
  type SaveStrategy,
} from '@checkpointkit/core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  jsonLinesSink,
  SinkFileError,
  SinkFileLostError,
  SinkFileStateError,
  sinkStateKey,
} from '../../src/index.js';
import {
  killableStore,
  numberedSource,
  type Row,
  removeTempDirs,
  tempDir,
} from '../helpers/jobs.js';

afterAll(removeTempDirs);

/** Saves every 2 pages of 3 rows, and every unit: most crashes land between a write and its flush. */
const sparse: SaveStrategy = anyOf(everyUnits(1), everyItems(6));

/** Runs a whole job into `path` in one go: what every crashed run must end up equal to. */
async function uninterrupted(
  path: string | ((unit: string) => string),
  units: number,
  concurrency: number,
): Promise<void> {
  const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
  await pipeline({
    run,
    source: numberedSource(units, 5),
    sink: jsonLinesSink<Row>({ path }),
    concurrency,
  });
  await run.finish();
}

/**
 * Runs the job and "crashes" after `pages` pages: the store stops acknowledging and the run drops
 * what it had not flushed, as kill -9 would. Returns the bytes the checkpoint recorded per file.
 */
async function crashAfter(
  storage: MemoryStorage,
  path: string | ((unit: string) => string),
  units: number,
  pages: number,
  concurrency: number,
): Promise<void> {
  const { store, kill } = killableStore(storage);
  const run = await openRun({ id: 'job', store, strategy: sparse, signals: false });
  let seen = 0;
  const stop = new AbortController();
  await pipeline({
    run,
    source: numberedSource(units, 5),
    sink: jsonLinesSink<Row>({ path }),
    concurrency,
    signal: stop.signal,
    onProgress: (event) => {
      if (event.type === 'page' && ++seen === pages) {
        kill();
        stop.abort();
      }
    },
  }).catch(() => {});
  await run.abandon();
}

async function resume(
  storage: MemoryStorage,
  path: string | ((unit: string) => string),
  units: number,
  concurrency: number,
): Promise<void> {
  const run = await openRun({
    id: 'job',
    store: memoryStore(storage),
    strategy: sparse,
    signals: false,
  });
  await pipeline({
    run,
    source: numberedSource(units, 5),
    sink: jsonLinesSink<Row>({ path }),
    concurrency,
  });
  await run.finish();
}

describe('jsonLinesSink', () => {
  it('writes one line per item, and records the size of the file with each page', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.jsonl');
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    await pipeline({ run, source: numberedSource(2, 3), sink: jsonLinesSink<Row>({ path }) });
    const lines = (await readFile(path, 'utf8')).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((line) => (JSON.parse(line) as Row).n)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8,
    ]);
    expect(run.checkpoint.meta.user[sinkStateKey('sink-file', path)]).toEqual({
      bytes: (await stat(path)).size,
      // A fingerprint of the last bytes, to tell the file from another one on resume.
      tail: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
    await run.close();
  });

  it('after a crash between a page and its flush, leaves one file equal to an uninterrupted run, byte for byte', async () => {
    const dir = await tempDir();
    const expected = join(dir, 'expected.jsonl');
    await uninterrupted(expected, 3, 1);
    const want = await readFile(expected);
    let cut = 0;
    for (const pages of [1, 2, 3, 5, 7, 8, 11, 14]) {
      const path = join(dir, `crash-${pages}.jsonl`);
      const storage = new MemoryStorage();
      await crashAfter(storage, path, 3, pages, 1);
      const recorded = (await memoryStore(storage).load('job'))?.meta.user[
        sinkStateKey('sink-file', path)
      ] as { bytes: number } | undefined;
      if ((await stat(path)).size > (recorded?.bytes ?? 0)) cut += 1;
      // Opening cuts the file back to what the checkpoint acknowledged, before any write.
      const run = await openRun({ id: 'job', store: memoryStore(storage), signals: false });
      const sink = jsonLinesSink<Row>({ path });
      await sink.open?.({ run, signal: run.signal });
      expect((await stat(path)).size).toBe(recorded?.bytes ?? 0);
      await sink.close?.();
      await run.close();
      await resume(storage, path, 3, 1);
      expect(await readFile(path), `crash after ${pages} pages`).toEqual(want);
    }
    // The crashes did leave pages no flush acknowledged, for the resume to cut.
    expect(cut).toBeGreaterThanOrEqual(4);
  });

  it('with a file per unit and units written concurrently, each file equals an uninterrupted run', async () => {
    const dir = await tempDir();
    await uninterrupted((unit) => join(dir, 'expected', `${unit}.jsonl`), 4, 3);
    for (const pages of [2, 5, 9, 13]) {
      const storage = new MemoryStorage();
      const path = (unit: string) => join(dir, `crash-${pages}`, `${unit}.jsonl`);
      await crashAfter(storage, path, 4, pages, 3);
      await resume(storage, path, 4, 3);
      for (let u = 0; u < 4; u++) {
        expect(await readFile(path(`u${u}`)), `u${u}, crash after ${pages}`).toEqual(
          await readFile(join(dir, 'expected', `u${u}.jsonl`)),
        );
      }
    }
  });

  it('with units interleaved in one file, keeps every acknowledged line once and loses none', async () => {
    const dir = await tempDir();
    const path = join(dir, 'shared.jsonl');
    const storage = new MemoryStorage();
    for (const pages of [3, 4, 6]) await crashAfter(storage, path, 4, pages, 3);
    await resume(storage, path, 4, 3);
    const lines = (await readFile(path, 'utf8')).trim().split('\n');
    const rows = lines.map((line) => JSON.parse(line) as Row);
    expect(new Set(lines).size).toBe(lines.length);
    expect(lines).toHaveLength(4 * 15);
    for (let u = 0; u < 4; u++) {
      expect(rows.filter((row) => row.unit === `u${u}`).map((row) => row.n)).toEqual(
        Array.from({ length: 15 }, (_, n) => n),
      );
    }
  });

  it('starts a file the checkpoint never recorded empty (the output of an older run)', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.jsonl');
    await writeFile(path, 'left over from yesterday\n');
    await uninterrupted(path, 1, 1);
    expect((await readFile(path, 'utf8')).split('\n')).toHaveLength(16);
    expect(await readFile(path, 'utf8')).not.toContain('yesterday');
  });

  it('refuses to resume when a file lost bytes the checkpoint acknowledged', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.jsonl');
    const storage = new MemoryStorage();
    await crashAfter(storage, path, 2, 6, 1);
    await truncate(path, 10);
    const run = await openRun({ id: 'job', store: memoryStore(storage), signals: false });
    const error = await pipeline({
      run,
      source: numberedSource(2, 5),
      sink: jsonLinesSink<Row>({ path }),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SinkFileLostError);
    expect(error).toMatchObject({ file: path, actual: 10 });
    expect(String(error)).toContain(path);
    expect(await stat(path)).toMatchObject({ size: 10 });
    await run.close();
  });

  it('refuses meta it did not write, naming the key', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.jsonl');
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    await run.setMeta(sinkStateKey('sink-file', path), { bytes: -1 });
    const error = await pipeline({
      run,
      source: numberedSource(1, 1),
      sink: jsonLinesSink<Row>({ path }),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SinkFileStateError);
    expect(String(error)).toContain(`sink-file:${path}`);
    await run.close();
  });

  it('fails the unit whose file cannot be written, naming the file, and goes on with the others', async () => {
    const dir = await tempDir();
    const blocked = join(dir, 'blocked');
    await writeFile(blocked, 'a file where a folder should be');
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    const result = await pipeline({
      run,
      source: numberedSource(2, 2),
      sink: jsonLinesSink<Row>({
        path: (unit) => (unit === 'u0' ? join(blocked, 'u0.jsonl') : join(dir, `${unit}.jsonl`)),
      }),
    });
    expect(result).toMatchObject({ completed: 1, failed: 1 });
    expect(run.unit('u0')?.error?.message).toContain(join(blocked, 'u0.jsonl'));
    expect((await readFile(join(dir, 'u1.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(6);
    await run.close();
  });

  it('names the item that is not JSON', async () => {
    const dir = await tempDir();
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    await pipeline({
      run,
      source: numberedSource(1, 1),
      sink: jsonLinesSink<Row>({ path: join(dir, 'x.jsonl'), toJson: () => undefined }),
    });
    expect(run.unit('u0')?.error?.message).toMatch(/item 0 of a page of u0 .* is not JSON/);
    await run.close();
  });

  it('refuses worker mode, where processes share the checkpoint', async () => {
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    // A worker's run, as openRun({ worker }) makes one on a store with claims.
    const worker = Object.create(run, { worker: { value: { id: 'w1', leaseMs: 30_000 } } });
    const sink = jsonLinesSink<Row>({ path: join(await tempDir(), 'x.jsonl') });
    await expect(sink.open?.({ run: worker, signal: run.signal })).rejects.toThrow(/worker mode/);
    await run.close();
  });

  it('is an error class of its own for I/O, naming the operation', () => {
    const error = new SinkFileError('out.jsonl', 'write', new Error('ENOSPC: no space left'));
    expect(error.message).toBe('file sink: cannot write out.jsonl: ENOSPC: no space left');
  });
});
