import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { journalFileName } from '@checkpointkit/storage-file';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint, sampleChanges, tempDir, writeCheckpoint } from '../helpers/checkpoints.js';
import { runCli, runInTerminal } from '../helpers/cli.js';

const ID = 'job:42';

async function sample(): Promise<string> {
  const dir = await tempDir();
  await writeCheckpoint(dir, ID, sampleChanges(ID));
  await writeCheckpoint(dir, 'other', sampleChanges('other'));
  return dir;
}

describe('checkpointkit rm', () => {
  it('deletes with --yes, leaving other checkpoints alone', async () => {
    const dir = await sample();
    const result = await runCli(['rm', ID, '--yes', '--dir', dir]);
    expect(result).toEqual({
      code: 0,
      stdout: `deleted checkpoint "${ID}" from file store at ${dir}\n`,
      stderr: '',
    });
    expect(await loadCheckpoint(dir, ID)).toBeNull();
    expect(await loadCheckpoint(dir, 'other')).not.toBeNull();
    expect((await readdir(dir)).filter((name) => name.startsWith('job'))).toEqual([]);
  });

  it('refuses without --yes when standard input is not a terminal (exit 2), deleting nothing', async () => {
    const dir = await sample();
    const result = await runCli(['rm', ID, '--dir', dir], { input: 'y\n' });
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'checkpointkit: error: rm asks for confirmation, but standard input is not a terminal: pass --yes (nothing was changed)\n',
    });
    expect(await loadCheckpoint(dir, ID)).not.toBeNull();
  });

  it('asks on a terminal: yes deletes, anything else keeps it (exit 1)', async () => {
    const dir = await sample();
    const no = await runInTerminal(['rm', ID, '--dir', dir], { input: 'n\r' });
    expect(no.stdout).toMatch(
      /delete checkpoint job:42 running 33\.3% \(2\/6 units, 2 failed\) from file store at .*\? \[y\/N\]/,
    );
    expect(no.stdout).toContain('cancelled: nothing was changed');
    expect(no.code).toBe(1);
    expect(await loadCheckpoint(dir, ID)).not.toBeNull();

    const yes = await runInTerminal(['rm', ID, '--dir', dir], { input: 'y\r' });
    expect(yes.stdout).toContain(`deleted checkpoint "${ID}"`);
    expect(yes.code).toBe(0);
    expect(await loadCheckpoint(dir, ID)).toBeNull();
  });

  it('exits 3 for an unknown id', async () => {
    const dir = await sample();
    const result = await runCli(['rm', 'nope', '--yes', '--dir', dir]);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(
      `checkpointkit: error: no checkpoint "nope" in file store at ${dir}\n`,
    );
  });

  it('deletes a damaged checkpoint too', async () => {
    const dir = await sample();
    const journal = join(dir, journalFileName(ID));
    await writeFile(journal, (await readFile(journal, 'utf8')).replace('"records"', '"recordz"'));
    expect((await runCli(['show', ID, '--dir', dir])).code).toBe(5);
    const result = await runCli(['rm', ID, '--yes', '--dir', dir]);
    expect(result).toMatchObject({
      code: 0,
      stdout: `deleted checkpoint "${ID}" from file store at ${dir}\n`,
    });
    expect(await readdir(dir)).not.toContain(journalFileName(ID));
  });
});
