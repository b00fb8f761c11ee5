import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileStore } from '@checkpointkit/storage-file';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadCheckpoint, sampleChanges, tempDir, writeCheckpoint } from '../helpers/checkpoints.js';
import { runCli } from '../helpers/cli.js';

const ID = 'github:acme/pulls';

async function sample(): Promise<string> {
  const dir = await tempDir();
  await writeCheckpoint(dir, ID, sampleChanges(ID));
  return dir;
}

describe('checkpointkit reset-failed', () => {
  it('puts every failed unit back to pending, keeping its cursor', async () => {
    const dir = await sample();
    const result = await runCli(['reset-failed', ID, '--dir', dir]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toBe(
      [
        `reset 2 failed units of "${ID}" to pending (they resume from their cursor)`,
        '  collect/acme/docs/pulls',
        '  collect/acme/web/issues',
        '',
      ].join('\n'),
    );
    const checkpoint = await loadCheckpoint(dir, ID);
    const docs = checkpoint!.units['collect/acme/docs/pulls']!;
    expect(docs).toMatchObject({ status: 'pending', error: null, cursor: 2, done: 200 });
    expect(checkpoint!.units['collect/acme/web/issues']!.status).toBe('pending');
    // Untouched: the other units.
    expect(checkpoint!.units['collect/acme/web/pulls']!.status).toBe('in_progress');
    const again = await runCli(['reset-failed', ID, '--dir', dir]);
    expect(again).toMatchObject({ code: 0, stdout: `no failed units to reset in "${ID}"\n` });
  });

  it('resets only retryable ones with --retryable-only, from scratch with --restart', async () => {
    const dir = await sample();
    const result = await runCli([
      'reset-failed',
      ID,
      '--dir',
      dir,
      '--retryable-only',
      '--restart',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('reset 1 failed unit of');
    const checkpoint = await loadCheckpoint(dir, ID);
    expect(checkpoint!.units['collect/acme/docs/pulls']).toMatchObject({
      status: 'pending',
      cursor: null,
      done: 0,
    });
    expect(checkpoint!.units['collect/acme/web/issues']!.status).toBe('failed');
  });

  it('exits 3 for an unknown checkpoint', async () => {
    const dir = await tempDir();
    const result = await runCli(['reset-failed', 'nope', '--dir', dir]);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(
      `checkpointkit: error: no checkpoint "nope" in file store at ${dir}\n`,
    );
  });
});

describe('checkpointkit reset', () => {
  it('starts one unit over, or resumes it with --keep-cursor', async () => {
    const dir = await sample();
    const over = await runCli(['reset', ID, 'collect/acme/web/pulls', '--dir', dir]);
    expect(over).toMatchObject({
      code: 0,
      stdout: `reset unit "collect/acme/web/pulls" of "${ID}" to pending (it starts over)\n`,
    });
    let checkpoint = await loadCheckpoint(dir, ID);
    expect(checkpoint!.units['collect/acme/web/pulls']).toMatchObject({
      status: 'pending',
      cursor: null,
      done: 0,
    });
    const keep = await runCli([
      'reset',
      ID,
      'collect/acme/docs/pulls',
      '--keep-cursor',
      '--dir',
      dir,
    ]);
    expect(keep.code).toBe(0);
    checkpoint = await loadCheckpoint(dir, ID);
    expect(checkpoint!.units['collect/acme/docs/pulls']).toMatchObject({
      status: 'pending',
      cursor: 2,
    });
  });

  it('resets every unit under a prefix with --prefix, and exits 3 for an unknown key', async () => {
    const dir = await sample();
    const missing = await runCli(['reset', ID, 'collect/acme/api', '--dir', dir]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toBe(
      `checkpointkit: error: checkpoint "${ID}" has no unit "collect/acme/api" (2 units lie below it: add --prefix to reset them)\n`,
    );
    const prefix = await runCli(['reset', ID, 'collect/acme/api', '--prefix', '--dir', dir]);
    expect(prefix.stdout).toBe(
      `reset 2 units under "collect/acme/api" of "${ID}" to pending (each starts over)\n`,
    );
    const checkpoint = await loadCheckpoint(dir, ID);
    expect(checkpoint!.units['collect/acme/api/pulls']!.status).toBe('pending');
    expect(checkpoint!.units['collect/acme/api/issues']!.status).toBe('pending');
  });

  it('exits 2 without the unit key', async () => {
    const result = await runCli(['reset', ID]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("checkpointkit: error: missing required argument 'unit-key'\n");
  });
});

describe('a checkpoint whose lock a running job holds', () => {
  it('is shown with its owner, and every edit is refused with exit 4 and nothing changed', async () => {
    const dir = await sample();
    const store = fileStore({ dir });
    const lock = await store.lock(ID);
    onTestFinished(async () => {
      await lock.release();
      await store.close?.();
    });
    const owner = `pid ${process.pid} on `;
    const before = await snapshotOf(dir);

    const shown = await runCli(['show', ID, '--dir', dir]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`status +running \\(locked by ${owner}.+ since .+\\)`));
    const listed = await runCli(['ls', dir]);
    expect(listed.stdout).toMatch(/running \(locked\)/);
    expect(JSON.parse((await runCli(['ls', dir, '--json'])).stdout)[0].lockedBy.pid).toBe(
      process.pid,
    );

    for (const args of [
      ['reset-failed', ID],
      ['reset', ID, 'collect/acme/web/pulls'],
      ['rm', ID, '--yes'],
    ]) {
      const result = await runCli([...args, '--dir', dir]);
      expect(result.code, args.join(' ')).toBe(4);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(
        new RegExp(
          `^checkpointkit: error: checkpoint "${ID}" is locked by ${owner}.*; it was not changed \\(stop the job first\\)\\n$`,
        ),
      );
    }
    expect(await snapshotOf(dir)).toEqual(before);
  });
});

/** Every file in the store directory with its bytes (lock directories as names only). */
async function snapshotOf(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    files[entry.name] = entry.isFile() ? await readFile(join(dir, entry.name), 'utf8') : '(dir)';
  }
  return files;
}
