/**
 * Two outputs that end up in one file: a unit whose file is a part of another unit's rotated
 * output (`report.1.jsonl` is part 1 of `report.jsonl`), two names of one file through a symbolic
 * or hard link, two sinks of one run with one id or one file. Each would cut, remove or overwrite
 * rows the checkpoint acknowledged; the sink must refuse with a typed error naming the files,
 * before it changes anything on disk.
 */
import { link, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  MemoryStorage,
  memoryStore,
  OptionsError,
  openRun,
  pipeline,
  type Source,
} from '@checkpointkit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonLinesSink, partPath, SinkFileConflictError } from '../../src/index.js';
import { bothSinks, numberedSource, type Row, removeTempDirs, tempDir } from '../helpers/jobs.js';

afterAll(removeTempDirs);

/** Units with the given keys, `pages` pages of 3 rows each. */
function keyedSource(keys: readonly string[], pages: number): Source<Row> {
  return {
    units: () => keys.map((key) => ({ key })),
    async *read({ key, cursor }) {
      for (let page = (cursor as number | null) ?? 0; page < pages; page++) {
        const items = [0, 1, 2].map((i) => ({ unit: key, n: page * 3 + i, text: `row of ${key}` }));
        yield { items, cursor: page + 1 };
      }
    },
  };
}

const rowsOf = async (path: string) =>
  (await readFile(path, 'utf8'))
    .trimEnd()
    .split('\n')
    .map((line) => `${(JSON.parse(line) as Row).unit}:${(JSON.parse(line) as Row).n}`);

