/** Locks between real processes: two racing openers, and a dead owner's lock. */
import { hostname } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileStore, readLockOwner } from '../../src/index.js';
import { killHard, lockOutcomeOf, startChild } from '../helpers/child.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

let dir: string;
beforeEach(async () => {
  dir = await tempDir('ck-locks-');
});
afterEach(() => removeDir(dir));

describe('locks across processes', () => {
  it('lets exactly one of two racing processes open a checkpoint; the other names the owner', async () => {
    for (let round = 0; round < 3; round++) {
      const id = `race:${round}`;
      const children = [startChild(['hold', dir, id]), startChild(['hold', dir, id])];
      const outcomes = await Promise.all(children.map(async (child) => await lockOutcomeOf(child)));
      const winners = outcomes.filter((o) => o.locked);
      const losers = outcomes.filter((o) => o.refused);
      expect(winners).toHaveLength(1);
      expect(losers).toHaveLength(1);
      const winner = winners[0]!.locked!;
      const { refused } = losers[0]!;
      expect(refused!.name).toBe('CheckpointLockedError');
      expect(refused!.owner).toMatchObject({ pid: winner.pid, host: hostname() });
      expect(refused!.message).toContain(
        `pid ${winner.pid} on ${hostname()} since ${refused!.owner!.since}`,
      );
      expect(await readLockOwner(dir, id)).toMatchObject({ pid: winner.pid });
      for (const child of children) child.process.stdin.end();
      await Promise.all(children.map((child) => child.exited));
      expect(await readLockOwner(dir, id)).toBeNull();
    }
  });

  it('takes over the lock of a process killed with kill -9 at once', async () => {
    const id = 'dead:1';
    const child = startChild(['hold', dir, id]);
    const outcome = await lockOutcomeOf(child);
    expect(outcome.locked).toBeDefined();
    await killHard(child);
    // The lock directory is still there and fresh, but its owner is dead: no stale wait.
    expect(await readLockOwner(dir, id)).toBeNull();
    const store = fileStore({ dir, staleMs: 60_000 });
    const lock = await store.lock(id);
    expect(lock.owner.pid).toBe(process.pid);
    await lock.release();
    await store.close();
  });
});
