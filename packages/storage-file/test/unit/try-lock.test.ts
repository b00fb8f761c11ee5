/**
 * `tryLock`, the store's lock for other packages' use: refused while held (naming the holder and
 * its details), released on release, and taken over from a dead holder (saying who it was), with
 * what a killed contender left beside it swept away.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
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
    const taken = await tryLock(lockDir, { details: { job: 'b' } });
    if (!('lock' in taken)) throw new Error('not taken');
    expect(taken.lock.previous).toEqual({
      pid: dead.pid,
      host: dead.host,
      since: dead.since,
      details: { job: 'a' },
    });
    expect(await readdir(dir)).toEqual(['.out.hold']);
    await taken.lock.release();
    expect(await readdir(dir)).toEqual([]);
  });
});
