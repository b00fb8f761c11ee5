import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { sampleChanges, tempDir, writeCheckpoint } from '../helpers/checkpoints.js';
import { hasEscapes, runCli, runInTerminal } from '../helpers/cli.js';

const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8'));

describe('checkpointkit usage', () => {
  it('prints help with the exit codes; without arguments it exits 2', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const verb of ['ls', 'show', 'reset-failed', 'reset', 'rm', 'migrate', 'watch']) {
      expect(help.stdout).toMatch(new RegExp(`^ {2}${verb} `, 'm'));
    }
    expect(help.stdout).toContain('4  locked by a running job (nothing changed)');
    expect(help.stdout).toContain('DATABASE_URL');
    const bare = await runCli([]);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toContain('Usage: checkpointkit');
  });

  it('prints its version', async () => {
    expect(await runCli(['--version'])).toEqual({
      code: 0,
      stdout: `${pkg.version}\n`,
      stderr: '',
    });
  });

  it('reports usage errors as one line with exit 2', async () => {
    const unknown = await runCli(['lss']);
    expect(unknown).toEqual({
      code: 2,
      stdout: '',
      stderr: "checkpointkit: error: unknown command 'lss' (Did you mean ls?)\n",
    });
    const option = await runCli(['ls', '--bogus']);
    expect(option.code).toBe(2);
    expect(option.stderr).toBe("checkpointkit: error: unknown option '--bogus'\n");
    const store = await runCli(['ls', '--store', 'mysql']);
    expect(store.code).toBe(2);
    expect(store.stderr.split('\n')).toHaveLength(2);
    expect(store.stderr).toContain("option '--store <kind>' argument 'mysql' is invalid");
    const noUrl = await runCli(['ls', '--store', 'postgres']);
    expect(noUrl).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'checkpointkit: error: --store postgres needs a connection string: pass --url or set DATABASE_URL\n',
    });
  });
});

describe('colours', () => {
  it('colours a terminal, and not with NO_COLOR or on a pipe', async () => {
    const dir = await tempDir();
    await writeCheckpoint(dir, 'job', sampleChanges('job'));
    const tty = await runInTerminal(['show', 'job', '--dir', dir]);
    expect(tty.code).toBe(0);
    expect(tty.stdout).toContain('\u001b[31mfailed\u001b[39m');

    for (const args of [['show', 'job'], ['ls']]) {
      const noColor = await runInTerminal([...args, '--dir', dir], { env: { NO_COLOR: '1' } });
      expect(noColor.code).toBe(0);
      expect(noColor.stdout).toContain('job');
      expect(hasEscapes(noColor.stdout)).toBe(false);
      const piped = await runCli([...args, '--dir', dir]);
      expect(hasEscapes(piped.stdout)).toBe(false);
      const forced = await runCli([...args, '--dir', dir], { env: { FORCE_COLOR: '1' } });
      expect(hasEscapes(forced.stdout)).toBe(true);
    }
  });

  it('keeps errors free of escape codes with NO_COLOR on a terminal', async () => {
    const result = await runInTerminal(['show', 'nope', '--dir', '.'], { env: { NO_COLOR: '1' } });
    expect(result.code).toBe(3);
    expect(result.stdout).toContain('checkpointkit: error: no checkpoint "nope"');
    expect(hasEscapes(result.stdout)).toBe(false);
  });
});
