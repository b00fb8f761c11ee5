import { randomBytes } from 'node:crypto';
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCheckpointJson } from '@checkpointkit/core';
import { type PostgresStore, postgresStore } from '@checkpointkit/storage-postgres';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { sampleChanges, tempDir } from '../helpers/checkpoints.js';
import { runCli } from '../helpers/cli.js';

const ID = 'github:acme/pulls';
const schema = `cli_test_${randomBytes(4).toString('hex')}`;
// The throwaway cluster trusts every connection, so a password in the URL is accepted and must
// never show up in any output.
const url = inject('databaseUrl').replace('postgres@', 'postgres:s3cret-pw@');
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

let store: PostgresStore;

beforeAll(async () => {
  store = postgresStore({ connectionString: inject('databaseUrl'), schema });
  await store.append(ID, sampleChanges(ID));
});

afterAll(async () => {
  await store.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await store.close();
});

/** Runs the CLI against the test schema; every output is checked for the password. */
async function cli(args: string[], env: Record<string, string> = {}) {
  const result = await runCli([...args, '--schema', schema], { env });
  expect(result.stdout + result.stderr).not.toContain('s3cret-pw');
  return result;
}

describe('--store postgres', () => {
  it('lists with --url, or with --store postgres and DATABASE_URL', async () => {
    const listed = await cli(['ls', '--url', url]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^github:acme\/pulls\s+running\s+33\.3%\s+2\/6\s+2\s+\d+d ago$/m);
    const withDir = await cli(['ls', 'some-dir', '--url', url]);
    expect(withDir).toMatchObject({
      code: 2,
      stderr: 'checkpointkit: error: ls some-dir: a directory applies to the file store only\n',
    });
    const json = await cli(['ls', '--json', '--store', 'postgres'], { DATABASE_URL: url });
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({ id: ID, total: 6, lockedBy: null }),
    ]);
  });

  it('shows a checkpoint with its failed units', async () => {
    const result = await cli(['show', ID, '--url', url]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ {2}status +running \(not locked\)$/m);
    expect(result.stdout).toContain('Failed units (2)');
    expect(result.stdout).toContain('    403 Forbidden: Resource not accessible by integration');
    expect(result.stdout).toMatch(/^ {2}source +.*postgres/im);
    const missing = await cli(['show', 'nope', '--url', url]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/^checkpointkit: error: no checkpoint "nope" in .*\n$/);
  });

  it('resets failed units and single units', async () => {
    const id = 'pg:reset';
    await store.append(id, sampleChanges(id));
    expect((await cli(['reset-failed', id, '--retryable-only', '--url', url])).code).toBe(0);
    expect((await store.load(id))!.units['collect/acme/docs/pulls']!.status).toBe('pending');
    expect((await store.load(id))!.units['collect/acme/web/issues']!.status).toBe('failed');
    expect((await cli(['reset', id, 'collect/acme/web/issues', '--url', url])).code).toBe(0);
    expect((await store.load(id))!.units['collect/acme/web/issues']!.status).toBe('pending');
  });

  it('shows a locked checkpoint with its owner and refuses to change it (exit 4)', async () => {
    const id = 'pg:locked';
    await store.append(id, sampleChanges(id));
    const lock = await store.lock(id);
    onTestFinished(() => lock.release());
    const shown = await cli(['show', id, '--url', url]);
    expect(shown.stdout).toMatch(
      new RegExp(`status +running \\(locked by pid ${process.pid} on .+ since .+\\)`),
    );
    for (const args of [
      ['reset-failed', id],
      ['rm', id, '--yes'],
    ]) {
      const result = await cli([...args, '--url', url]);
      expect(result.code).toBe(4);
      expect(result.stderr).toContain(`checkpoint "${id}" is locked by pid ${process.pid}`);
    }
    expect((await store.load(id))!.units['collect/acme/docs/pulls']!.status).toBe('failed');
  });

  it('migrates a seed file into the database, and deletes with rm --yes', async () => {
    const dir = await tempDir();
    const file = join(dir, 'migration_checkpoint.json');
    await copyFile(fixture('seed-000/migration_checkpoint.json'), file);
    const result = await cli(['migrate', file, '--id', 'pg:migrated', '--url', url]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^migrated .*migration_checkpoint\.json \(seed-000\/1\.0\) to checkpoint "pg:migrated" in /,
    );
    const expected = parseCheckpointJson(await readFile(file, 'utf8'), { file, id: 'pg:migrated' });
    expect(await store.load('pg:migrated')).toEqual(expected.checkpoint);
    expect((await cli(['migrate', file, '--id', 'pg:migrated', '--url', url])).code).toBe(6);

    const removed = await cli(['rm', 'pg:migrated', '--yes', '--url', url]);
    expect(removed.code).toBe(0);
    expect(await store.load('pg:migrated')).toBeNull();
  });

  it('watches a checkpoint until it stops running', async () => {
    const id = 'pg:done';
    await store.append(id, [
      ...sampleChanges(id).slice(0, -1),
      { type: 'status', at: '2025-01-06T09:00:00.000Z', status: 'completed' },
    ]);
    const result = await cli(['watch', id, '--url', url]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toBe(
      `2025-01-06 09:00:00Z ${id} completed 33.3% (2/6 units, 2 failed)\n`,
    );
  });

  it('creates nothing in a schema that holds no checkpoints (a mistyped --schema): exit 3 naming it', async () => {
    const typo = `${schema}_typo`;
    const schemaExists = async () =>
      (await store.pool.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [typo])).rowCount;
    for (const args of [['ls'], ['show', ID], ['reset-failed', ID], ['rm', ID, '--yes']]) {
      const result = await runCli([...args, '--url', url, '--schema', typo]);
      expect(result.stdout + result.stderr).not.toContain('s3cret-pw');
      expect(result.code).toBe(3);
      expect(result.stderr).toContain(`schema "${typo}"`);
      expect(result.stderr).toContain('--schema');
      expect(result.stderr.split('\n')).toHaveLength(2);
    }
    expect(await schemaExists()).toBe(0);
  });

  it('reports an unreachable server as one line (exit 1) without the password', async () => {
    const result = await cli(['ls', '--url', 'postgres://postgres:s3cret-pw@127.0.0.1:1/postgres']);
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n')).toHaveLength(2);
    expect(result.stderr).toMatch(
      new RegExp(
        `^checkpointkit: error: checking the migrations of schema "${schema}" on 127\\.0\\.0\\.1:1/postgres: gave up after \\d+ tries over \\d+\\.\\d s \\(retry\\.maxOutageMs is 3000 ms\\): .*ECONNREFUSED`,
      ),
    );
  });
});
