/**
 * A job with a file per unit and hundreds of units, under a low limit of open files (`ulimit -n`,
 * 1024 by default on many systems). The sink kept every file it opened open until the pipeline
 * ended, so the job ran out of descriptors (EMFILE) once it had written as many files as the
 * limit allows: every later unit failed with EMFILE (and a GC warning said a descriptor had
 * leaked); a resume opened every recorded file at once and failed before any page. It must keep a
 * bounded number open.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleJob } from '../helpers/child.js';
import { removeTempDirs, tempDir } from '../helpers/jobs.js';

/** Node itself holds about 20 descriptors: this leaves room for fewer files than the job writes. */
const OPEN_FILES = 120;
const UNITS = 240;

let bundle: string;
beforeAll(async () => {
  const entry = fileURLToPath(new URL('./fixtures/many-files-job.ts', import.meta.url));
  bundle = await bundleJob(await tempDir('ck-sink-bundle-'), entry);
});
afterAll(removeTempDirs);

/** Runs the job in `dir` under the limit of open files; its exit code and output lines. */
function runJob(dir: string, stopAfter?: number) {
  const args = [bundle, dir, ...(stopAfter === undefined ? [] : [String(stopAfter)])];
  const child = spawn(
    'bash',
    ['-c', `ulimit -n ${OPEN_FILES} && exec "$0" "$@"`, process.execPath, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  return new Promise<{ code: number | null; lines: string[]; err: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, lines: out.trimEnd().split('\n'), err })),
  );
}

/** Each unit's file holds its 4 rows, in order. */
async function expectWhole(dir: string): Promise<void> {
  const files = await readdir(join(dir, 'out'));
  expect(files).toHaveLength(UNITS);
  for (const name of files) {
    const rows = (await readFile(join(dir, 'out', name), 'utf8')).trimEnd().split('\n');
    expect(rows.map((row) => (JSON.parse(row) as { n: number }).n)).toEqual([0, 1, 2, 3]);
  }
}

describe(`${UNITS} files under a limit of ${OPEN_FILES} open files`, () => {
  it('are all written, and a resume with all of them recorded reopens them', async () => {
    const dir = await tempDir();
    // Before: "failed u97 file sink: cannot open …: EMFILE: too many open files", and so on.
    const first = await runJob(dir);
    expect(first.err).toBe('');
    expect(first.lines).toEqual(['done']);
    await expectWhole(dir);

    const resumed = await tempDir();
    // Stopped once every unit wrote a page or two: its files are all recorded.
    const stopped = await runJob(resumed, 2 * UNITS - 4);
    expect(stopped.lines).toEqual(['stopped']);
    const rest = await runJob(resumed);
    expect(rest.err).toBe('');
    expect(rest.lines).toEqual(['done']);
    await expectWhole(resumed);
  });
});
