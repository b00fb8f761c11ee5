/**
 * A lock someone else meddles with while it is held, and locks dated by a clock that jumped.
 * The holder is a real process; the meddling is what a user's `rm`, an editor or a clock step does.
 */
import { mkdir, rm, truncate, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointLockedError } from '@checkpointkit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeCheckpointId, fileStore, LOCK_SUFFIX, readLockOwner } from '../../src/index.js';
import {
  type Child,
  killHard,
  type LockOutcome,
  lockOutcomeOf,
  startChild,
} from '../helpers/child.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

let dir: string;
const children: Child[] = [];
beforeEach(async () => {
  dir = await tempDir('ck-lock-tamper-');
});
afterEach(async () => {
  for (const child of children.splice(0)) child.process.kill('SIGKILL');
  await removeDir(dir);
});

const lockDirOf = (id: string) => join(dir, encodeCheckpointId(id) + LOCK_SUFFIX);

async function hold(id: string): Promise<{ child: Child; outcome: LockOutcome }> {
  const child = startChild(['hold', dir, id]);
  children.push(child);
  const outcome = await lockOutcomeOf(child);
  return { child, outcome };
}

/** Sets a directory's mtime `ms` from now (negative: in the past). */
async function dateBy(path: string, ms: number): Promise<void> {
  const when = new Date(Date.now() + ms);
  await utimes(path, when, when);
}

describe('a held lock whose owner file someone removed or emptied', () => {
  for (const tamper of ['removed', 'emptied'] as const) {
    it(`(${tamper}) stays held: another opener is refused, and the holder's release frees it`, async () => {
      const id = `tamper:${tamper}`;
      const holder = await hold(id);
      expect(holder.outcome.locked).toBeDefined();
      const owner = join(lockDirOf(id), 'owner.json');
      if (tamper === 'removed') await rm(owner);
      else await truncate(owner, 0);

      // The holder lives and keeps its lock fresh: nobody else may take it.
      const second = await hold(id);
      expect(second.outcome.refused?.name).toBe('CheckpointLockedError');

      // The holder ends cleanly: the lock it made is gone, not left for staleMs.
      holder.child.process.stdin.end();
      expect(await holder.child.exited).toBe(0);
      expect(await readLockOwner(dir, id)).toBeNull();
      const store = fileStore({ dir, staleMs: 60_000 });
      const lock = await store.lock(id);
      await lock.release();
      await store.close();
    });
  }
});

describe('a lock dated in the future (a clock that jumped)', () => {
  it('is taken over when its owner elsewhere stopped: a future date says nothing of refreshes', async () => {
    const id = 'clock:elsewhere';
    const lockDir = lockDirOf(id);
    await mkdir(lockDir);
    const since = new Date().toISOString();
    await writeFile(
      join(lockDir, 'owner.json'),
      JSON.stringify({ pid: 4242, host: 'elsewhere', since, token: 't' }),
    );
    // Within staleMs ahead: another host's clock may run a little fast; the lock is live.
    await dateBy(lockDir, 1000);
    const store = fileStore({ dir, staleMs: 2000 });
    await expect(store.lock(id)).rejects.toBeInstanceOf(CheckpointLockedError);
    // A day ahead: no refresh made that date.
    await dateBy(lockDir, 86_400_000);
    const lock = await store.lock(id);
    expect(lock.owner.pid).toBe(process.pid);
    await lock.release();
    await store.close();
  });

  it('stays with a live holder on this host, whose pid tells it is alive', async () => {
    const id = 'clock:here';
    const holder = await hold(id);
    await dateBy(lockDirOf(id), 86_400_000);
    const store = fileStore({ dir, staleMs: 2000 });
    const refused = await store.lock(id).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(CheckpointLockedError);
    expect((refused as CheckpointLockedError).owner?.pid).toBe(holder.outcome.locked!.pid);
    await store.close();
  });

  it('does not let a takeover lock dated in the future, left by a killed process, block for ever', async () => {
    const id = 'clock:takeover';
    const dead = await hold(id);
    await killHard(dead.child);
    // A process killed in the middle of a takeover, after the clock was set back a day.
    await mkdir(`${lockDirOf(id)}.takeover`);
    await dateBy(`${lockDirOf(id)}.takeover`, 86_400_000);
    const store = fileStore({ dir });
    const lock = await store.lock(id);
    expect(lock.owner.pid).toBe(process.pid);
    await lock.release();
    await store.close();
  }, 60_000); // a guard: before the fix, this waited 100 rounds of 2 s, then refused
});