describe('rotation: a unit whose file is a part of another unit’s output', () => {
  it('is refused when the pipeline starts, naming both files, and nothing is written', async () => {
    const dir = await tempDir();
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    const outcome = await pipeline({
      run,
      source: keyedSource(['report.1', 'report'], 5),
      sink: jsonLinesSink<Row>({ path: (unit) => join(dir, `${unit}.jsonl`), maxBytes: 200 }),
    }).catch((error: unknown) => error);
    await run.close();
    // Before: `report` started fresh and removed `report.1.jsonl`, the other unit's whole output.
    expect(await readdir(dir)).toEqual([]);
    expect(outcome).toBeInstanceOf(SinkFileConflictError);
    const files = [join(dir, 'report.jsonl'), join(dir, 'report.1.jsonl')];
    expect((outcome as SinkFileConflictError).files).toEqual(files);
    for (const file of files) expect(String(outcome)).toContain(file);
  });

  it.each([
    ['report.1', 'report'],
    ['report', 'report.1'],
  ])(
    'written outside pipeline(), %s first: the second unit is refused, the first one’s file stays',
    async (first, second) => {
      const dir = await tempDir();
      const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
      const sink = jsonLinesSink<Row>({
        path: (unit) => join(dir, `${unit}.jsonl`),
        maxBytes: 100,
      });
      const page = (unit: string, n: number) => [{ unit, n, text: 'x'.repeat(40) }];
      for (let n = 0; n < 3; n++)
        await sink.write(page(first, n), { unit: first, run, signal: run.signal });
      // The files (the sink's holds, hidden folders beside them, stay until it closes).
      const files = async () =>
        (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
      const before: Record<string, string> = {};
      for (const name of await files()) before[name] = await readFile(join(dir, name), 'utf8');
      expect(Object.keys(before).length).toBeGreaterThan(first === 'report' ? 1 : 0);

      const refused = await Promise.resolve()
        .then(() => sink.write(page(second, 0), { unit: second, run, signal: run.signal }))
        .catch((error: unknown) => error);
      const after: Record<string, string> = {};
      for (const name of await files()) after[name] = await readFile(join(dir, name), 'utf8');
      expect(after).toEqual(before);
      expect(refused).toBeInstanceOf(SinkFileConflictError);
      expect(refused).toMatchObject({ retryable: false });
      expect(String(refused)).toContain(join(dir, 'report.1.jsonl'));
      await sink.close?.();
      await run.close();
    },
  );

  it('without rotation, files named like parts are separate outputs', async () => {
    const dir = await tempDir();
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    await pipeline({
      run,
      source: keyedSource(['report.1', 'report'], 5),
      sink: jsonLinesSink<Row>({ path: (unit) => join(dir, `${unit}.jsonl`) }),
    });
    await run.close();
    expect(await rowsOf(join(dir, 'report.1.jsonl'))).toHaveLength(15);
    expect(await rowsOf(partPath(join(dir, 'report.jsonl'), 0))).toHaveLength(15);
  });
});

describe('two names of one file', () => {
  it.each([
    ['a symbolic link to a file not made yet', (a: string, b: string) => symlink(a, b)],
    [
      'a hard link of an empty file',
      async (a: string, b: string) => {
        await writeFile(a, '');
        await link(a, b);
      },
    ],
  ])(
    '%s: the second unit to open it fails with SinkFileConflictError, the first unit’s rows stay whole',
    async (_, makeLink) => {
      const dir = await tempDir();
      const a = join(dir, 'a.jsonl');
      const b = join(dir, 'b.jsonl');
      await makeLink(a, b);
      const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
      const failures: string[] = [];
      const result = await pipeline({
        run,
        source: numberedSource(2, 5),
        sink: jsonLinesSink<Row>({ path: (unit) => (unit === 'u0' ? a : b) }),
        onProgress: (event) => {
          if (event.type === 'unit-failed') failures.push(event.message);
        },
      });
      await run.close();
      // Before: u1 opened b fresh, cut the file to nothing, and wrote its rows over u0's.
      expect(await rowsOf(a)).toEqual(Array.from({ length: 15 }, (_, n) => `u0:${n}`));
      expect(result).toMatchObject({ completed: 1, failed: 1 });
      expect(run.unit('u1')?.error).toMatchObject({ retryable: false });
      expect(failures[0]).toContain(a);
      expect(failures[0]).toContain(b);
    },
  );
});

describe('two file sinks of one run', () => {
  it('with one id: refused when the second opens (a rotating one would remove the other’s files)', async () => {
    const dir = await tempDir();
    const theirs = join(dir, 'b.1.jsonl');
    await writeFile(theirs, 'a file of the user, named like a part of b.jsonl\n');
    const storage = new MemoryStorage();
    const outcomes: unknown[] = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      const run = await openRun({ id: 'job', store: memoryStore(storage), signals: false });
      const sink = bothSinks(
        jsonLinesSink<Row>({ path: join(dir, 'a.jsonl'), maxBytes: 100 }),
        jsonLinesSink<Row>({ path: join(dir, 'b.jsonl') }),
      );
      outcomes.push(
        await pipeline({ run, source: numberedSource(1, 3), sink }).catch((e: unknown) => e),
      );
      await run.close();
    }
    // Before: the resume's rotating sink took b.jsonl (same id) for its own and removed b.1.jsonl.
    expect(await readFile(theirs, 'utf8')).toBe(
      'a file of the user, named like a part of b.jsonl\n',
    );
    for (const outcome of outcomes) {
      expect(outcome).toBeInstanceOf(OptionsError);
      expect(String(outcome)).toMatch(/option "id" "sink-file" is used by another file sink/);
    }
  });

  it('with different ids and one file: the second fails its unit, the first one’s rows stay', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.jsonl');
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    const sink = bothSinks(
      jsonLinesSink<Row>({ id: 'one', path }),
      jsonLinesSink<Row>({ id: 'two', path: (unit) => join(dir, 'x', '..', `${unit}.jsonl`) }),
    );
    const result = await pipeline({ run, source: keyedSource(['out'], 3), sink });
    const error = run.unit('out')?.error;
    await run.close();
    // Before: two writers at their own offsets of one file, each page over the other's.
    expect(await rowsOf(path)).toEqual(['out:0', 'out:1', 'out:2']);
    expect(result).toMatchObject({ failed: 1 });
    expect(error).toMatchObject({ retryable: false });
    expect(error?.message).toMatch(/^file sink: .*out\.jsonl.* another file sink of this run/);
  });
});

describe('two file sinks of one run, one rotating into the other’s file', () => {
  it('the resume refuses before the rotating one removes the other’s recorded file as a part', async () => {
    const dir = await tempDir();
    const main = join(dir, 'out.jsonl');
    const other = join(dir, 'out.1.jsonl');
    const storage = new MemoryStorage();
    const outcomes: unknown[] = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      const run = await openRun({ id: 'job', store: memoryStore(storage), signals: false });
      const sink = bothSinks(
        jsonLinesSink<Row>({ id: 'main', path: main, maxBytes: 300 }),
        jsonLinesSink<Row>({ id: 'other', path: other }),
      );
      outcomes.push(
        await pipeline({ run, source: numberedSource(1, 5), sink, retryFailed: true }).catch(
          (e: unknown) => e,
        ),
      );
      await run.close();
      if (attempt === 0) expect(await rowsOf(other)).toHaveLength(6);
    }
    // The first run wrote two pages to each, then refused to rotate `main` into `other`'s file.
    expect(outcomes[0]).toMatchObject({ failed: 1 });
    // Before: the resume of `main` removed out.1.jsonl as a part no flush acknowledged.
    expect(await rowsOf(other)).toHaveLength(6);
    expect(outcomes[1]).toBeInstanceOf(SinkFileConflictError);
    expect((outcomes[1] as SinkFileConflictError).files).toEqual([main, other]);
  });
});
