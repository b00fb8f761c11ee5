/**
 * A resume removes the parts after the recorded one: a crash after a rotation that no flush
 * acknowledged leaves them. A file of the user put under such a name between the runs (a backup
 * restored as `out.2.jsonl`) is not one of them: it was modified before the job began, and must be
 * kept aside as a file found at a fresh output is, not removed.
 */
import { readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MemoryStorage, memoryStore, openRun, pipeline } from '@checkpointkit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonLinesSink, partPath, recordedFiles } from '../../src/index.js';
import { crashAfter, numberedSource, type Row, removeTempDirs, tempDir } from '../helpers/jobs.js';

afterAll(removeTempDirs);

const THEIRS = 'a backup of the user, restored under this name\n';

describe('a file of the user at the name of a part after the recorded one', () => {
  it('is kept aside by the resume, byte for byte, and the output is complete', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.jsonl');
    const storage = new MemoryStorage();
    await crashAfter(storage, path, 4, 200);
    const checkpoint = await memoryStore(storage).load('job');
    const { part } = recordedFiles(checkpoint!, 'sink-file').get(path)!;
    const theirs = partPath(path, part + 1);
    await writeFile(theirs, THEIRS);
    const anHourAgo = new Date(Date.now() - 3_600_000);
    await utimes(theirs, anHourAgo, anHourAgo);

    const run = await openRun({ id: 'job', store: memoryStore(storage), signals: false });
    const result = await pipeline({
      run,
      source: numberedSource(2, 5),
      sink: jsonLinesSink<Row>({ path, maxBytes: 200 }),
    });
    await run.close();
    expect(result).toMatchObject({ completed: 2, failed: 0 });
    // Before: removed as a part of a rotation no flush acknowledged.
    const kept = (await readdir(dir)).filter((name) => name.includes('.replaced-'));
    expect(kept).toHaveLength(1);
    expect(await readFile(join(dir, kept[0]!), 'utf8')).toBe(THEIRS);
    const rows: string[] = [];
    for (let n = 0; ; n++) {
      const text = await readFile(partPath(path, n), 'utf8').catch(() => null);
      if (text === null) break;
      rows.push(...text.trimEnd().split('\n'));
    }
    expect(rows).toHaveLength(30);
    expect(new Set(rows).size).toBe(30);
  });
});
