/**
 * File sinks of two different jobs (two runs, two checkpoints) in one process that name one file:
 * the second is refused with SinkFileHeldError before it touches anything, under any spelling of
 * the file, until the first closes. (Two processes: test/integration/two-jobs.test.ts.)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { link, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { memoryStore, openRun, pipeline, type Run, type Sink } from '@checkpointkit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonLinesSink, partPath, SinkFileHeldError } from '../../src/index.js';
import { numberedSource, type Row, removeTempDirs, tempDir } from '../helpers/jobs.js';

afterAll(removeTempDirs);

const job = (id: string) => openRun({ id, store: memoryStore(), signals: false });
const page = (n: number) => [{ unit: 'u0', n, text: 'a row' }];
/** Writes page `n` and records what the sink returned, as pipeline() does (unless `record` is false). */
const write = async (
  sink: ReturnType<typeof jsonLinesSink<Row>>,
  run: Run,
  n: number,
  record = true,
) => {
  const result = await sink.write(page(n), { unit: 'u0', run, signal: run.signal });
  if (!record) return result;
  for (const [key, value] of Object.entries(result?.meta ?? {})) await run.setMeta(key, value);
  return result;
};

async function filesOf(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(dir, { withFileTypes: true }))
    if (entry.isFile()) files[entry.name] = await readFile(join(dir, entry.name), 'utf8');
  return files;
}

/**
 * Leaves the hold a process of `run`'s job left on `path` when it was killed: taken by a child
 * process that exits without letting go (a hold whose maker is dead is taken over, and names it).
 */
function leaveDeadHold(run: Run, path: string): void {
  const storageFile = fileURLToPath(import.meta.resolve('@checkpointkit/storage-file'));
  const hold = join(path, '..', `.${path.split('/').pop()}.sink-hold`);
  const details = { checkpoint: run.id, createdAt: run.checkpoint.createdAt, sink: 'sink-file' };
  execFileSync(process.execPath, [
    '--input-type=module',
    '-e',
    `const { tryLock } = await import(${JSON.stringify(storageFile)});
     const taken = await tryLock(${JSON.stringify(hold)}, { details: ${JSON.stringify(details)} });
     if (!taken.lock) throw new Error('not taken');
     process.exit(0);`,
  ]);
  expect(existsSync(hold)).toBe(true);
}

