import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { always, type Change, openRun } from '@checkpointkit/core';
import { fileStore } from '@checkpointkit/storage-file';
import { describe, expect, it, onTestFinished } from 'vitest';
import { at, tempDir, writeCheckpoint } from '../helpers/checkpoints.js';
import { BIN, childEnv, hasEscapes, runCli, runInTerminal } from '../helpers/cli.js';

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
  const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
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
        if (child.exitCode !== null) throw new Error(`watch ended early: ${stdout}${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return lines();
    },
  };
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
      `2025-01-06 08:02:00Z ${ID} running 66.6% (2/3 units)`,
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
    onTestFinished(() => job.close?.());
    const failing = startWatch(dir);
    await failing.waitForLines(1);
    expect(failing.stderr()).toContain('marked running but no process holds its lock');
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
    // A job in another process: it takes the lock, then is killed -9.
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
    const watch = startWatch(dir);
    await watch.waitForLines(1);
    expect(watch.stderr()).toBe('');
    job.kill('SIGKILL');
    expect(await watch.exit).toBe(1);
    expect(watch.stderr()).toBe(
      `checkpointkit: error: the job of checkpoint "${ID}" is gone (its process died or was killed) but the checkpoint still says running; the next run resumes it\n`,
    );
  });

  it('stops on Ctrl+C with exit 130, and exits 3 for an unknown id', async () => {
    const dir = await tempDir();
    await writeCheckpoint(dir, ID, planned(1));
    const watch = startWatch(dir);
    await watch.waitForLines(1);
    watch.child.kill('SIGINT');
    expect(await watch.exit).toBe(130);
    expect(watch.stderr()).toContain('stopped watching (Ctrl+C); the job was not touched');

    const missing = await runCli(['watch', 'nope', '--dir', dir]);
    expect(missing.code).toBe(3);
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
    expect(result.stdout).toContain('25% | 1/4 units | 0 failed | interrupted');
    expect(result.stdout).toContain('█');
    expect(result.stdout).toContain(`2025-01-06 08:02:00Z ${ID} interrupted 25.0% (1/4 units)`);
  });
});
