import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import {
  bundledMigrations,
  checksum,
  type Migration,
  MigrationError,
  migrate,
  postgresStore,
  SchemaNameError,
  SchemaNotMigratedError,
} from '../../src/index.js';
import { bundleChild, startChild } from '../children.js';
import { databaseUrl, dropSchema, freshSchema, withDb } from '../helpers.js';

const pools: pg.Pool[] = [];
const schemas: string[] = [];

function pool(): pg.Pool {
  const made = new pg.Pool({ connectionString: databaseUrl(), max: 2 });
  pools.push(made);
  return made;
}

function schema(): string {
  const name = freshSchema('mig');
  schemas.push(name);
  return name;
}

/** A migration that is not idempotent: it counts its own runs, so running it twice shows. */
const counting: Migration = {
  version: 900,
  name: '900_count_runs.sql',
  sql: `CREATE TABLE IF NOT EXISTS {{schema}}.runs (n integer);
        INSERT INTO {{schema}}.runs VALUES (1);`,
};

describe('migrations', () => {
  afterAll(async () => {
    for (const made of pools.splice(0)) await made.end();
    for (const name of schemas.splice(0)) await dropSchema(name);
  });

  it('started by 8 connections at once, apply exactly once', async () => {
    const name = schema();
    const migrations = [...(await bundledMigrations()), counting];
    const results = await Promise.all(
      Array.from({ length: 8 }, () => migrate({ pool: pool(), schema: name, migrations })),
    );
    const applied = results
      .map((result) => result.applied)
      .filter((versions) => versions.length > 0);
    expect(applied).toEqual([migrations.map((m) => m.version)]);
    await withDb(async (db) => {
      expect((await db.query(`SELECT count(*)::int AS n FROM "${name}".runs`)).rows[0].n).toBe(1);
      const recorded = await db.query(
        `SELECT version, name, checksum FROM "${name}".schema_migrations ORDER BY version`,
      );
      expect(recorded.rows).toEqual(
        migrations.map((m) => ({ version: m.version, name: m.name, checksum: checksum(m) })),
      );
    });
    // Again: nothing to do.
    expect(await migrate({ pool: pool(), schema: name, migrations })).toEqual({ applied: [] });
  });

  it('refuses a migration whose text changed after it was applied', async () => {
    const name = schema();
    await migrate({ pool: pool(), schema: name, migrations: [counting] });
    const edited = { ...counting, sql: `${counting.sql}\n-- edited` };
    const refused = await migrate({ pool: pool(), schema: name, migrations: [edited] }).catch(
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(MigrationError);
    expect((refused as Error).message).toContain('900_count_runs.sql');
    expect((refused as Error).message).toContain('changed after it was applied');
  });

  it('refuses a schema that a newer version of the package migrated, and changes nothing', async () => {
    // A rolling deploy: a new worker applied a migration this release does not know; an old
    // worker starts against the same schema. It must not write rows in the old shape.
    const name = schema();
    const bundled = await bundledMigrations();
    const newer: Migration = {
      version: 999,
      name: '999_from_the_future.sql',
      sql: 'ALTER TABLE {{schema}}.units ADD COLUMN IF NOT EXISTS future text;',
    };
    await migrate({ pool: pool(), schema: name, migrations: [...bundled, newer] });
    const before = await withDb((db) =>
      db.query(`SELECT version, checksum FROM "${name}".schema_migrations ORDER BY version`),
    );
    const refused = await migrate({ pool: pool(), schema: name }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(MigrationError);
    expect((refused as Error).message).toContain(`schema "${name}"`);
    expect((refused as Error).message).toContain('999_from_the_future.sql');
    expect((refused as Error).message).toContain('newer');
    const after = await withDb((db) =>
      db.query(`SELECT version, checksum FROM "${name}".schema_migrations ORDER BY version`),
    );
    expect(after.rows).toEqual(before.rows);
    // The store refuses too, before its first read, whether it migrates or was told not to.
    for (const migrateOption of [true, false]) {
      const store = postgresStore({
        connectionString: databaseUrl(),
        schema: name,
        migrate: migrateOption,
      });
      try {
        const error = await store.load('job').catch((e: unknown) => e);
        expect(error).toBeInstanceOf(MigrationError);
        expect((error as Error).message).toContain('999_from_the_future.sql');
      } finally {
        await store.close();
      }
    }
    expect(await migrate({ pool: pool(), schema: name, migrations: [...bundled, newer] })).toEqual({
      applied: [],
    });
  });

  it('with migrate: false, refuses a schema never migrated, naming the migration, and creates nothing', async () => {
    const name = schema();
    const store = postgresStore({ connectionString: databaseUrl(), schema: name, migrate: false });
    try {
      const error = await store.load('job').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SchemaNotMigratedError);
      expect(error).toMatchObject({
        schema: name,
        missing: ['001_initial.sql', '002_unit_count.sql'],
      });
      expect((error as Error).message).toContain('001_initial.sql');
      expect((error as Error).message).toContain('migrate: false');
      const found = await withDb((db) =>
        db.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [name]),
      );
      expect(found.rowCount).toBe(0);
      // Once migrated, the same store goes on.
      await migrate({ pool: pool(), schema: name });
      expect(await store.load('job')).toBeNull();
    } finally {
      await store.close();
    }
  });

  it('in a worker bundled into one file: refuses at once to migrate, naming the folder, and checks a migrated schema', async () => {
    const name = schema();
    const child = await bundleChild('bundled-load-child');
    const load = async (migrateOption: boolean) => {
      const started = startChild(child, {
        DATABASE_URL: databaseUrl(),
        SCHEMA: name,
        MIGRATE: String(migrateOption),
      });
      const exit = await started.exited;
      expect(exit).toMatchObject({ code: 0, stderr: '' });
      return JSON.parse(started.lines[0]!) as Record<string, unknown>;
    };
    // No migrations/ beside the bundle: a MigrationError, not 5 s of retries ending in
    // DatabaseUnavailableError.
    const refused = await load(true);
    expect(refused['name']).toBe('MigrationError');
    expect(refused['message']).toContain("the package's migrations folder cannot be read");
    expect(await load(false)).toMatchObject({ name: 'SchemaNotMigratedError' });
    await migrate({ pool: pool(), schema: name });
    expect(await load(false)).toEqual({ loaded: null });
  });

  it('runs each migration in a transaction: a failing one leaves nothing behind, and the lock is released', async () => {
    const name = schema();
    const broken: Migration = {
      version: 901,
      name: '901_broken.sql',
      sql: `CREATE TABLE {{schema}}.half (n integer); SELECT * FROM no_such_table;`,
    };
    const error = await migrate({
      pool: pool(),
      schema: name,
      migrations: [counting, broken],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toContain('901_broken.sql');
    await withDb(async (db) => {
      const tables = await db.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`,
        [name],
      );
      expect(tables.rows.map((row) => row.table_name)).toEqual(['runs', 'schema_migrations']);
    });
    // The advisory lock was released: the next run gets through.
    expect(await migrate({ pool: pool(), schema: name, migrations: [counting] })).toEqual({
      applied: [],
    });
  });

  it('ships idempotent SQL: each bundled file runs twice without error', async () => {
    const name = schema();
    const migrations = await bundledMigrations();
    expect(migrations.map((m) => m.version)).toEqual([1, 2]);
    await migrate({ pool: pool(), schema: name, migrations });
    await withDb(async (db) => {
      for (const migration of migrations)
        await db.query(migration.sql.replaceAll('{{schema}}', `"${name}"`));
      const tables = await db.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`,
        [name],
      );
      expect(tables.rows.map((row) => row.table_name)).toEqual([
        'checkpoints',
        'counters',
        'flushes',
        'id_maps',
        'schema_migrations',
        'sessions',
        'units',
      ]);
    });
  });

  it('keeps updated_at with a trigger', async () => {
    const name = schema();
    await migrate({ pool: pool(), schema: name });
    await withDb(async (db) => {
      await db.query(
        `INSERT INTO "${name}".checkpoints (id, status, created_at, changed_at, updated_at)
         VALUES ('x', 'running', now(), now(), '2000-01-01')`,
      );
      await db.query(`UPDATE "${name}".checkpoints SET status = 'completed' WHERE id = 'x'`);
      const row = await db.query(
        `SELECT updated_at > now() - interval '1 minute' AS fresh FROM "${name}".checkpoints`,
      );
      expect(row.rows[0].fresh).toBe(true);
    });
  });

  it("refuses a schema that holds an application's own tables named like the store's, before creating anything", async () => {
    const name = schema();
    await withDb(async (db) => {
      await db.query(`CREATE SCHEMA "${name}"`);
      await db.query(`CREATE TABLE "${name}".units (id serial PRIMARY KEY, title text)`);
    });
    const error = await migrate({ pool: pool(), schema: name }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toContain(
      `schema "${name}" already holds units, which CheckpointKit did not create`,
    );
    const tables = await withDb((db) =>
      db.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, [name]),
    );
    expect(tables.rows).toEqual([{ table_name: 'units' }]);
  });

  it('refuses the shared schemas public and information_schema', async () => {
    for (const name of ['public', 'information_schema', 'PUBLIC']) {
      await expect(migrate({ pool: pool(), schema: name })).rejects.toBeInstanceOf(SchemaNameError);
    }
  });

  it('works for a role that owns its schema but may not create schemas in the database', async () => {
    const name = schema();
    const role = `ck_role_${Math.random().toString(36).slice(2, 8)}`;
    await withDb(async (db) => {
      await db.query(`CREATE ROLE ${role} LOGIN`);
      await db.query(`CREATE SCHEMA "${name}" AUTHORIZATION ${role}`);
    });
    try {
      const url = new URL(databaseUrl());
      url.username = role;
      const limited = new pg.Pool({ connectionString: url.toString(), max: 2 });
      pools.push(limited);
      const denied = await limited.query(
        `SELECT has_database_privilege('postgres', 'CREATE') AS ok`,
      );
      expect(denied.rows[0]).toEqual({ ok: false });
      expect((await migrate({ pool: limited, schema: name })).applied.length).toBeGreaterThan(0);
      expect((await migrate({ pool: limited, schema: name })).applied).toEqual([]);
    } finally {
      await withDb(async (db) => {
        await db.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
        await db.query(`DROP ROLE IF EXISTS ${role}`);
      });
    }
  });
});
