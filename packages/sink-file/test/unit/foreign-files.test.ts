/**
 * Files the checkpoint never recorded are not the sink's to destroy: the output of an older run,
 * a file the user keeps under the name the job was given, a backup that happens to be named like
 * a part (`out.1.jsonl`). The output still starts empty, as an uninterrupted run writes it, but
 * every byte that was there before is kept, and nothing is ever written over.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { always, MemoryStorage, memoryStore, openRun, pipeline } from '@checkpointkit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonLinesSink } from '../../src/index.js';
import {
  killableStore,
  numberedSource,
  type Row,
  removeTempDirs,
  tempDir,
} from '../helpers/jobs.js';

afterAll(removeTempDirs);

/** A whole run of `units` units of 5 pages into `path`, from a fresh checkpoint. */
async function runJob(path: string, options: { units?: number; maxBytes?: number } = {}) {
  const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
  await pipeline({
    run,
    source: numberedSource(options.units ?? 1, 5),
    sink: jsonLinesSink<Row>({ path, maxBytes: options.maxBytes }),
  });
  await run.finish();
}

/** Writes a file as something else did, an hour before the job. */
async function foreign(path: string, text: string): Promise<void> {
  await writeFile(path, text);
  const anHourAgo = new Date(Date.now() - 3_600_000);
  await utimes(path, anHourAgo, anHourAgo);
}

/** Makes every file of `dir` an hour older, as if the next run came an hour later. */
async function age(dir: string): Promise<void> {
  const anHourAgo = new Date(Date.now() - 3_600_000);
  for (const file of await readdir(dir)) await utimes(join(dir, file), anHourAgo, anHourAgo);
}

/** The files of `dir` kept aside for `name`, oldest first, with their content. */
async function keptAside(dir: string, name: string): Promise<string[]> {
  const names = (await readdir(dir)).filter((file) => file.startsWith(`${name}.replaced-`)).sort();
  return Promise.all(names.map((file) => readFile(join(dir, file), 'utf8')));
}

describe('files the checkpoint never recorded', () => {
  it('keeps an existing file aside, byte for byte, and starts the output empty', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.jsonl');
    await foreign(path, 'precious data from another tool\n');
    await runJob(path);
    expect((await readFile(path, 'utf8')).trimEnd().split('\n')).toHaveLength(15);
    expect(await keptAside(dir, 'out.jsonl')).toEqual(['precious data from another tool\n']);
  });

  it('never writes over what it kept aside: three runs leave two earlier outputs', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.jsonl');
    for (let i = 0; i < 3; i++) {
      await runJob(path);
      await age(dir);
    }
    const output = await readFile(path, 'utf8');
    expect(await keptAside(dir, 'out.jsonl')).toEqual([output, output]);
  });

  it('leaves an empty file where it is, and keeps nothing aside for it', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.jsonl');
    await foreign(path, '');
    await runJob(path);
    expect(await keptAside(dir, 'out.jsonl')).toEqual([]);
  });

  it('leaves files named like parts alone when it does not rotate', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.jsonl');
    await foreign(join(dir, 'out.1.jsonl'), 'a backup the user named so\n');
    await foreign(join(dir, 'out.2.jsonl'), 'and another\n');
    await runJob(path);
    expect(await readFile(join(dir, 'out.1.jsonl'), 'utf8')).toBe('a backup the user named so\n');
    expect(await readFile(join(dir, 'out.2.jsonl'), 'utf8')).toBe('and another\n');
  });

  it('with rotation, keeps the parts of an older run aside and writes its own', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.jsonl');
    await runJob(path, { units: 2, maxBytes: 400 });
    await age(dir);
    const first = await readdir(dir);
    expect(first.filter((file) => /^out\.\d+\.jsonl$/.test(file)).length).toBeGreaterThan(1);
    const before = new Map(
      await Promise.all(
        first.map(async (file) => [file, await readFile(join(dir, file), 'utf8')] as const),
      ),
    );
    await runJob(path, { units: 1, maxBytes: 400 });
    // Every part of the first run is still somewhere, byte for byte.
    for (const [file, text] of before) expect(await keptAside(dir, file), file).toEqual([text]);
  });

  // A process killed with SIGKILL leaves its hold, which names the job: its resume cuts its own
  // unacknowledged output, keeping nothing aside (test/integration/two-jobs.test.ts). Here the
  // crash is simulated in one process, so the sink still closed and released its hold: then
  // nothing tells the job's own rows from another job's that ended, and they are kept aside.
  it('keeps aside unacknowledged output whose sink released its hold: a store that died before the first flush', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.jsonl');
    const storage = new MemoryStorage();
    const sink = jsonLinesSink<Row>({ path });
    // The job's checkpoint exists; its first page reaches the file, and the store dies (kill -9)
    // before any flush records it.
    const { store, kill } = killableStore(storage);
    const first = await openRun({ id: 'job', store, strategy: always(), signals: false });
    await first.flush();
    const stop = new AbortController();
    await pipeline({
      run: first,
      source: numberedSource(1, 5),
      sink: {
        ...sink,
        // Dies once the page is in the file, before pipeline() can record it.
        write: async (items, context) => {
          const written = await sink.write(items, context);
          kill();
          stop.abort();
          return written;
        },
      },
      signal: stop.signal,
    }).catch(() => {});
    await first.abandon();
    expect((await readFile(path, 'utf8')).length).toBeGreaterThan(0);
    const second = await openRun({ id: 'job', store: memoryStore(storage), signals: false });
    expect(second.checkpoint.meta.user).toEqual({});
    await pipeline({
      run: second,
      source: numberedSource(1, 5),
      sink: jsonLinesSink<Row>({ path }),
    });
    await second.finish();
    expect((await readFile(path, 'utf8')).trimEnd().split('\n')).toHaveLength(15);
    const names = await readdir(dir);
    expect(names).toHaveLength(2);
    const kept = names.find((name) => name.startsWith('out.jsonl.replaced-')) as string;
    expect((await readFile(join(dir, kept), 'utf8')).trimEnd().split('\n')).toHaveLength(3);
  });

  it('refuses a named pipe or a folder as an output, naming it, and goes on with the other units', async () => {
    const dir = await tempDir();
    // A page larger than a pipe's buffer (64 KiB) would wait for a reader for ever.
    execFileSync('mkfifo', [join(dir, 'u0.jsonl')]);
    await mkdir(join(dir, 'u1.jsonl'));
    const run = await openRun({ id: 'job', store: memoryStore(), signals: false });
    const result = await pipeline({
      run,
      source: numberedSource(3, 2, 3000),
      sink: jsonLinesSink<Row>({ path: (unit) => join(dir, `${unit}.jsonl`) }),
    });
    expect(result).toMatchObject({ completed: 1, failed: 2 });
    expect(run.unit('u0')?.error?.message).toBe(
      `file sink: cannot open ${join(dir, 'u0.jsonl')}: it is a named pipe, not a file`,
    );
    expect(run.unit('u1')?.error).toMatchObject({
      message: `file sink: the path function, for unit "u1", returned ${JSON.stringify(join(dir, 'u1.jsonl'))}, which is a folder`,
      retryable: false,
    });
    expect((await readFile(join(dir, 'u2.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(6000);
    await run.close();
  }, 60_000);
});
