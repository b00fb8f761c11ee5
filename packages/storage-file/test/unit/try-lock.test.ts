/**
 * `tryLock`, the store's lock for other packages' use: refused while held (naming the holder and
 * its details), released on release, and taken over from a dead holder (saying who it was), with
 * what a killed contender left beside it swept away.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tryLock } from '../../src/index.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

let dir: string;
beforeEach(async () => {
  dir = await tempDir('ck-try-lock-');
});
afterEach(() => removeDir(dir));

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  return Number(
    execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']),
  );
}

/** Takes `lockDir` with `details`, expecting `dead` (whose details were `{ job: 'a' }`) as previous. */
async function takenFrom(
  lockDir: string,
  dead: { pid: number; host: string; since: string },
  details: Record<string, unknown>,
) {
  const taken = await tryLock(lockDir, { details });
  if (!('lock' in taken)) throw new Error('not taken');
  expect(taken.lock.previous).toEqual({
    pid: dead.pid,
    host: dead.host,
    since: dead.since,
    details: { job: 'a' },
  });
  return taken.lock;
}

describe('tryLock', () => {
  it('is refused while held, naming the holder and its details; free again once released', async () => {
    const lockDir = join(dir, '.out.hold');
    const first = await tryLock(lockDir, { details: { job: 'a' } });
    if (!('lock' in first)) throw new Error('not taken');
    expect(first.lock.previous).toBeNull();
    const second = await tryLock(lockDir, { details: { job: 'b' } });
    expect(second).toEqual({
      holder: {
        pid: process.pid,
        host: hostname(),
        since: expect.any(String),
        details: { job: 'a' },
      },
    });
    await first.lock.release();
    expect(await readdir(dir)).toEqual([]);
    const third = await tryLock(lockDir);
    expect(third).toMatchObject({ lock: { previous: null, lost: null } });
    if ('lock' in third) await third.lock.release();
  });

  it('left rather than released, stays in place for the next taker, who takes it over at once and finds who left it', async () => {
    const lockDir = join(dir, '.out.hold');
    const first = await tryLock(lockDir, { details: { job: 'a' } });
    if (!('lock' in first)) throw new Error('not taken');
    await first.lock.leave();
    expect(await readdir(dir)).toEqual(['.out.hold']);
    // A release after it removes nothing: the lock is no longer this holder's.
    await first.lock.release();
    expect(await readdir(dir)).toEqual(['.out.hold']);
    const second = await tryLock(lockDir, { details: { job: 'b' } });
    if (!('lock' in second)) throw new Error('not taken over');
    expect(second.lock.previous).toEqual({
      pid: process.pid,
      host: hostname(),
      since: expect.any(String),
      details: { job: 'a' },
    });
    // Taken over, it is the new holder's: refused to a third, removed by its release.
    expect(await tryLock(lockDir)).toMatchObject({ holder: { details: { job: 'b' } } });
    await second.lock.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it('takes over the lock of a dead process, saying who held it, and sweeps what a killed contender or holder left', async () => {
    const lockDir = join(dir, '.out.hold');
    const dead = { pid: deadPid(), host: hostname(), since: new Date().toISOString(), token: 'x' };
    await mkdir(lockDir);
    await writeFile(
      join(lockDir, 'owner.json'),
      JSON.stringify({ ...dead, details: { job: 'a' } }),
    );
    // A contender killed while it made the lock: its staging folder, with its owner file.
    const staging = `${lockDir}.0123456789ab.new`;
    await mkdir(staging);
    await writeFile(join(staging, 'owner.json'), JSON.stringify(dead));
    // And one killed while it released the lock: its lock moved aside, not removed yet.
    const aside = `${lockDir}.dead-0123456789ab`;
    await mkdir(aside);
    await writeFile(join(aside, 'owner.json'), JSON.stringify(dead));
    const lock = await takenFrom(lockDir, dead, { job: 'b' });
    expect(await readdir(dir)).toEqual(['.out.hold']);
    await lock.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it('sweeps at once what killed processes left beside any lock of the folder, known by their names: a lock half made, one moved aside to be removed', async () => {
    const lockDir = join(dir, '.out.hold');
    const host = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
    // Killed inside the write: an empty owner file in one, half of it in the other.
    const empty = `${lockDir}.${host}-${deadPid()}-0123456789ab.new`;
    const half = `${lockDir}.${host}-${deadPid()}-ba9876543210.new`;
    await mkdir(empty);
    await writeFile(join(empty, 'owner.json'), '');
    await mkdir(half);
    await writeFile(join(half, 'owner.json'), '{"pid":12');
    // Another lock's in the folder, whose hold may never be taken again (a finished file): moved
    // aside by a process killed while it released it (the owner file names the holder, alive),
    // and being made by another killed process.
    const other = join(dir, '.done.hold');
    const released = `${other}.gone-${host}-${deadPid()}-cccccccccccc`;
    await mkdir(released);
    await writeFile(
      join(released, 'owner.json'),
      JSON.stringify({ pid: process.pid, host: hostname(), since: '', token: 'y' }),
    );
    const made = `${other}.${host}-${deadPid()}-dddddddddddd.new`;
    await mkdir(made);
    // Being made by a live process (this one), and by a process of another host: left alone
    // until they are old. And a dead lock a killed takeover moved aside: kept for the next taker
    // of that lock, to whom it says who held it.
    const live = `${lockDir}.${host}-${process.pid}-aaaaaaaaaaaa.new`;
    const elsewhere = `${other}.gone-ffffffff-${deadPid()}-bbbbbbbbbbbb`;
    const judged = `${other}.dead-${host}-${deadPid()}-eeeeeeeeeeee`;
    for (const folder of [live, elsewhere, judged]) await mkdir(folder);
    const taken = await tryLock(lockDir);
    if (!('lock' in taken)) throw new Error('not taken');
    expect((await readdir(dir)).sort()).toEqual(
      ['.out.hold', basename(live), basename(elsewhere), basename(judged)].sort(),
    );
    await taken.lock.release();
  });

  it('goes on at once past a takeover a killed process left, and sweeps such a takeover of another lock', async () => {
    const lockDir = join(dir, '.out.hold');
    const dead = { pid: deadPid(), host: hostname(), since: new Date().toISOString(), token: 'x' };
    await mkdir(lockDir);
    await writeFile(join(lockDir, 'owner.json'), JSON.stringify(dead));
    // Killed in the middle of taking the dead lock over, and of taking over another lock.
    const maker = JSON.stringify({ pid: deadPid(), host: hostname(), since: '', token: '' });
    for (const takeover of [`${lockDir}.takeover`, join(dir, '.done.hold.takeover')]) {
      await mkdir(takeover);
      await writeFile(join(takeover, 'owner.json'), maker);
    }
    const taken = await tryLock(lockDir);
    if (!('lock' in taken)) throw new Error('not taken');
    expect(taken.lock.previous).toMatchObject({ pid: dead.pid });
    expect(await readdir(dir)).toEqual(['.out.hold']);
    await taken.lock.release();
    // Not named, a takeover is judged by its age: the opener would wait 10 s for it.
  }, 8_000);

  it('names as previous the holder whose lock a process killed in the middle of its takeover left moved aside', async () => {
    const lockDir = join(dir, '.out.hold');
    const host = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
    const dead = { pid: deadPid(), host: hostname(), since: new Date().toISOString(), token: 'x' };
    // The takeover moved the dead lock aside and was killed before it made its own.
    const aside = `${lockDir}.dead-${host}-${deadPid()}-0123456789ab`;
    await mkdir(aside);
    await writeFile(join(aside, 'owner.json'), JSON.stringify({ ...dead, details: { job: 'a' } }));
    const lock = await takenFrom(lockDir, dead, { job: 'a' });
    expect(await readdir(dir)).toEqual(['.out.hold']);
    await lock.release();
  });
});
