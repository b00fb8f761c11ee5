// Store settings as people really write them: a .env file saved on Windows (CHECKPOINT_DIR ends
// with \r), quotes kept by Docker's --env-file, --dir=~/ck (bash expands no ~ after =), a space
// after DATABASE_URL. Each made a folder of that literal name in the working directory without a
// word, or went to the wrong database; each must be one usage line (exit 2) naming the variable
// or option and the cause, with nothing created and no connection string echoed.
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { postgresStore } from '@checkpointkit/storage-postgres';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { tempDir } from '../helpers/checkpoints.js';
import { runCli } from '../helpers/cli.js';

const SEED = fileURLToPath(
  new URL('../fixtures/seed-000/migration_checkpoint.json', import.meta.url),
);

describe('the folder of the file store', () => {
  it('migrate under CHECKPOINT_DIR=".checkpoints\\r" or with --dir=~/ck creates nothing', async () => {
    for (const { args, env, said } of [
      {
        args: [],
        env: { CHECKPOINT_DIR: '.checkpoints\r' },
        said: 'CHECKPOINT_DIR ends with a carriage return (a .env file saved with CRLF?): save it with LF line endings',
      },
      {
        args: [],
        env: { CHECKPOINT_DIR: '"./ck"' },
        said: "CHECKPOINT_DIR is wrapped in quotes, which were kept as part of the value (Docker's --env-file and systemd's Environment= keep them): remove them",
      },
      {
        args: ['--dir=~/ck'],
        env: {},
        said: '--dir starts with "~", which no shell expanded (bash leaves --dir=~/x as it is): write the full path or --dir ~/x as two words, or ./~ for a folder named ~',
      },
      {
        args: ['--out=~/ck'],
        env: {},
        said: '--out starts with "~", which no shell expanded (bash leaves --out=~/x as it is): write the full path or --out ~/x as two words, or ./~ for a folder named ~',
      },
    ]) {
      const root = await tempDir();
      const result = await runCli(['migrate', SEED, ...args], { cwd: root, env });
      expect(result, said).toEqual({
        code: 2,
        stdout: '',
        stderr: `checkpointkit: error: ${said}\n`,
      });
      // The folder `.checkpoints\r`, `"./ck"` or `~` was made here.
      expect(await readdir(root), said).toEqual([]);
    }
  });
});

describe('the store and the database from the environment', () => {
  it('CHECKPOINT_STORE with a carriage return, and DATABASE_URL quoted or with a trailing space, say why', async () => {
    const url = 'postgres://someone:s3cret-pw@127.0.0.1:1/jobs';
    for (const { env, said } of [
      {
        env: { CHECKPOINT_STORE: 'postgres\r', DATABASE_URL: url },
        said: 'CHECKPOINT_STORE ends with a carriage return (a .env file saved with CRLF?): save it with LF line endings',
      },
      {
        env: { CHECKPOINT_STORE: 'postgres', DATABASE_URL: `"${url}"` },
        said: "DATABASE_URL is wrapped in quotes, which were kept as part of the value (Docker's --env-file and systemd's Environment= keep them): remove them; the value is not shown",
      },
      {
        env: { CHECKPOINT_STORE: 'postgres', DATABASE_URL: `${url} ` },
        said: 'DATABASE_URL ends with a space: remove it; the value is not shown',
      },
    ]) {
      const result = await runCli(['ls'], { env });
      expect(result, said).toEqual({
        code: 2,
        stdout: '',
        stderr: `checkpointkit: error: ${said}\n`,
      });
    }
  });

  it('a DATABASE_URL ending with \\r (a CRLF .env file) reaches the database meant: pg drops it', async () => {
    const schema = `cli_env_${randomBytes(4).toString('hex')}`;
    onTestFinished(async () => {
      const store = postgresStore({
        connectionString: inject('databaseUrl'),
        schema,
        migrate: false,
      });
      await store.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await store.close();
    });
    const result = await runCli(['migrate', SEED, '--store', 'postgres', '--schema', schema], {
      env: { DATABASE_URL: `${inject('databaseUrl')}\r` },
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^migrated /);
  });
});
