/**
 * A job with a file per unit writes more files than the sink keeps open, so the sink closes the
 * least recently written ones while it runs, and lets go of a file's hold (against other jobs)
 * once it closed it. A file no flush recorded yet keeps its hold: killed with SIGKILL then, the
 * job leaves it, which tells its next run that the file holds this job's own unacknowledged rows,
 * to cut. Had the hold gone with the close, the next run would keep such a file aside
 * (`<file>.replaced-<time>`) and write its rows again: nothing lost, but litter, rows twice.
 * Killed at random pages, saving only at the end (every file closed before a flush recorded it)
 * or every few units (some recorded, some not); the resume must write every file as an
 * uninterrupted run does, keep nothing aside and leave no hold.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleJob, killHard, startJob } from '../helpers/child.js';
import { removeTempDirs, tempDir } from '../helpers/jobs.js';

/** As in fixtures/idle-closed-job.ts. */
const IDLE_CLOSED = { units: 120, pages: 2 };

let bundle: string;
beforeAll(async () => {
  const entry = fileURLToPath(new URL('./fixtures/idle-closed-job.ts', import.meta.url));
  bundle = await bundleJob(await tempDir('ck-sink-bundle-'), entry);
});
afterAll(removeTempDirs);

/**
 * Every name under `dir/out` (files, kept-aside files, hidden holds and what a killed process
 * left while it made or released one), with its bytes for files.
 */
async function outputs(dir: string): Promise<Map<string, string | null>> {
  const found = new Map<string, string | null>();
  for (const entry of await readdir(join(dir, 'out'), { withFileTypes: true })) {
    const path = join(dir, 'out', entry.name);
    found.set(entry.name, entry.isFile() ? await readFile(path, 'utf8') : null);
  }
  return found;
}

async function runToEnd(dir: string, every: number): Promise<void> {
  const child = startJob(bundle, [dir, String(every)]);
  await child.waitFor((line) => line === 'done');
  await child.closed;
}

describe('files closed while the job runs, then kill -9', () => {
  it.each([
    [0, 'saving only at the end', 1],
    [0, 'saving only at the end', 2],
    [7, 'saving every 7 units', 1],
    [7, 'saving every 7 units', 2],
  ])(
    '%s (%s), round %s: the resume cuts its own rows, keeps nothing aside, leaves no hold',
    async (every) => {
      const reference = await tempDir();
      await runToEnd(reference, every);
      const expected = await outputs(reference);
      expect(expected.size).toBe(IDLE_CLOSED.units);

      const dir = await tempDir();
      const child = startJob(bundle, [dir, String(every)]);
      // Past the 64 files the sink keeps open, and short of the last page.
      const total = IDLE_CLOSED.units * IDLE_CLOSED.pages;
      const pages = 150 + Math.floor(Math.random() * (total - 160));
      await child.waitForCount((line) => line === 'page', pages);
      await killHard(child);
      const left = await outputs(dir);
      // The job's holds are there (some never recorded by a flush), and it wrote pages beyond them.
      expect([...left.keys()].some((name) => name.endsWith('.sink-hold'))).toBe(true);

      await runToEnd(dir, every);
      expect(await outputs(dir)).toEqual(expected);
    },
  );
});
