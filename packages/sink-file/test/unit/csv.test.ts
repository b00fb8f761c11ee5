import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type CheckpointStore,
  everyItems,
  MemoryStorage,
  memoryStore,
  openRun,
  pipeline,
} from '@checkpointkit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { csvCell, csvSink, partPath } from '../../src/index.js';
import { numberedSource, type Row, removeTempDirs, tempDir } from '../helpers/jobs.js';

afterAll(removeTempDirs);

const columns = ['unit', 'n', { header: 'text, quoted', value: (row: Row) => row.text }] as const;

describe('csvCell', () => {
  it('quotes what RFC 4180 says must be quoted, and formats values', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell(' padded')).toBe('" padded"');
    expect(csvCell('a;b', ';')).toBe('"a;b"');
    expect(csvCell(null)).toBe('');
    expect(csvCell(undefined)).toBe('');
    expect(csvCell(12.5)).toBe('12.5');
    expect(csvCell(false)).toBe('false');
    expect(csvCell(new Date(Date.UTC(2026, 0, 2)))).toBe('2026-01-02T00:00:00.000Z');
    expect(csvCell({ a: [1, ','] })).toBe('"{""a"":[1,"",""]}"');
  });

  it('refuses a delimiter that cannot work, and no columns', () => {
    expect(() => csvSink<Row>({ path: 'x.csv', columns, delimiter: '"' })).toThrow(/delimiter/);
    expect(() => csvSink<Row>({ path: 'x.csv', columns: [] })).toThrow(/column/);
  });
});

describe('csvSink', () => {
  it('writes the header once per file and a row per item, also across a crash and a resume', async () => {
    const dir = await tempDir();
    const expected = join(dir, 'expected.csv');
    const clean = await openRun({ id: 'job', store: memoryStore(), signals: false });
    await pipeline({
      run: clean,
      source: numberedSource(2, 4),
      sink: csvSink<Row>({ path: expected, columns }),
    });
    await clean.close();
    const text = await readFile(expected, 'utf8');
    expect(text.split('\n')[0]).toBe('unit,n,"text, quoted"');
    expect(text.split('\n')[1]).toBe('u0,0,"""u0"", row 0: é "');
    expect(text.match(/^unit,/gm)).toHaveLength(1);

    // Crash after 5 pages (flushes every 2), then resume: the same bytes.
    const path = join(dir, 'crashed.csv');
    const storage = new MemoryStorage();
    const inner = memoryStore(storage);
    let dead = false;
    const dying: CheckpointStore = {
      ...inner,
      append: (id, changes) =>
        dead ? Promise.reject(new Error('killed')) : inner.append(id, changes),
    };
    const run = await openRun({ id: 'job', store: dying, strategy: everyItems(6), signals: false });
    let pages = 0;
    await pipeline({
      run,
      source: numberedSource(2, 4),
      sink: csvSink<Row>({ path, columns }),
      onProgress: (event) => {
        if (event.type === 'page' && ++pages === 5) dead = true;
      },
    }).catch(() => {});
    await run.abandon();
    const resumed = await openRun({ id: 'job', store: memoryStore(storage), signals: false });
    await pipeline({
      run: resumed,
      source: numberedSource(2, 4),
      sink: csvSink<Row>({ path, columns }),
    });
    await resumed.close();
    expect(await readFile(path, 'utf8')).toBe(text);
  });

  it('writes no header when asked not to, with another delimiter and CRLF', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.csv');
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    await pipeline({
      run,
      source: numberedSource(1, 1, 2),
      sink: csvSink<Row>({
        path,
        columns: ['unit', 'n'],
        header: false,
        delimiter: ';',
        newline: '\r\n',
      }),
    });
    await run.close();
    expect(await readFile(path, 'utf8')).toBe('u0;0\r\nu0;1\r\n');
  });
});

describe('rotation by size', () => {
  it('starts a new part with its own header once a file is full, and after a crash keeps every row once', async () => {
    const dir = await tempDir();
    const options = { columns: ['unit', 'n'] as const, maxBytes: 40 };
    const expectedPath = join(dir, 'expected', 'rows.csv');
    const clean = await openRun({ id: 'job', store: memoryStore(), signals: false });
    await pipeline({
      run: clean,
      source: numberedSource(2, 5),
      sink: csvSink<Row>({ path: expectedPath, ...options }),
    });
    await clean.close();
    const parts = async (base: string) => {
      const texts: string[] = [];
      for (let part = 0; ; part++) {
        const text = await readFile(partPath(base, part), 'utf8').catch(() => null);
        if (text === null) return texts;
        texts.push(text);
      }
    };
    const expected = await parts(expectedPath);
    expect(expected.length).toBeGreaterThanOrEqual(3);
    for (const text of expected) expect(text.startsWith('unit,n\n')).toBe(true);
    expect(expected.slice(0, -1).every((text) => Buffer.byteLength(text) >= 40)).toBe(true);
    expect(partPath(expectedPath, 2)).toBe(join(dir, 'expected', 'rows.2.csv'));

    for (const crashAt of [2, 4, 5, 7, 9]) {
      const path = join(dir, `crash-${crashAt}`, 'rows.csv');
      const storage = new MemoryStorage();
      const inner = memoryStore(storage);
      let dead = false;
      const dying: CheckpointStore = {
        ...inner,
        append: (id, changes) =>
          dead ? Promise.reject(new Error('killed')) : inner.append(id, changes),
      };
      const run = await openRun({
        id: 'job',
        store: dying,
        strategy: everyItems(9),
        signals: false,
      });
      let pages = 0;
      await pipeline({
        run,
        source: numberedSource(2, 5),
        sink: csvSink<Row>({ path, ...options }),
        onProgress: (event) => {
          if (event.type === 'page' && ++pages === crashAt) dead = true;
        },
      }).catch(() => {});
      await run.abandon();
      const resumed = await openRun({ id: 'job', store: memoryStore(storage), signals: false });
      await pipeline({
        run: resumed,
        source: numberedSource(2, 5),
        sink: csvSink<Row>({ path, ...options }),
      });
      await resumed.close();
      expect(await parts(path), `crash after ${crashAt} pages`).toEqual(expected);
    }
  });
});