describe('another job’s file sink', () => {
  it.each([
    ['the same path', (path: string) => path],
    ['a relative path', (path: string) => relative(process.cwd(), path)],
    ['a path through its folder', (path: string) => join(path, '..', 'out.jsonl')],
  ])(
    'naming a file one holds, by %s: refused, naming the holder; let in once it closes',
    async (_, spell) => {
      const dir = await tempDir();
      const path = join(dir, 'out.jsonl');
      const a = await job('job-a');
      const b = await job('job-b');
      const first = jsonLinesSink<Row>({ path });
      await first.open?.({ run: a, signal: a.signal });
      for (let n = 0; n < 3; n++) await write(first, a, n);
      const before = await filesOf(dir);
      const second = jsonLinesSink<Row>({ path: spell(path), id: 'other' });
      const refused = await Promise.resolve(second.open?.({ run: b, signal: b.signal })).catch(
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(SinkFileHeldError);
      expect(refused).toMatchObject({
        file: expect.stringContaining('out.jsonl'),
        hold: join(dir, '.out.jsonl.sink-hold'),
        retryable: true,
        holder: { checkpoint: 'job-a', sink: 'sink-file', pid: process.pid },
      });
      expect(String(refused)).toContain('"job-a"');
      expect(await filesOf(dir)).toEqual(before);
      await first.close?.();
      // Released: the second job writes the file, the first one's rows kept aside whole.
      await second.open?.({ run: b, signal: b.signal });
      await write(second, b, 0);
      await second.close?.();
      const after = await filesOf(dir);
      expect(Object.values(after).sort()).toEqual([before['out.jsonl'], expect.any(String)].sort());
      expect(await readdir(dir)).toHaveLength(2); // no hold left
      await a.close();
      await b.close();
    },
  );

  it.each([
    ['a symbolic link to it, not made yet', (a: string, b: string) => symlink(a, b)],
    [
      'a hard link of it, empty',
      async (a: string, b: string) => {
        await writeFile(a, '');
        await link(a, b);
      },
    ],
  ])(
    'naming a file one holds through %s: the unit fails with SinkFileHeldError (retryable), nothing written',
    async (_, makeLink) => {
      const dir = await tempDir();
      const path = join(dir, 'out.jsonl');
      const other = join(dir, 'other.jsonl');
      await makeLink(path, other);
      const a = await job('job-a');
      const first = jsonLinesSink<Row>({ path });
      await first.open?.({ run: a, signal: a.signal });
      const b = await job('job-b');
      const failures: { message: string; retryable: boolean }[] = [];
      const result = await pipeline({
        run: b,
        source: numberedSource(1, 3),
        sink: jsonLinesSink<Row>({ path: () => other }),
        onProgress: (event) => {
          if (event.type === 'unit-failed') failures.push(event);
        },
      });
      expect(result).toMatchObject({ completed: 0, failed: 1 });
      expect(failures[0]).toMatchObject({ retryable: true });
      expect(failures[0]?.message).toContain('is held by the job of checkpoint "job-a"');
      expect(await readFile(path, 'utf8')).toBe('');
      await write(first, a, 0);
      await first.close?.();
      expect(await readFile(path, 'utf8')).toContain('"n":0');
      await a.close();
      await b.close();
    },
  );

  it("a job killed before it looked at its output, resumed after another job wrote that file under another name (a hard link): the other job's rows are kept", async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.jsonl');
    const hard = join(dir, 'hard.jsonl');
    await writeFile(path, '');
    await link(path, hard);
    // B's first process took the hold of hard.jsonl and was killed before it opened the file.
    const b = await job('job-b');
    leaveDeadHold(b, hard);
    // A writes the file under its other name and ends, letting go of its holds.
    const a = await job('job-a');
    const first = jsonLinesSink<Row>({ path });
    for (let n = 0; n < 3; n++) await write(first, a, n);
    await first.close?.();
    const written = await readFile(path, 'utf8');
    expect(written.split('\n').filter(Boolean)).toHaveLength(3);
    // B resumes: the hold it takes over is its own job's, and the file was modified since B's
    // job began; but its data is A's, reached through another name. Kept, not cut.
    const second = jsonLinesSink<Row>({ path: hard });
    await second.open?.({ run: b, signal: b.signal });
    await write(second, b, 7);
    await second.close?.();
    const files = await filesOf(dir);
    expect(Object.values(files)).toContain(written);
    expect(files['hard.jsonl']).toBe(`${JSON.stringify({ unit: 'u0', n: 7, text: 'a row' })}\n`);
    await a.close();
    await b.close();
  });

  it('a sink closed with a page no flush recorded (a Ctrl+C between the write and its record) leaves its hold: the next run of its job cuts the page off, another job keeps it aside', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.jsonl');
    const storage = memoryStore();
    const a = await openRun({ id: 'job-a', store: storage, signals: false });
    const first = jsonLinesSink<Row>({ path });
    await first.open?.({ run: a, signal: a.signal });
    await write(first, a, 0);
    await a.flush();
    await write(first, a, 1, false);
    await first.close?.();
    await a.close();
    expect(await readdir(dir)).toContain('.out.jsonl.sink-hold');
    // The job's next run (this process's: the hold names a token it no longer holds) cuts it.
    const again = await openRun({ id: 'job-a', store: storage, signals: false });
    const second = jsonLinesSink<Row>({ path });
    await second.open?.({ run: again, signal: again.signal });
    await write(second, again, 2);
    await second.close?.();
    await again.close();
    expect(await filesOf(dir)).toEqual({
      'out.jsonl': `${[0, 2].map((n) => JSON.stringify(page(n)[0])).join('\n')}\n`,
    });
    expect(await readdir(dir)).toEqual(['out.jsonl']);

    // A fresh file's unrecorded page, left so, then wanted by another job: kept aside.
    const fresh = join(dir, 'fresh.jsonl');
    const c = await job('job-c');
    const third = jsonLinesSink<Row>({ path: fresh });
    await write(third, c, 0, false);
    await third.close?.();
    const d = await job('job-d');
    const fourth = jsonLinesSink<Row>({ path: fresh });
    await write(fourth, d, 5);
    await fourth.close?.();
    const files = await filesOf(dir);
    expect(files['fresh.jsonl']).toBe(`${JSON.stringify(page(5)[0])}\n`);
    expect(Object.values(files)).toContain(`${JSON.stringify(page(0)[0])}\n`);
    expect(Object.keys(files)).toHaveLength(3);
    await c.close();
    await d.close();
  });

  it('with rotation: a part one job writes is held too, and an output one of whose parts another job holds is refused', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.jsonl');
    const a = await job('job-a');
    const b = await job('job-b');
    const rotating = jsonLinesSink<Row>({ path, maxBytes: 30 });
    for (let n = 0; n < 3; n++) await write(rotating, a, n);
    expect(await readFile(partPath(path, 2), 'utf8')).toContain('"n":2');
    const before = await filesOf(dir);
    const other = jsonLinesSink<Row>({ path: partPath(path, 1) });
    await expect(Promise.resolve(other.open?.({ run: b, signal: b.signal }))).rejects.toThrow(
      SinkFileHeldError,
    );
    expect(await filesOf(dir)).toEqual(before);
    await rotating.close?.();
    await other.close?.();

    // The other way round: B holds what would be a part of A's output. A looks at its parts when
    // it opens (to keep aside or remove those no flush recorded), so it is refused there.
    const dir2 = await tempDir();
    const path2 = join(dir2, 'out.jsonl');
    const holder = jsonLinesSink<Row>({ path: partPath(path2, 1) });
    await holder.open?.({ run: b, signal: b.signal });
    await write(holder, b, 0);
    const a2 = await job('job-a2');
    const next = jsonLinesSink<Row>({ path: path2, maxBytes: 30 });
    const refused = await write(next, a2, 0).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(SinkFileHeldError);
    expect(refused).toMatchObject({ file: partPath(path2, 1), holder: { checkpoint: 'job-b' } });
    expect(await readFile(partPath(path2, 1), 'utf8')).toBe(
      `${JSON.stringify({ unit: 'u0', n: 0, text: 'a row' })}\n`,
    );
    await next.close?.();
    await holder.close?.();
    await a.close();
    await a2.close();
    await b.close();
  });

  it('holds a file by its device and inode only once it has other names: a hard link made while it is open is held before the next page', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.jsonl');
    const a = await job('job-a');
    const sink = jsonLinesSink<Row>({ path });
    await sink.open?.({ run: a, signal: a.signal });
    await write(sink, a, 0);
    const { dev, ino } = statSync(path, { bigint: true });
    const uid = process.getuid?.() ?? 'user';
    const byInode = join(tmpdir(), `checkpointkit-sink-holds-${uid}`, `${dev}-${ino}.hold`);
    // One name: its path's hold covers it.
    expect(existsSync(byInode)).toBe(false);
    await link(path, join(dir, 'hard.jsonl'));
    await write(sink, a, 1);
    expect(existsSync(byInode)).toBe(true);
    await sink.close?.();
    expect(existsSync(byInode)).toBe(false);
    await a.close();
  });

  it('a file per unit: holds the files it keeps open (and those no flush recorded yet), not one per unit', async () => {
    const dir = await tempDir();
    const run = await job('job-a');
    const sink = jsonLinesSink<Row>({ path: (unit) => join(dir, `${unit}.jsonl`) });
    let heldAtEnd = 0;
    const counted: Sink<Row> = {
      open: (context) => sink.open?.(context),
      write: (items, context) => sink.write(items, context),
      close: async () => {
        heldAtEnd = (await readdir(dir)).filter((name) => name.endsWith('.sink-hold')).length;
        await sink.close?.();
      },
    };
    const units = 150;
    await pipeline({ run, source: numberedSource(units, 1), sink: counted });
    // 64 kept open, and the few a flush had not recorded yet when they were closed.
    expect(heldAtEnd).toBeGreaterThanOrEqual(64);
    expect(heldAtEnd).toBeLessThan(units);
    expect((await readdir(dir)).filter((name) => name.endsWith('.sink-hold'))).toEqual([]);
    await run.close();
  });
});
