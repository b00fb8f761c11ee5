/**
 * "A checkpoint whose job is running is shown, never changed" (README), against a real job: a
 * process that works units page by page, saving every page and compacting every few, while
 * every verb runs against its checkpoint at once. Reads must show a state the job saved (never
 * damage, never going back); every edit must be refused with exit 4; and the job must finish
 * unaware of them, its checkpoint what it made itself.
 */
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkpointFileName, fileStore } from '@checkpointkit/storage-file';
import { describe, expect, it } from 'vitest';
import { loadFile } from '../../src/target.js';
import { tempDir } from '../helpers/checkpoints.js';
import { runCli } from '../helpers/cli.js';
import { startScriptJob } from '../helpers/script-job.js';

const ID = 'crawl:live';
const SEED = fileURLToPath(
  new URL('../fixtures/seed-000/migration_checkpoint.json', import.meta.url),
);

/**
 * The job: unit u/0 fails (retryable), then units are worked one after the other, 5 pages each,
 * every page saved, until its standard input ends; then it finishes (keeping the checkpoint)
 * and prints the units it completed.
 */
const JOB = `
import { always, openRun } from '@checkpointkit/core';
import { fileStore } from '@checkpointkit/storage-file';
const [dir, id] = process.argv.slice(1);
const run = await openRun({
  id, store: fileStore({ dir, compactAfter: 2048 }), strategy: always(), autoCleanup: false, signals: false,
});
await run.plan(Array.from({ length: 500 }, (_, i) => 'u/' + i));
await run.fail('u/0', new Error('HTTP 503'));
let stop = false;
process.stdin.on('end', () => { stop = true; }).resume();
console.log('working');
let completed = 0;
for (let unit = 1; !stop && unit < 500; unit++) {
  await run.start('u/' + unit);
  for (let page = 1; page <= 5; page++) {
    await new Promise((resolve) => setTimeout(resolve, 2));
    await run.progress('u/' + unit, { cursor: page, items: 10 });
  }
  await run.complete('u/' + unit);
  completed = unit;
}
await run.finish({ cleanup: false });
console.log('done ' + completed);
`;

describe('every verb against the checkpoint of a job that is running', () => {
  it('shows what it saved, changes nothing (exit 4), and the job finishes with its own state', async () => {
    const dir = await tempDir();
    const seed = join(dir, 'seed.json');
    await copyFile(SEED, seed);
    const job = startScriptJob(JOB, [dir, ID]);
    await job.printed('working');
    const watch = runCli(['watch', ID, '--dir', dir, '--interval', '50']);

    const edits = [
      ['reset-failed', ID],
      ['reset', ID, 'u', '--prefix'],
      ['rm', ID, '--yes'],
      ['migrate', seed, '--id', ID, '--force'],
    ];
    // Every verb at once, so that reads and edits overlap each other and the job's saves.
    const [shown, listed, repaired, ...edited] = await Promise.all([
      runCli(['show', ID, '--dir', dir, '--json']),
      runCli(['ls', dir, '--json']),
      // A readable checkpoint: repair only looks, and says so (README: exit 0).
      runCli(['repair', ID, '--yes', '--dir', dir]),
      ...edits.map((args) => runCli([...args, '--dir', dir])),
    ]);
    for (const [i, result] of edited.entries()) {
      const verb = edits[i]!.join(' ');
      expect(result.code, `${verb}: ${result.stderr}`).toBe(4);
      expect(result.stdout, verb).toBe('');
      expect(result.stderr, verb).toMatch(/is locked by pid \d+ .*; it was not changed/);
    }
    expect(repaired).toMatchObject({
      code: 0,
      stdout: `checkpoint "${ID}" is readable: nothing to repair\n`,
      stderr: '',
    });
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(listed.stdout)[0]).toMatchObject({
      id: ID,
      lockedBy: { pid: job.process.pid },
    });
    let before = 0;
    for (const read of [shown, await runCli(['show', ID, '--dir', dir, '--json'])]) {
      expect(read).toMatchObject({ code: 0, stderr: '' });
      const { checkpoint, lockedBy } = JSON.parse(read.stdout);
      expect(lockedBy.pid).toBe(job.process.pid);
      expect(checkpoint).toMatchObject({
        status: 'running',
        units: { 'u/0': { status: 'failed' } },
      });
      const complete = Object.values(checkpoint.units as Record<string, { status: string }>).filter(
        (unit) => unit.status === 'complete',
      ).length;
      expect(complete, 'a later read never shows an older state').toBeGreaterThanOrEqual(before);
      before = complete;
    }

    job.process.stdin.end();
    expect(await job.closed).toBe(0);
    const { stdout, stderr } = job.output();
    expect(stderr).toBe('');
    const completed = Number(/^done (\d+)$/m.exec(stdout)![1]);
    expect(completed).toBeGreaterThan(before);
    expect(await watch).toMatchObject({ code: 0, stderr: '' });

    // What the job made, and nothing an edit would have: u/0 still failed, no unit reset.
    const store = fileStore({ dir });
    const saved = (await store.load(ID))!;
    expect(saved.status).toBe('completed');
    expect(saved.units['u/0']).toMatchObject({ status: 'failed', attempts: 0, cursor: null });
    for (let unit = 1; unit <= completed; unit++) {
      expect(saved.units[`u/${unit}`], `u/${unit}`).toMatchObject({
        status: 'complete',
        attempts: 1,
        cursor: 5,
        done: 50,
      });
    }
    expect(saved.units[`u/${completed + 1}`]?.status).toBe('pending');
    await store.close?.();
  });
});

describe('show <path> of a checkpoint whose job is compacting', () => {
  it('reads the files as the store does, never a snapshot older than its journal', async () => {
    const dir = await tempDir();
    const job = startScriptJob(JOB, [dir, ID]);
    await job.printed('working');
    const file = join(dir, checkpointFileName(ID));
    const warnings: string[] = [];
    // In process, to read often enough to meet a compaction between two of the files' reads
    // (the job compacts every few dozen saves, a few milliseconds apart).
    let before = 0;
    for (let read = 0; read < 150; read++) {
      const { checkpoint } = await loadFile(file, { warn: (warning) => warnings.push(warning) });
      const complete = Object.values(checkpoint.units).filter(
        (unit) => unit.status === 'complete',
      ).length;
      expect(complete, `read ${read}: never an older state`).toBeGreaterThanOrEqual(before);
      before = complete;
    }
    expect(warnings).toEqual([]);
    job.process.stdin.end();
    expect(await job.closed).toBe(0);
  });
});
