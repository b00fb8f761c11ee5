/**
 * What appears at the name of an output's next part while the job runs, after the sink opened
 * the output (so the checks made at open come too late): a symbolic link to a file of the user's,
 * a link to nowhere, a hard link, a file copied there, the output's folder swapped for a link to
 * another. Rotating into that part must not cut, write into or create the user's file: whatever
 * is there is kept aside, and the output is still complete.
 */
import {
  link,
  mkdir,
  readdir,
  readFile,
  rename,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { memoryStore, openRun, pipeline } from '@checkpointkit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonLinesSink, partPath } from '../../src/index.js';
import { numberedSource, type Row, removeTempDirs, tempDir } from '../helpers/jobs.js';

afterAll(removeTempDirs);

const THEIRS = 'a file of the user, not the job’s\n';

/**
 * One unit of 6 pages into `<dir>/out/out.jsonl`, rotated every 200 bytes (a part every page or
 * two); `meddle` runs once the first page is written, before the first rotation. With `completes` false, the job must fail instead.
 */
async function runJob(
  dir: string,
  meddle: (out: string) => Promise<void>,
  completes = true,
): Promise<string> {
  const path = join(dir, 'out', 'out.jsonl');
  const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
  let pages = 0;
  const result = await pipeline({
    run,
    source: numberedSource(1, 6),
    sink: jsonLinesSink<Row>({ path, maxBytes: 200 }),
    onProgress: async (event) => {
      if (event.type === 'page' && ++pages === 1) await meddle(path);
    },
  });
  await run.close();
  expect(result).toMatchObject(
    completes ? { completed: 1, failed: 0 } : { completed: 0, failed: 1 },
  );
  return path;
}

/** The rows of every part of `path`, in order, as `n`. */
async function rows(path: string): Promise<number[]> {
  const found: number[] = [];
  for (let part = 0; ; part++) {
    const text = await readFile(partPath(path, part), 'utf8').catch(() => null);
    if (text === null) return found;
    for (const line of text.trimEnd().split('\n')) found.push((JSON.parse(line) as Row).n);
  }
}

/** A file of the user's, last modified an hour ago. */
async function usersFile(path: string): Promise<void> {
  await writeFile(path, THEIRS);
  const anHourAgo = new Date(Date.now() - 3_600_000);
  await utimes(path, anHourAgo, anHourAgo);
}

const kept = async (folder: string) =>
  (await readdir(folder)).filter((name) => name.startsWith('out.1.jsonl.replaced-'));

describe('the name of the next part, taken while the job runs', () => {
  it.each([
    ['a symbolic link to a file of the user', (part: string, mine: string) => symlink(mine, part)],
    ['a hard link of a file of the user', (part: string, mine: string) => link(mine, part)],
    ['a copy of a file of the user, dated now', (part: string) => writeFile(part, THEIRS)],
  ])('%s: kept aside, never cut or written into', async (_, make) => {
    const dir = await tempDir();
    const mine = join(dir, 'mine.txt');
    await usersFile(mine);
    const path = await runJob(dir, (out) => make(partPath(out, 1), mine));
    // Before: the rotation opened the part through the name and cut the user's file to nothing.
    expect(await readFile(mine, 'utf8')).toBe(THEIRS);
    expect(await kept(join(dir, 'out'))).toHaveLength(1);
    expect(await rows(path)).toEqual(Array.from({ length: 18 }, (_, n) => n));
  });

  it('a symbolic link to nowhere: no file is made where it points', async () => {
    const dir = await tempDir();
    const elsewhere = join(dir, 'elsewhere.jsonl');
    const path = await runJob(dir, (out) => symlink(elsewhere, partPath(out, 1)));
    // Before: the rotation created the part at the link's target, outside the output's folder.
    expect(await readdir(dir)).toEqual(['out']);
    expect(await rows(path)).toEqual(Array.from({ length: 18 }, (_, n) => n));
  });

  it('the output’s folder swapped for a link to a folder of the user: the unit fails, their file stays whole', async () => {
    const dir = await tempDir();
    const theirs = join(dir, 'theirs');
    await mkdir(theirs);
    await usersFile(join(theirs, 'out.1.jsonl'));
    await runJob(
      dir,
      async () => {
        await rename(join(dir, 'out'), join(dir, 'moved'));
        await symlink(theirs, join(dir, 'out'));
      },
      false,
    );
    // The output's file is no longer at its path: the sink stops (SinkFileDisturbedError, see
    // mid-run-moves.test.ts) before it rotates into their folder, and writes nothing there.
    expect(await readdir(theirs)).toEqual(['out.1.jsonl']);
    expect(await readFile(join(theirs, 'out.1.jsonl'), 'utf8')).toBe(THEIRS);
  });
});
