/**
 * A batch a job is still writing is not a crash's leftovers. A reader without the lock that
 * reads the journal while a large batch is being written sees only its first part: an
 * incomplete last batch, exactly as a crash mid-write leaves one. While a live process holds
 * the lock, readers must not call it a crash; once nobody does, they must.
 *
 * Against a real job writing batches of 60 KiB to 8 MiB, about 1 read in 200 landed in a write
 * (the page copy of one write(2) is short next to encoding and syncing it): too rare to hit on
 * demand, so these tests make the state a reader sees then. The CLI's tests do it with the lock
 * of another process, killed.
 */
import { writeFileSync } from 'node:fs';
import { appendFile, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { openRun } from '@checkpointkit/core';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { encodeCheckpointId } from '../../src/format/names.js';
import {
  encodeBatch,
  type FileStoreWarning,
  fileStore,
  journalFileName,
  readCheckpointFiles,
} from '../../src/index.js';
import { parseRaw, pathsOf, readSettled } from '../../src/store/files.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

let dir: string;
beforeEach(async () => {
  dir = await tempDir('ck-in-flight-');
});
afterEach(() => removeDir(dir));

it('calls an incomplete last batch in flight while a writer holds the lock, and a crash after', async () => {
  const id = 'in-flight:held';
  // A job holds the lock (here, in this process: the CLI's tests hold it from another one and
  // kill it); the first part of its next batch is in the journal, as a reader finds it in the
  // middle of the write.
  const job = fileStore({ dir, onWarning: () => {} });
  const run = await openRun({ id, store: job, signals: false });
  await run.plan(['a']);
  await run.flush();
  const batch = encodeBatch([{ type: 'counter.added', name: 'n', by: 1 }], 99);
  await appendFile(join(dir, journalFileName(id)), batch.subarray(0, batch.length - 20));
  const warnings: FileStoreWarning[] = [];
  const store = fileStore({ dir, onWarning: (warning) => warnings.push(warning) });
  try {
    const writing = (await readCheckpointFiles(dir, id))!;
    expect(writing.tornTail).toMatchObject({ bytes: batch.length - 20 });
    expect(writing.writing).toMatchObject({ pid: process.pid, host: hostname() });
    expect((await store.load(id))?.units['a']?.status).toBe('pending');
    expect(warnings).toEqual([]);

    // The job lets go without writing again: nobody is writing those bytes any more.
    await job.close();
    const crashed = (await readCheckpointFiles(dir, id))!;
    expect(crashed.tornTail).toMatchObject({ bytes: batch.length - 20 });
    expect(crashed.writing).toBeNull();
    expect((await store.load(id))?.units['a']?.status).toBe('pending');
    expect(warnings.map((warning) => warning.code)).toEqual(['torn-tail']);
  } finally {
    await store.close();
    await job.close();
  }
});

it('reads again when the writer finished the batch and let go between the read and the look at the lock', async () => {
  const id = 'in-flight:finished';
  const job = fileStore({ dir, onWarning: () => {} });
  await job.append(id, [{ type: 'created', at: new Date().toISOString(), id, configDigest: null }]);
  await job.close(); // no lock from here on
  const journal = join(dir, journalFileName(id));
  const whole = await readFile(journal);
  const batch = encodeBatch([{ type: 'counter.added', name: 'n', by: 1 }], 2);
  await appendFile(journal, batch.subarray(0, batch.length - 20));
  const at = pathsOf(dir, encodeCheckpointId(id));
  let reads = 0;
  const read = await readSettled(
    at,
    (paths, raw) => {
      reads += 1;
      const parsed = parseRaw(paths, raw);
      // Right after our first read, the job writes the rest of its batch and ends.
      if (reads === 1) writeFileSync(journal, Buffer.concat([whole, batch]));
      return parsed;
    },
    30_000,
  );
  expect(reads).toBe(2);
  expect(read.parsed?.tornTail).toBeNull();
  expect(read.parsed?.checkpoint.stats['n']).toBe(1);
  expect(read.writing).toBeNull();
});
