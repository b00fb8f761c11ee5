/**
 * A process stopped (SIGSTOP) in the middle of its own takeover: it judged the lock of a dead
 * holder dead, and stops before it moves that lock away. Its takeover lock (`<lock>.takeover`)
 * grows stale meanwhile, so another process takes it over and makes its own lock. Then the
 * stopped one resumes. It must not remove that fresh lock (it used to: both then held the lock,
 * and the fresh holder's next write failed with LockLostError), and must be refused naming the
 * fresh holder. If a third process makes a lock in the instant the fresh one is moved aside to be
 * checked, the fresh one cannot go back: its holder must find out before it writes.
 */

import { readFileSync } from 'node:fs';
import { readdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { always, LockLostError, openRun, type Run } from '@checkpointkit/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encodeCheckpointId, fileStore, LOCK_SUFFIX, readLockOwner } from '../../src/index.js';
import { bundleChild, type Child, killHard, lockOutcomeOf, startChild } from '../helpers/child.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

const ID = 'job:takeover-paused';

let bundleDir: string;
let bundle: string;
beforeAll(async () => {
  bundleDir = await tempDir('ck-takeover-paused-bundle-');
  bundle = await bundleChild(bundleDir);
});
afterAll(() => removeDir(bundleDir));

/** Until the process is stopped (state T): it stops itself right after the line it printed. */
async function stopped(pid: number): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('T')) return;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  throw new Error(`pid ${pid} did not stop`);
}

const lockNames = async (dir: string) =>
  (await readdir(dir)).filter((name) => name.includes(LOCK_SUFFIX));

describe.runIf(process.platform === 'linux')('a process stopped in its own takeover', () => {
  let dir: string;
  let children: Child[];
  const start = (env: Record<string, string> = {}) => {
    const child = startChild(['hold', dir, ID], { bundle, env });
    children.push(child);
    return child;
  };

  /**
   * A dead holder's lock; a child that stops in its takeover (at `pauses`, the first being
   * `judged-dead`) for longer than a takeover lock lives; this process taking the lock over
   * meanwhile. Returns the stopped child and this process's run.
   */
  async function stoppedInTakeover(pauses: string): Promise<{ paused: Child; run: Run }> {
    const dead = start();
    expect((await lockOutcomeOf(dead)).locked).toBeDefined();
    await killHard(dead);
    const paused = start({ PAUSE_IN_TAKEOVER: pauses });
    await paused.waitFor((line) => line === 'takeover judged-dead');
    await stopped(paused.process.pid!);
    // As if it stayed stopped past TAKEOVER_STALE_MS (10 s): its takeover lock looks abandoned.
    const past = new Date(Date.now() - 60_000);
    await utimes(join(dir, encodeCheckpointId(ID) + LOCK_SUFFIX + '.takeover'), past, past);
    const store = fileStore({ dir, onWarning: () => {} });
    const run = await openRun({ id: ID, store, strategy: always(), signals: false });
    cleanups.push(async () => {
      await run.close().catch(() => {}); // the lock may be lost: the test says whether it must
      await store.close();
    });
    return { paused, run };
  }
  let cleanups: (() => Promise<void>)[];

  beforeEach(async () => {
    dir = await tempDir('ck-takeover-paused-');
    children = [];
    cleanups = [];
  });
  afterEach(async () => {
    for (const cleanup of cleanups) await cleanup();
    for (const child of children) child.process.kill('SIGKILL');
    await removeDir(dir);
  });

  it('leaves the lock another process made meanwhile alone when it resumes', async () => {
    const { paused, run } = await stoppedInTakeover('judged-dead');
    paused.process.kill('SIGCONT');
    // Exactly one holder: the one that resumed is refused, naming this process.
    expect(await lockOutcomeOf(paused)).toEqual({
      refused: expect.objectContaining({
        name: 'CheckpointLockedError',
        owner: expect.objectContaining({ pid: process.pid }),
      }),
    });
    // And this process's lock is still its own: it writes, and the lock names it.
    await run.count('after-resume');
    expect((await readLockOwner(dir, ID))?.pid).toBe(process.pid);
    // Nothing left behind by the takeover that lost.
    expect(await lockNames(dir)).toEqual([encodeCheckpointId(ID) + LOCK_SUFFIX]);
  });

  it('makes the holder whose lock it moved aside stop, if a third process got in meanwhile', async () => {
    const { paused, run } = await stoppedInTakeover('judged-dead,moved-aside');
    paused.process.kill('SIGCONT');
    // It moved this process's lock aside to check it, and stops again before it can put it back.
    await paused.waitFor((line) => line === 'takeover moved-aside');
    await stopped(paused.process.pid!);
    const third = start();
    const thirdPid = (await lockOutcomeOf(third)).locked?.pid;
    expect(thirdPid).toBe(third.process.pid);
    paused.process.kill('SIGCONT');
    expect(await lockOutcomeOf(paused)).toEqual({
      refused: expect.objectContaining({ owner: expect.objectContaining({ pid: thirdPid }) }),
    });
    // One holder, the third; this process finds its lock gone before it writes anything.
    await expect(run.count('after-resume')).rejects.toBeInstanceOf(LockLostError);
    expect((await readLockOwner(dir, ID))?.pid).toBe(thirdPid);
    expect(await lockNames(dir)).toEqual([encodeCheckpointId(ID) + LOCK_SUFFIX]);
  });
});
