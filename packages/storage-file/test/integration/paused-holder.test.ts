/**
 * A holder stopped (SIGSTOP) in the middle of its flushes, whose lock is taken over meanwhile: its
 * owner file edited to name a dead pid of this host, so the takeover is at once (a stale lock after
 * staleMs, or a suspended machine, is the same case, only slower). The new holder writes; then the
 * old one resumes (SIGCONT). It must not write into the journal the new holder writes (a write it
 * had checked before it was stopped used to land after the new holder's batches: two batches of
 * one number, in 3 of these 10 rounds), and must not report as saved a flush that is not in the checkpoint.
 */
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { always, openRun } from '@checkpointkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeCheckpointId,
  fileStore,
  LOCK_SUFFIX,
  readCheckpointFiles,
} from '../../src/index.js';
import { bundleChild, startChild } from '../helpers/child.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

const ROUNDS = 10;
const ID = 'job:paused';

let bundleDir: string;
let bundle: string;
beforeAll(async () => {
  bundleDir = await tempDir('ck-paused-bundle-');
  bundle = await bundleChild(bundleDir);
});
afterAll(() => removeDir(bundleDir));

/** A pid of this host that is certainly dead: a child that ran and was reaped. */
const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid as number;

/** One round; what went wrong in it, if anything. */
async function round(dir: string): Promise<string[]> {
  const problems: string[] = [];
  const child = startChild(['writer', dir, ID, String(1e9)], { bundle });
  // Stop it after a random number of flushes, then a moment more: somewhere in a flush.
  const target = 2 + Math.floor(Math.random() * 20);
  await child.waitFor((line) => line === `ack ${target}`);
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 2));
  child.process.kill('SIGSTOP');
  const acks = () =>
    child.lines.filter((line) => line.startsWith('ack ')).map((line) => Number(line.slice(4)));
  const ownerFile = join(dir, encodeCheckpointId(ID) + LOCK_SUFFIX, 'owner.json');
  const owner = JSON.parse(await readFile(ownerFile, 'utf8')) as object;
  await writeFile(ownerFile, JSON.stringify({ ...owner, pid: deadPid() }));

  const store = fileStore({ dir, onWarning: (w) => problems.push(`warning: ${w.message}`) });
  const run = await openRun({ id: ID, store, strategy: always(), signals: false });
  await run.count('taken-over');
  child.process.kill('SIGCONT');
  await run.count('taken-over');
  await child.closed;
  await run.count('taken-over');
  await run.close();
  await store.close();

  if (!child.stderr.includes('LockLostError')) problems.push(`the old holder: ${child.stderr}`);
  const read = await readCheckpointFiles(dir, ID).catch((error: Error) => error);
  if (read instanceof Error || read === null) return [...problems, `unreadable: ${read}`];
  if (read.tornTail || read.lost) problems.push(`torn ${read.tornTail}, lost ${read.lost}`);
  const { stats } = read.checkpoint;
  if (stats['taken-over'] !== 3) problems.push(`the new holder's counts: ${stats['taken-over']}`);
  // Flush n counted n + 1: every flush the old holder called saved is in the checkpoint.
  if ((stats['n'] ?? 0) < Math.max(...acks()) + 1)
    problems.push(`acknowledged up to ${Math.max(...acks())}, saved n = ${stats['n']}`);
  return problems;
}

describe('a holder stopped while its lock is taken over', () => {
  it(`writes nothing after it resumes, and says so; ${ROUNDS} rounds`, async () => {
    const problems: string[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const dir = await tempDir('ck-paused-');
      try {
        problems.push(...(await round(dir)).map((problem) => `round ${i}: ${problem}`));
      } finally {
        await removeDir(dir);
      }
    }
    expect(problems).toEqual([]);
  });
});
