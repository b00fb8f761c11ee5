import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { always, type Change, openRun } from '@checkpointkit/core';
import { fileStore } from '@checkpointkit/storage-file';
import { describe, expect, it, onTestFinished } from 'vitest';
import { at, tempDir, writeCheckpoint } from '../helpers/checkpoints.js';
import {
  BIN,
  childEnv,
  hasEscapes,
  runCli,
  runInTerminal,
  startInTerminal,
} from '../helpers/cli.js';

const ID = 'crawl:docs';
/** The package folder: a child started there imports the workspace packages' builds. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function planned(units: number): Change[] {
  const changes: Change[] = [{ type: 'created', at: at(0), id: ID, configDigest: null }];
  for (let unit = 1; unit <= units; unit++) {
    changes.push({ type: 'unit.planned', at: at(0), key: `pages/${unit}` });
  }
  return changes;
}

/** A running `watch` whose output the test reads as it comes. */
function startWatch(dir: string) {
  const child = spawn(process.execPath, [BIN, 'watch', ID, '--dir', dir, '--interval', '40'], {
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  // 'close', not 'exit': the last lines may still be in the pipe when the process exits.
  let closed = false;
  const exit = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      closed = true;
      resolve(code);
    }),
  );
  onTestFinished(() => {
    child.kill();
  });
  const lines = () => stdout.split('\n').filter(Boolean);
  return {
    child,
    exit,
    lines,
    stderr: () => stderr,
    /** Resolves once stdout holds `count` lines. */
    async waitForLines(count: number): Promise<string[]> {
      while (lines().length < count) {
        if (closed) throw new Error(`watch ended early: ${stdout}${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return lines();
    },
  };
}

const GONE = `checkpointkit: error: the job of checkpoint "${ID}" is gone (its process died or was killed) but the checkpoint still says running; the next run resumes it\n`;

/** A job in another process that holds the checkpoint's lock until it is killed. */
async function lockInChild(dir: string) {
  const job = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { fileStore } from '@checkpointkit/storage-file';
       await fileStore({ dir: process.argv[1] }).lock(process.argv[2]);
       console.log('locked');
       setInterval(() => {}, 1000);`,
      dir,
      ID,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  onTestFinished(() => {
    job.kill('SIGKILL');
  });
  await new Promise((resolve) => job.stdout.once('data', resolve));
  return job;
}

describe('checkpointkit watch', () => {
  it('prints a line per change on a pipe until the job completes, then exits 0', async () => {
    const dir = await tempDir();
    await writeCheckpoint(dir, ID, planned(3));
    const job = fileStore({ dir });
    const lock = await job.lock(ID);
    onTestFinished(async () => {
      await lock.release();
      await job.close?.();
    });
    const watch = startWatch(dir);
    expect(await watch.waitForLines(1)).toEqual([
      `2025-01-06 08:00:00Z ${ID} running 0.0% (0/3 units)`,
    ]);
    for (let unit = 1; unit <= 3; unit++) {
      await job.append(ID, [{ type: 'unit.completed', at: at(unit), key: `pages/${unit}` }]);
      await watch.waitForLines(unit + 1);
    }
    await job.append(ID, [{ type: 'status', at: at(4), status: 'completed' }]);
    expect(await watch.exit).toBe(0);
    expect(watch.lines()).toEqual([
      `2025-01-06 08:00:00Z ${ID} running 0.0% (0/3 units)`,
      `2025-01-06 08:01:00Z ${ID} running 33.3% (1/3 units)`,
      `2025-01-06 08:02:00Z ${ID} running 66.7% (2/3 units)`,
      `2025-01-06 08:03:00Z ${ID} running 100.0% (3/3 units)`,
      `2025-01-06 08:04:00Z ${ID} completed 100.0% (3/3 units)`,
    ]);
    expect(watch.stderr()).toBe('');
    expect(hasEscapes(watch.lines().join('\n'))).toBe(false);
  });

  it('follows a real run from start to finish', async () => {
    const dir = await tempDir();
    const run = await openRun({
      id: ID,
      store: fileStore({ dir }),
      strategy: always(),
      signals: false,
      autoCleanup: false,
    });
    onTestFinished(() => run.close());
    await run.plan(['pages/1', 'pages/2']);
    await run.flush('planned');
    const watch = startWatch(dir);
    expect((await watch.waitForLines(1))[0]).toMatch(/ crawl:docs running 0\.0% \(0\/2 units\)$/);
    for (const key of ['pages/1', 'pages/2']) {
      await run.start(key);
      await run.complete(key, { items: 10 });
    }
    await run.finish();
    expect(await watch.exit).toBe(0);
    expect(watch.lines().at(-1)).toMatch(/ crawl:docs completed 100\.0% \(2\/2 units\)$/);
    expect(watch.stderr()).toBe('');
  });

  it('exits 1 when the job ends failed, and 0 when its checkpoint is cleaned up', async () => {
    const dir = await tempDir();
    await writeCheckpoint(dir, ID, planned(2));
    const job = fileStore({ dir });
    const lock = await job.lock(ID);
    onTestFinished(async () => {
      await lock.release();
      await job.close?.();
    });
    const failing = startWatch(dir);
    await failing.waitForLines(1);
    await job.append(ID, [
      { type: 'unit.failed', at: at(1), key: 'pages/1', message: 'boom', retryable: false },
      { type: 'status', at: at(1), status: 'failed' },
    ]);
    expect(await failing.exit).toBe(1);
    expect(failing.lines().at(-1)).toBe(
      `2025-01-06 08:01:00Z ${ID} failed 0.0% (0/2 units, 1 failed)`,
    );

    await job.append(ID, [{ type: 'status', at: at(2), status: 'running' }]);
    const cleaned = startWatch(dir);
    await cleaned.waitForLines(1);
    await job.delete(ID);
    expect(await cleaned.exit).toBe(0);
    expect(cleaned.lines().at(-1)).toMatch(/^checkpoint "crawl:docs" was removed/);
  });

  it('exits 1 when the job holding the lock dies without marking its checkpoint', async () => {
    const dir = await tempDir();
    await writeCheckpoint(dir, ID, planned(2));
    const job = await lockInChild(dir);
    const watch = startWatch(dir);
    await watch.waitForLines(1);
    expect(watch.stderr()).toBe('');
    job.kill('SIGKILL');
    expect(await watch.exit).toBe(1);
    expect(watch.stderr()).toBe(GONE);
  });

  it('exits 1 at once when the job died before watch started', async () => {
    const dir = await tempDir();
    await writeCheckpoint(dir, ID, planned(2));
    // Killed -9: its lock directory stays, naming a pid that is dead.
    const job = await lockInChild(dir);
    job.kill('SIGKILL');
    await new Promise((resolve) => job.once('close', resolve));
    const dead = await runCli(['watch', ID, '--dir', dir]);
    expect(dead).toEqual({
      code: 1,
      stdout: `2025-01-06 08:00:00Z ${ID} running 0.0% (0/2 units)\n`,
      stderr: GONE,
    });
    // A job that ended without marking its checkpoint and let go of its lock: gone as well.
    const unlocked = await tempDir();
    await writeCheckpoint(unlocked, ID, planned(2));
    expect(await runCli(['watch', ID, '--dir', unlocked])).toMatchObject({
      code: 1,
      stderr: GONE,
    });
  });

  it('stops on Ctrl+C with exit 130, and exits 3 for an unknown id', async () => {
    const dir = await tempDir();
    await writeCheckpoint(dir, ID, planned(1));
    await lockInChild(dir);
    const watch = startWatch(dir);
    await watch.waitForLines(1);
    watch.child.kill('SIGINT');
    expect(await watch.exit).toBe(130);
    expect(watch.stderr()).toContain('stopped watching (Ctrl+C); the job was not touched');

    const missing = await runCli(['watch', 'nope', '--dir', dir]);
    expect(missing.code).toBe(3);
  });

  it('gives the terminal its cursor back when stopped with SIGTERM (exit 143)', async () => {
    const dir = await tempDir();
    await writeCheckpoint(dir, ID, planned(1));
    await lockInChild(dir);
    const pidFile = join(dir, 'watch.pid');
    const watch = startInTerminal(['watch', ID, '--dir', dir], { pidFile });
    onTestFinished(() => {
      watch.child.kill('SIGKILL');
    });
    // The bar hides the cursor and turns off line wrapping when it is first drawn.
    while (!watch.stdout().includes('| running')) {
      if (watch.child.exitCode !== null) throw new Error(`watch ended early: ${watch.stdout()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    process.kill(Number(await readFile(pidFile, 'utf8')), 'SIGTERM');
    expect(await watch.exit).toBe(143);
    const out = watch.stdout();
    expect(out.lastIndexOf('\u001b[?25h')).toBeGreaterThan(out.lastIndexOf('\u001b[?25l'));
    expect(out.lastIndexOf('\u001b[?7h')).toBeGreaterThan(out.lastIndexOf('\u001b[?7l'));
    expect(out).toContain('stopped watching (SIGTERM); the job was not touched');
  });

  it('draws a progress bar on a terminal', async () => {
    const dir = await tempDir();
    await writeCheckpoint(dir, ID, [
      ...planned(4),
      { type: 'unit.completed', at: at(1), key: 'pages/1' },
      { type: 'status', at: at(2), status: 'interrupted' },
    ]);
    const result = await runInTerminal(['watch', ID, '--dir', dir]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('25.0% | 1/4 units | 0 failed | interrupted');
    expect(result.stdout).toContain('█');
    expect(result.stdout).toContain(`2025-01-06 08:02:00Z ${ID} interrupted 25.0% (1/4 units)`);
  });

  it('rounds the percent the same in the bar, the line, show and ls (26 of 30 is 86.7%)', async () => {
    const dir = await tempDir();
    const changes = planned(30);
    for (let unit = 1; unit <= 26; unit++) {
      changes.push({ type: 'unit.completed', at: at(1), key: `pages/${unit}` });
    }
    changes.push({ type: 'status', at: at(2), status: 'interrupted' });
    await writeCheckpoint(dir, ID, changes);
    const bar = await runInTerminal(['watch', ID, '--dir', dir]);
    expect(bar.stdout).toContain('86.7% | 26/30 units | 0 failed | interrupted');
    expect(bar.stdout).toContain(`${ID} interrupted 86.7% (26/30 units)`);
    const line = await runCli(['watch', ID, '--dir', dir]);
    expect(line.stdout).toBe(`2025-01-06 08:02:00Z ${ID} interrupted 86.7% (26/30 units)\n`);
    expect((await runCli(['show', ID, '--dir', dir])).stdout).toMatch(/^ {2}progress +86\.7% /m);
    expect((await runCli(['ls', dir])).stdout).toMatch(/ 86\.7% /);
    const all = `${bar.stdout}${line.stdout}`;
    expect(all).not.toMatch(/86\.6|86%/);
  });
});
