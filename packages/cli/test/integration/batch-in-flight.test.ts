/**
 * `show` and `watch` read a running job's checkpoint without its lock, so they may read the
 * journal while the job is in the middle of writing a batch, and see only its first part: an
 * incomplete last batch, exactly as a crash mid-write leaves one. While the job lives that is no
 * crash, and they must not say so (what they show, the state before that batch, is right).
 * A real job's large batches are read half-way too rarely to test (storage-file's
 * batch-in-flight.test.ts): the test makes that state.
 */
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkpointFileName, encodeBatch, journalFileName } from '@checkpointkit/storage-file';
import { expect, it } from 'vitest';
import { tempDir } from '../helpers/checkpoints.js';
import { runCli } from '../helpers/cli.js';
import { startScriptJob } from '../helpers/script-job.js';

/** A job that opens its checkpoint, prints `ready` and holds the lock until it is killed. */
const JOB = `
import { openRun } from '@checkpointkit/core';
import { fileStore } from '@checkpointkit/storage-file';
const [dir, id] = process.argv.slice(1);
const run = await openRun({ id, store: fileStore({ dir }), signals: false });
await run.plan(['a', 'b']);
await run.flush();
console.log('ready');
process.stdin.resume();
`;

it('does not call the batch a running job is writing a crash, and does once the job is dead', async () => {
  const dir = await tempDir();
  const job = startScriptJob(JOB, [dir, 'job']);
  await job.printed('ready');
  // The first part of the job's next batch, as a reader finds it in the middle of the write.
  const batch = encodeBatch([{ type: 'counter.added', name: 'n', by: 1 }], 99);
  await appendFile(join(dir, journalFileName('job')), batch.subarray(0, batch.length - 20));
  const reads = [
    ['show', 'job', '--dir', dir],
    ['show', join(dir, checkpointFileName('job'))],
  ];
  for (const [i, result] of (await Promise.all(reads.map((args) => runCli(args)))).entries()) {
    expect(result, reads[i]!.join(' ')).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/locked by pid \d+/);
    expect(result.stdout).toContain('0/2 units complete');
  }

  job.process.kill('SIGKILL');
  await job.closed;
  for (const [i, result] of (await Promise.all(reads.map((args) => runCli(args)))).entries()) {
    expect(result.code, reads[i]!.join(' ')).toBe(0);
    expect(result.stderr, reads[i]!.join(' ')).toMatch(
      /job\.checkpoint\.jsonl:\d+: ignored an incomplete last batch \(\d+ bytes a crash left mid-write\)\n$/,
    );
  }
});
