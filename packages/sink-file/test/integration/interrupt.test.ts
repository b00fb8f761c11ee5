/**
 * Ctrl+C (and `kill`) at random moments of a real job, as the README promises it: "Ctrl+C saves
 * and exits 130; run it again and it goes on from the last page saved". Each stop must exit
 * 130 (SIGINT) or 143 (SIGTERM), leave the checkpoint interrupted with its lock released, and the
 * next start must read each unit on from the page after the one recorded: a stop costs at most
 * the page each unit had in flight (the job saves only every 3 pages, so a stop that did not
 * save would cost more). The output at the end must equal an uninterrupted run's, byte for byte.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Checkpoint } from '@checkpointkit/core';
import { lockFileName, readCheckpointFiles } from '@checkpointkit/storage-file';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleJob, startJob } from '../helpers/child.js';
import { PAGES, removeTempDirs, tempDir, UNITS } from '../helpers/jobs.js';

const ID = 'interrupt-test';
const STOPS = 6;
const CONCURRENCY = 3; // the job's: units with a page in flight at once
const EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

let bundle: string;
beforeAll(async () => {
  const entry = fileURLToPath(new URL('./fixtures/interrupted-job.ts', import.meta.url));
  bundle = await bundleJob(await tempDir('ck-sink-bundle-'), entry);
});
afterAll(removeTempDirs);

/** Each unit's output file under `dir`, with its bytes. */
async function outputs(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const name of await readdir(join(dir, 'out'))) {
    files.set(name, await readFile(join(dir, 'out', name)));
  }
  return files;
}

/** The job's output of an uninterrupted run, made once. */
let reference: Promise<Map<string, Buffer>> | null = null;
function expectedOutputs(): Promise<Map<string, Buffer>> {
  reference ??= (async () => {
    const dir = await tempDir();
    expect((await runJob(dir)).code).toBe(0);
    return outputs(dir);
  })();
  return reference;
}

/** Starts the job; stops it with `signal` after `pages` recorded pages, unless it ends first. */
async function runJob(dir: string, stop?: { signal: 'SIGINT' | 'SIGTERM'; pages: number }) {
  const child = startJob(bundle, [dir]);
  await child.waitFor((line) => line === 'ready');
  if (stop) {
    await Promise.race([
      child.waitForCount((line) => line === 'page', stop.pages),
      child.waitFor((line) => line === 'done'),
    ]);
    // A moment more, so that some signals land inside a write, a flush or the finish.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
    if (!child.lines.includes('done')) child.process.kill(stop.signal);
  }
  const code = await child.closed;
  let finished = child.lines.includes('done');
  if (code === null && child.process.signalCode === stop?.signal) {
    // The signal came after finish() let go of the run, before `done` was printed: no handler
    // is left then, and nothing to save. Only a finished job may die that way.
    const left = await readCheckpointFiles(join(dir, '.checkpoints'), ID);
    expect(left?.checkpoint.status).toBe('completed');
    finished = true;
  }
  return { code: finished ? 0 : code, lines: child.lines, stderr: child.stderr, finished };
}

/** The units' first `read` lines of a start: the cursor after the first page read of each. */
function firstReads(lines: string[]): Map<string, string> {
  const first = new Map<string, string>();
  for (const line of lines) {
    const [word, unit, cursor] = line.split(' ');
    if (word === 'read' && !first.has(unit!)) first.set(unit!, cursor!);
  }
  return first;
}

describe('a file sink job stopped by Ctrl+C or kill at random moments', () => {
  it(`exits 130/143 with its progress saved and the lock released, ${STOPS} times, and resumes to the same bytes`, async () => {
    const expected = await expectedOutputs();
    expect(expected.size).toBe(UNITS);

    const dir = await tempDir();
    let saved: Checkpoint | null = null;
    let reads = 0;
    let stops = 0;
    for (let round = 0; round <= STOPS; round++) {
      const signal = Math.random() < 0.5 ? 'SIGINT' : 'SIGTERM';
      const last = round === STOPS;
      const pages = Math.floor(Math.random() * (UNITS * PAGES) * 0.3);
      const result = await runJob(dir, last ? undefined : { signal, pages });
      reads += result.lines.filter((line) => line.startsWith('read ')).length;
      expect(result.stderr).not.toContain('could not save');

      // It goes on from the last page saved: each unfinished unit's first page read now is the
      // one after its saved cursor (the cursor is the number of pages done).
      const first = firstReads(result.lines);
      for (const [key, unit] of Object.entries(saved?.units ?? {})) {
        if (unit.status === 'complete' || !first.has(key)) continue;
        expect(first.get(key), `unit ${key} after stop ${stops}`).toBe(
          String(((unit.cursor as number | null) ?? 0) + 1),
        );
      }
      if (result.finished) {
        expect(result.code).toBe(0);
        break;
      }
      stops += 1;
      expect(result.code, `stop ${stops} (${signal})`).toBe(EXIT[signal]);
      await expect(stat(join(dir, '.checkpoints', lockFileName(ID)))).rejects.toMatchObject({
        code: 'ENOENT',
      });
      saved = (await readCheckpointFiles(join(dir, '.checkpoints'), ID))!.checkpoint;
      expect(saved.status).toBe('interrupted');
      expect(saved.meta.lastSaveReason).toBe(`Interrupted by ${signal}`);
    }
    expect(stops).toBeGreaterThan(0);
    // A stop redoes at most the page each unit had in flight.
    expect(reads).toBeLessThanOrEqual(UNITS * PAGES + stops * CONCURRENCY);
    const got = await outputs(dir);
    expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [name, bytes] of got) expect(bytes.equals(expected.get(name)!), name).toBe(true);
  });

  // Deterministic: the signal lands after the page is in the file and before its cursor is
  // recorded, and the sink closes before the exit. On its first page the file was never recorded
  // (a resume keeps such a file aside unless it knows the job wrote it); on a later page it was.
  it.each(['u1:1', 'u2:5'])(
    'a Ctrl+C inside the write of page %s (the page in the file, not recorded): the resume cuts it off and keeps no file aside',
    async (stopAt) => {
      const expected = await expectedOutputs();
      const dir = await tempDir();
      const [unit, n] = stopAt.split(':') as [string, string];
      const child = startJob(bundle, [dir, stopAt]);
      expect(await child.closed).toBe(EXIT.SIGINT);
      expect(child.lines).toContain('closed');
      const saved = (await readCheckpointFiles(join(dir, '.checkpoints'), ID))!.checkpoint;
      expect(saved.status).toBe('interrupted');
      expect(saved.units[unit]?.cursor ?? null).toBe(n === '1' ? null : Number(n) - 1);
      const written = (await readFile(join(dir, 'out', `${unit}.jsonl`), 'utf8')).split('\n');
      expect(written.length - 1).toBe(Number(n) * 4);

      const resumed = await runJob(dir);
      expect(resumed.code, resumed.stderr).toBe(0);
      const got = await outputs(dir);
      expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
      for (const [name, bytes] of got) expect(bytes.equals(expected.get(name)!), name).toBe(true);
    },
  );
});
