/**
 * Taking over the lock of a holder killed with kill -9, with several processes opening the
 * checkpoint at once, over many rounds: exactly one may win each time, and the others get
 * CheckpointLockedError naming the winner. Every other round the dead holder is a zombie (killed
 * but not reaped by its parent), whose pid still answers kill -0: it must count as dead.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleChild, type Child, lockOutcomeOf, startChild } from '../helpers/child.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

const ROUNDS = 16;
const OPENERS = 4;

let bundleDir: string;
let bundle: string;
beforeAll(async () => {
  bundleDir = await tempDir('ck-takeover-bundle-');
  bundle = await bundleChild(bundleDir);
});
afterAll(() => removeDir(bundleDir));

function state(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? null;
  } catch {
    return null;
  }
}

describe('taking over a dead holder’s lock', () => {
  it(`lets exactly one of ${OPENERS} concurrent openers win, ${ROUNDS} rounds, zombie holders included`, async () => {
    const dir = await tempDir('ck-takeover-');
    const children: Child[] = [];
    const start = (unreaped: boolean) => {
      const child = startChild(['hold', dir, 'job:takeover'], {
        bundle,
        unreapedWhenKilled: unreaped,
      });
      children.push(child);
      return child;
    };
    try {
      let holder = await lockOutcomeOf(start(false));
      expect(holder.locked).toBeDefined();
      const problems: string[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const zombie = round % 2 === 1;
        process.kill(holder.locked!.pid, 'SIGKILL');
        // Wait until it is dead: reaped (gone) or, when its parent never waits, a zombie.
        while (
          ![null, 'Z'].includes(state(holder.locked!.pid)) ||
          (!zombie && state(holder.locked!.pid) !== null)
        ) {
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        const openers = Array.from({ length: OPENERS }, () => start(round % 2 === 0));
        const outcomes = await Promise.all(openers.map(lockOutcomeOf));
        const winners = outcomes.filter((o) => o.locked);
        if (winners.length !== 1) {
          problems.push(
            `round ${round}${zombie ? ' (zombie holder)' : ''}: ${winners.length} winners`,
          );
          if (winners.length === 0) break;
        }
        const winner = winners[0]!.locked!;
        for (const lost of outcomes.filter((o) => o.refused)) {
          const refused = lost.refused!;
          if (refused.name !== 'CheckpointLockedError' || refused.owner?.pid !== winner.pid) {
            problems.push(
              `round ${round}: a loser got ${refused.name} naming ${JSON.stringify(refused.owner)}, not pid ${winner.pid}`,
            );
          }
          expect(refused.owner?.host ?? hostname()).toBe(hostname());
        }
        // Winners beyond the first die with the round; the first holds on into the next.
        for (const extra of winners.slice(1)) process.kill(extra.locked!.pid, 'SIGKILL');
        holder = winners[0]!;
      }
      expect(problems).toEqual([]);
    } finally {
      for (const child of children) child.process.kill('SIGKILL');
      await removeDir(dir);
    }
  });
});
