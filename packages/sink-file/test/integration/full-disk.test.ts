/**
 * A disk that fills up while the sink writes a page (a file size limit, `ulimit -f`, makes the
 * write fail part-way with EFBIG, as a full disk does with ENOSPC): the page must be taken back
 * whole, the unit fail with a typed error naming the file, and the job, run again once there is
 * room, must end with the file an uninterrupted run writes, byte for byte.
 */
import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleJob } from '../helpers/child.js';
import { removeTempDirs, tempDir } from '../helpers/jobs.js';

const LIMIT_KIB = 40;

let bundle: string;
beforeAll(async () => {
  const entry = fileURLToPath(new URL('./fixtures/full-disk-job.ts', import.meta.url));
  bundle = await bundleJob(await tempDir('ck-sink-bundle-'), entry);
});
afterAll(removeTempDirs);

/** Runs the job in `dir` to its end, under a file size limit when given; its output lines. */
function runJob(dir: string, limitKiB?: number): Promise<{ code: number | null; lines: string[] }> {
  const [file, argv] =
    limitKiB === undefined
      ? [process.execPath, [bundle, dir]]
      : ['bash', ['-c', `ulimit -f ${limitKiB} && exec "$0" "$@"`, process.execPath, bundle, dir]];
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  return new Promise((resolve) =>
    child.on('close', (code) => resolve({ code, lines: out.trimEnd().split('\n') })),
  );
}

describe('a disk that fills up mid-page', () => {
  it('takes the page back, fails the unit naming the file, and the resume writes the rest once', async () => {
    const reference = await tempDir();
    expect((await runJob(reference)).lines).toContain('done');
    const expected = await readFile(join(reference, 'out.jsonl'));
    expect(expected.length).toBeGreaterThan(LIMIT_KIB * 1024);

    const dir = await tempDir();
    const path = join(dir, 'out.jsonl');
    const full = await runJob(dir, LIMIT_KIB);
    expect(full.code).toBe(0);
    const failures = full.lines.filter((line) => line.startsWith('failed '));
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures)
      expect(failure).toContain(`file sink: cannot write ${path}: EFBIG`);
    // Only whole pages stay: the part of the page that fitted was cut off again.
    const left = await readFile(path);
    expect(left.length).toBeLessThanOrEqual(LIMIT_KIB * 1024);
    expect(expected.subarray(0, left.length).equals(left)).toBe(true);
    expect(left.toString('utf8').split('\n').length % 60).toBe(1);

    expect((await runJob(dir)).lines).toEqual(['done']);
    expect((await stat(path)).size).toBe(expected.length);
    expect((await readFile(path)).equals(expected)).toBe(true);
  });
});
