/**
 * `show` and `watch` read a running job's checkpoint without its lock, so they may read the
 * journal while the job is in the middle of writing a batch, and see only its first part: an
 * incomplete last batch, exactly as a crash mid-write leaves one. While the job lives that is no
 * crash, and they must not say so (what they show, the state before that batch, is right).
 * A real job's large batches are read half-way too rarely to test (storage-file's
 * batch-in-flight.test.ts): the test makes that state.
 */
import { spawn } from 'node:child_process';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkpointFileName, encodeBatch, journalFileName } from '@checkpointkit/storage-file';
import { expect, it, onTestFinished } from 'vitest';
import { tempDir } from '../helpers/checkpoints.js';
import { runCli } from '../helpers/cli.js';

/** The package folder: a child started there imports the workspace packages' builds. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

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

function startJob(dir: string, id: string) {
  const job = spawn(process.execPath, ['--input-type=module', '-e', JOB, dir, id], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  job.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  job.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const closed = new Promise<number | null>((resolve) => job.on('close', resolve));
  onTestFinished(() => {
    job.kill('SIGKILL');
  });
  return {
    job,
    closed,
    async ready(): Promise<void> {
      while (!output.includes('ready\n')) {
        if (job.exitCode !== null) throw new Error(`the job ended: ${output}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

it('does not call the batch a running job is writing a crash, and does once the job is dead', async () => {
  const dir = await tempDir();
  const job = startJob(dir, 'job');
  await job.ready();
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

  job.job.kill('SIGKILL');
  await job.closed;
  for (const [i, result] of (await Promise.all(reads.map((args) => runCli(args)))).entries()) {
    expect(result.code, reads[i]!.join(' ')).toBe(0);
    expect(result.stderr, reads[i]!.join(' ')).toMatch(
      /job\.checkpoint\.jsonl:\d+: ignored an incomplete last batch \(\d+ bytes a crash left mid-write\)\n$/,
    );
  }
});
