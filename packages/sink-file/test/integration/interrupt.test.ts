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
import { PAGES, removeTempDirs, SIZE, tempDir, UNITS } from '../helpers/jobs.js';

const ID = 'interrupt-test';
const STOPS = 6;
const CONCURRENCY = 3; // the job's: units with a page in flight at once
const EXIT = { SIGINT: 130, SIGTERM: 143 } as const;
/** Outputs rotate at this size in the rotation case (a page is about 220 bytes). */
const MAX_BYTES = 1000;

let bundle: string;
beforeAll(async () => {
  const entry = fileURLToPath(new URL('./fixtures/interrupted-job.ts', import.meta.url));
  bundle = await bundleJob(await tempDir('ck-sink-bundle-'), entry);
});
afterAll(removeTempDirs);

/** Each output file under `dir` (not the holds' folders beside them), with its bytes. */
async function outputs(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(join(dir, 'out'), { withFileTypes: true })) {
    if (entry.isFile()) files.set(entry.name, await readFile(join(dir, 'out', entry.name)));
  }
  return files;
}

/** The job's output of an uninterrupted run (its outputs rotating at `maxBytes`), made once. */
const references = new Map<number | undefined, Promise<Map<string, Buffer>>>();
function expectedOutputs(maxBytes?: number): Promise<Map<string, Buffer>> {
  let reference = references.get(maxBytes);
  if (!reference) {
    reference = (async () => {
      const dir = await tempDir();
      const args = maxBytes === undefined ? [] : ['-', String(maxBytes)];
      expect((await runJob(dir, undefined, args)).code).toBe(0);
      return outputs(dir);
    })();
    references.set(maxBytes, reference);
  }
  return reference;
}

/** Starts the job; stops it with `signal` after `pages` recorded pages, unless it ends first. */
async function runJob(
  dir: string,
  stop?: { signal: 'SIGINT' | 'SIGTERM'; pages: number },
  args: string[] = [],
) {
  const child = startJob(bundle, [dir, ...args]);
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
  it.each([
    ['', undefined],
    [', its outputs rotating', MAX_BYTES],
  ] as const)(
    `exits 130/143 with its progress saved and the lock released, ${STOPS} times, and resumes to the same bytes%s`,
    async (_, maxBytes) => {
      const expected = await expectedOutputs(maxBytes);
      // A file per unit; more with rotation (its parts).
      expect(expected.size).toBeGreaterThanOrEqual(UNITS);
      expect(expected.size > UNITS).toBe(maxBytes !== undefined);
      const args = maxBytes === undefined ? [] : ['-', String(maxBytes)];

      const dir = await tempDir();
      let saved: Checkpoint | null = null;
      let reads = 0;
      let stops = 0;
      for (let round = 0; round <= STOPS; round++) {
        const signal = Math.random() < 0.5 ? 'SIGINT' : 'SIGTERM';
        const last = round === STOPS;
        const pages = Math.floor(Math.random() * (UNITS * PAGES) * 0.3);
        const result = await runJob(dir, last ? undefined : { signal, pages }, args);
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
      // Nothing else either: no file kept aside, no hold left behind.
      expect((await readdir(join(dir, 'out'))).sort()).toEqual([...expected.keys()].sort());
      for (const [name, bytes] of got) expect(bytes.equals(expected.get(name)!), name).toBe(true);
    },
  );

  // Deterministic: the signal lands after the page is in the file and before its cursor is
  // recorded, and the sink closes before the exit. On its first page the file was never recorded
  // (a resume keeps such a file aside unless it knows the job wrote it); on a later page it was;
  // a page that starts a new part (rotation) starts a file no flush recorded either.
  it.each([
    ['the first page of a unit', 'u1', undefined],
    ['a later page of a unit', 'u2', undefined],
    ['the page that starts a new part', 'u1', MAX_BYTES],
  ] as const)(
    'a Ctrl+C inside the write of %s (the page in the file, not recorded): the resume cuts it off and keeps no file aside',
    async (what, unit, maxBytes) => {
      const expected = await expectedOutputs(maxBytes);
      // The page: the first, the fifth, or the first of part 1 (the rows of part 0, plus one).
      const part0 = expected.get(`${unit}.jsonl`)!.toString('utf8').split('\n').length - 1;
      const n = what.includes('first page') ? 1 : maxBytes ? part0 / SIZE + 1 : 5;
      expect(Number.isInteger(n)).toBe(true);
      const dir = await tempDir();
      const args = [dir, `${unit}:${n}`, ...(maxBytes ? [String(maxBytes)] : [])];
      const child = startJob(bundle, args);
      expect(await child.closed).toBe(EXIT.SIGINT);
      expect(child.lines).toContain('closed');
      const saved = (await readCheckpointFiles(join(dir, '.checkpoints'), ID))!.checkpoint;
      expect(saved.status).toBe('interrupted');
      expect(saved.units[unit]?.cursor ?? null).toBe(n === 1 ? null : n - 1);
      // The page is in the files: the unit's rows up to and with it.
      const unitFiles = [...(await outputs(dir))].filter(([name]) => name.startsWith(`${unit}.`));
      const rows = unitFiles.map(([, bytes]) => bytes.toString('utf8').split('\n').length - 1);
      expect(rows.reduce((a, b) => a + b, 0)).toBe(n * SIZE);
      if (maxBytes) expect(unitFiles.map(([name]) => name).sort()).toContain(`${unit}.1.jsonl`);

      const resumed = await runJob(dir, undefined, maxBytes ? ['-', String(maxBytes)] : []);
      expect(resumed.code, resumed.stderr).toBe(0);
      const got = await outputs(dir);
      // Nothing else either: no file kept aside, no hold left behind.
      expect((await readdir(join(dir, 'out'))).sort()).toEqual([...expected.keys()].sort());
      for (const [name, bytes] of got) expect(bytes.equals(expected.get(name)!), name).toBe(true);
    },
  );
});
