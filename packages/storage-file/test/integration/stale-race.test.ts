/**
 * Many processes racing for one stale lock, round after round. Every other round the holder is
 * stopped (SIGSTOP: alive, but no longer refreshing its lock, so it goes stale after staleMs);
 * the others it is killed with kill -9 (dead: taken over at once). Each opener that gets the lock
 * appends its pid to a witness file, which the lock code cannot fake: each round, exactly one
 * pid may be added, the winner's, and the losers must be refused naming it. A stopped holder that
 * wakes up and ends must leave the winner's lock alone.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCheckpointId, LOCK_SUFFIX, readLockOwner } from '../../src/index.js';
import { bundleChild, type Child, lockOutcomeOf, startChild } from '../helpers/child.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

const ROUNDS = 8;
const OPENERS = 12;
const STALE_MS = 2000;
const ID = 'job:stale-race';

let bundleDir: string;
let bundle: string;
beforeAll(async () => {
  bundleDir = await tempDir('ck-stale-race-bundle-');
  bundle = await bundleChild(bundleDir);
});
afterAll(() => removeDir(bundleDir));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('many processes racing for one stale lock', () => {
  it(`lets exactly one of ${OPENERS} win, ${ROUNDS} rounds of stopped and killed holders`, async () => {
    const dir = await tempDir('ck-stale-race-');
    const witness = join(dir, 'witness.txt');
    const lockDir = join(dir, encodeCheckpointId(ID) + LOCK_SUFFIX);
    const children: Child[] = [];
    const start = () => {
      const child = startChild(['hold', dir, ID], {
        bundle,
        env: { STALE_MS: String(STALE_MS), WITNESS: witness },
      });
      children.push(child);
      return child;
    };
    const holders = async () =>
      (await readFile(witness, 'utf8').catch(() => '')).split('\n').filter(Boolean).map(Number);
    try {
      let holderChild = start();
      let holder = (await lockOutcomeOf(holderChild)).locked!.pid;
      expect(await holders()).toEqual([holder]);
      const problems: string[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const stopped = round % 2 === 0;
        if (stopped) {
          holderChild.process.kill('SIGSTOP');
          // Wait until the lock went stale: not refreshed for staleMs (with a margin).
          while ((await stat(lockDir)).mtimeMs > Date.now() - STALE_MS - 300) await sleep(100);
        } else {
          holderChild.process.kill('SIGKILL');
          await holderChild.exited;
        }
        const before = (await holders()).length;
        const openers = Array.from({ length: OPENERS }, start);
        const outcomes = await Promise.all(openers.map(lockOutcomeOf));
        const winners = outcomes.filter((o) => o.locked).map((o) => o.locked!.pid);
        const added = (await holders()).slice(before);
        if (winners.length !== 1 || added.length !== 1 || added[0] !== winners[0]) {
          problems.push(`round ${round}: winners ${winners}, witness added ${added}`);
          if (winners.length === 0) break;
        }
        const winner = winners[0]!;
        for (const { refused } of outcomes.filter((o) => o.refused)) {
          if (refused!.name !== 'CheckpointLockedError' || refused!.owner?.pid !== winner)
            problems.push(
              `round ${round}: a loser got ${refused!.name} naming ${refused!.owner?.pid}`,
            );
        }
        if (stopped) {
          // The old holder wakes up and ends: the lock is the winner's, and stays so.
          holderChild.process.kill('SIGCONT');
          holderChild.process.stdin.end();
          await holderChild.exited;
          const owner = await readLockOwner(dir, ID, { staleMs: STALE_MS });
          if (owner?.pid !== winner)
            problems.push(
              `round ${round}: after the stopped holder ended, the lock names ${owner?.pid}`,
            );
        }
        for (const [i, child] of openers.entries()) {
          if (outcomes[i]!.locked?.pid === winner) holderChild = child;
          else if (outcomes[i]!.locked) child.process.kill('SIGKILL'); // an extra winner
        }
        holder = winner;
      }
      expect(problems).toEqual([]);
      expect(holder).toBeGreaterThan(0);
    } finally {
      for (const child of children) child.process.kill('SIGKILL');
      await removeDir(dir);
    }
  });
});
