/**
 * Paths a stranger hands the sink: unit keys with `..`, slashes, NUL or hundreds of characters in
 * a path function, relative paths while the working directory changes, sink ids with a colon.
 * The output must hold every record once, and bad paths must fail their unit with a typed error
 * that names the file.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  MemoryStorage,
  memoryStore,
  OptionsError,
  openRun,
  pipeline,
  type Sink,
  type SinkResult,
} from '@checkpointkit/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { csvSink, jsonLinesSink, partPath } from '../../src/index.js';
import {
  bothSinks,
  killableStore,
  numberedSource,
  type Row,
  removeTempDirs,
  tempDir,
} from '../helpers/jobs.js';

afterAll(removeTempDirs);
const startDir = process.cwd();
afterEach(() => process.chdir(startDir));

/** The rows of a JSON Lines text, as `unit:n`. */
function rowsOf(text: string): string[] {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => {
      const row = JSON.parse(line) as Row;
      return `${row.unit}:${row.n}`;
    });
}

describe('unit keys in path functions', () => {
  it('two units whose paths name one file through `..` share it: every row once, none overwritten', async () => {
    const dir = await tempDir();
    const source = numberedSource(2, 5);
    // u0 → <dir>/x/../u.jsonl, u1 → <dir>/u.jsonl: one file under two spellings.
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    await pipeline({
      run,
      source,
      concurrency: 2,
      sink: jsonLinesSink<Row>({
        path: (unit) => (unit === 'u0' ? `${dir}/x/../u.jsonl` : `${dir}//u.jsonl`),
      }),
    });
    await run.close();
    const rows = rowsOf(await readFile(join(dir, 'u.jsonl'), 'utf8'));
    expect(rows.sort()).toEqual(
      ['u0', 'u1'].flatMap((unit) => Array.from({ length: 15 }, (_, n) => `${unit}:${n}`)).sort(),
    );
  });

  it('a unit key with a NUL, or far too long for a file name, fails its unit with a SinkFileError naming the file', async () => {
    const dir = await tempDir();
    const keys = ['nul\0key', 'k'.repeat(300), 'fine'];
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    const path = (unit: string) => join(dir, `${unit}.jsonl`);
    const result = await pipeline({
      run,
      source: {
        units: () => keys.map((key) => ({ key })),
        async *read({ key }) {
          yield { items: [{ key }], cursor: 1 };
        },
      },
      sink: jsonLinesSink({ path }),
    });
    expect(result).toMatchObject({ completed: 1, failed: 2 });
    for (const key of keys.slice(0, 2)) {
      const error = run.unit(key)?.error;
      expect(error?.message).toContain(path(key));
      expect(error?.message).toMatch(/^file sink: cannot \w+/);
    }
    expect(await readdir(dir)).toEqual(['fine.jsonl']);
    await run.close();
  });
});

describe('relative paths', () => {
  it('stay where they were when the sink was made, though the working directory changes mid-run', async () => {
    const home = await tempDir();
    const elsewhere = await tempDir();
    process.chdir(home);
    const shared = jsonLinesSink<Row>({ path: 'out/all.jsonl', maxBytes: 300 });
    const perUnit = jsonLinesSink<Row>({ id: 'per-unit', path: (unit) => `out/${unit}.jsonl` });
    const both: Sink<Row> = {
      open: async (context) => {
        await shared.open?.(context);
        await perUnit.open?.(context);
      },
      write: async (items, context): Promise<SinkResult> => {
        const a = await shared.write(items, context);
        const b = await perUnit.write(items, context);
        return { meta: { ...a?.meta, ...b?.meta } };
      },
      close: async () => {
        await shared.close?.();
        await perUnit.close?.();
      },
    };
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    let pages = 0;
    await pipeline({
      run,
      source: numberedSource(3, 5),
      sink: both,
      onProgress: (event) => {
        // Something in the job (a library, a child_process helper) changes the directory.
        if (event.type === 'page' && ++pages === 2) process.chdir(elsewhere);
      },
    });
    await run.close();
    expect(await readdir(elsewhere)).toEqual([]);
    const parts: string[] = [];
    for (let part = 0; ; part++) {
      const text = await readFile(join(home, partPath('out/all.jsonl', part)), 'utf8').catch(
        () => null,
      );
      if (text === null) break;
      parts.push(text);
    }
    expect(parts.length).toBeGreaterThan(2);
    expect(rowsOf(parts.join(''))).toHaveLength(45);
    for (const unit of ['u0', 'u1', 'u2']) {
      expect(rowsOf(await readFile(join(home, 'out', `${unit}.jsonl`), 'utf8'))).toHaveLength(15);
    }
  });
});

describe('two file sinks on one run', () => {
  it('refuses an id with a colon, which would read the other sink’s entries as files of its own', async () => {
    expect(() => jsonLinesSink({ id: 'sink-file:csv', path: 'x.jsonl' })).toThrow(OptionsError);
    expect(() => jsonLinesSink({ id: 'sink-file:csv', path: 'x.jsonl' })).toThrow(
      /option "id" .*colon.*"sink-file:csv"/,
    );
    expect(() => csvSink({ id: '', path: 'x.csv', columns: ['n'] })).toThrow(/option "id"/);
  });

  it('with different ids, each resumes its own file after a crash, byte for byte', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'expected'));
    const make = (sub: string) => {
      const json = jsonLinesSink<Row>({ id: 'json', path: join(dir, sub, 'out.jsonl') });
      const csv = csvSink<Row>({ id: 'csv', path: join(dir, sub, 'out.csv'), columns: ['n'] });
      return bothSinks(json, csv);
    };
    const clean = await openRun({ id: 'job', store: memoryStore(), signals: false });
    await pipeline({ run: clean, source: numberedSource(2, 5), sink: make('expected') });
    await clean.close();

    const storage = new MemoryStorage();
    const { store, kill } = killableStore(storage);
    const first = await openRun({ id: 'job', store, signals: false });
    let pages = 0;
    const stop = new AbortController();
    await pipeline({
      run: first,
      source: numberedSource(2, 5),
      sink: make('crashed'),
      signal: stop.signal,
      onProgress: (event) => {
        if (event.type === 'page' && ++pages === 4) {
          kill();
          stop.abort();
        }
      },
    }).catch(() => {});
    await first.abandon();
    const second = await openRun({ id: 'job', store: memoryStore(storage), signals: false });
    await pipeline({ run: second, source: numberedSource(2, 5), sink: make('crashed') });
    await second.close();
    for (const name of ['out.jsonl', 'out.csv']) {
      expect(await readFile(join(dir, 'crashed', name), 'utf8'), name).toBe(
        await readFile(join(dir, 'expected', name), 'utf8'),
      );
    }
  });
});
