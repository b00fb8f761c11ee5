/**
 * What runs around a job rather than in it: deleting a checkpoint (`checkpointkit rm`, a
 * finish with cleanup), compacting, listing sessions, migrating at a worker's start, and closing
 * a run after the store gave up. These meet a DBA's locks and a busy schema like flushes do, and
 * must behave like flushes: retried within `retry.maxOutageMs`, then a typed error that says
 * what the store was doing and never shows the connection's password.
 *
 * On the shared test server: each test locks only tables of its own schema, and lock_timeout is
 * set per connection (the URL's `options`), never for the server or a role.
 */
import { openRun } from '@checkpointkit/core';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DatabaseRefusedError,
  DatabaseUnavailableError,
  type PostgresStore,
  type PostgresStoreOptions,
  postgresStore,
} from '../../src/index.js';
import { TRIES_WHEN_DOWN } from '../../src/retry.js';
import { databaseUrl, dropSchema, freshSchema, withDb } from '../helpers.js';

/** A password in the job's URL (the test server trusts, so it is not checked): never shown. */
const SECRET = 'Pw-3f9a-housekeeping-never-shown';

const stores: PostgresStore[] = [];
afterAll(async () => {
  for (const store of stores.splice(0)) {
    await store.close().catch(() => {});
    await dropSchema(store.schema);
  }
});

/** The server's URL with {@link SECRET} as password and, when given, a lock_timeout of its own. */
function jobUrl(lockTimeoutMs?: number): string {
  const url = new URL(databaseUrl());
  url.password = SECRET;
  if (lockTimeoutMs !== undefined) {
    url.searchParams.set('options', `-c lock_timeout=${lockTimeoutMs}`);
  }
  return url.toString();
}

function store(schema: string, options: PostgresStoreOptions = {}): PostgresStore {
  const made = postgresStore({
    connectionString: jobUrl(),
    schema,
    maxConnections: 4,
    ...options,
  });
  stores.push(made);
  return made;
}

/** A DBA's session holding a lock until `release()` (or `ms`, when given). */
interface HeldLock {
  release(): Promise<void>;
}

/**
 * Takes ACCESS EXCLUSIVE locks on `tables` of `schema` (a DBA's `LOCK TABLE`, a long `ALTER
 * TABLE`), or the advisory lock `advisory`, on a connection of its own; resolves once held.
 */
async function holdLock(
  schema: string,
  what: { tables?: string[]; advisory?: string },
  ms?: number,
): Promise<HeldLock> {
  const dba = new pg.Client({ connectionString: databaseUrl() });
  dba.on('error', () => {});
  await dba.connect();
  await dba.query('BEGIN');
  if (what.tables) {
    const names = what.tables.map((table) => `"${schema}".${table}`).join(', ');
    await dba.query(`LOCK TABLE ${names} IN ACCESS EXCLUSIVE MODE`);
  }
  if (what.advisory) {
    await dba.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [what.advisory]);
  }
  let released: Promise<void> | undefined;
  const release = () => {
    released ??= dba
      .query('COMMIT')
      .then(() => dba.end())
      .then(() => undefined);
    return released;
  };
  if (ms !== undefined) setTimeout(() => void release(), ms);
  return { release };
}

/** A checkpoint with one unit planned and saved, its run closed. */
async function savedCheckpoint(s: PostgresStore, id: string): Promise<void> {
  const run = await openRun({ id, store: s, signals: false });
  await run.plan(['a']);
  await run.close();
}

const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => null,
    (error: unknown) => error,
  );

describe('deleting, compacting and listing sessions', () => {
  it("wait out a DBA's lock held past statementTimeoutMs (57014) instead of failing with pg's error", async () => {
    const schema = freshSchema('hk_wait');
    const s = store(schema, { statementTimeoutMs: 100, retry: { maxOutageMs: 5000 } });
    const id = 'crawl:rm';
    await savedCheckpoint(s, id);

    let lock = await holdLock(schema, { tables: ['sessions'] }, 400);
    expect((await s.sessions(id)).map((session) => session.status)).toEqual(['stopped']);
    await lock.release();

    lock = await holdLock(schema, { tables: ['flushes'] }, 400);
    await s.compact(id);
    await lock.release();

    lock = await holdLock(schema, { tables: ['checkpoints'] }, 400);
    expect(await s.delete(id)).toBe(true);
    await lock.release();
    expect(await s.load(id)).toBeNull();
  });

  it('give up after retry.maxOutageMs with DatabaseUnavailableError naming what they did, never the password', async () => {
    const schema = freshSchema('hk_giveup');
    // The shortcut lasts the bound after the give-up: long enough here for the two operations
    // after it even on a loaded CI machine.
    const bound = 1000;
    const s = store(schema, { statementTimeoutMs: 100, retry: { maxOutageMs: bound } });
    const id = 'crawl:rm-late';
    await savedCheckpoint(s, id);
    const lock = await holdLock(schema, { tables: ['checkpoints', 'flushes', 'sessions'] });
    try {
      const errors = {
        delete: await rejection(s.delete(id)),
        compact: await rejection(s.compact(id)),
        sessions: await rejection(s.sessions(id)),
      };
      for (const [what, error] of Object.entries(errors)) {
        expect(error, what).toBeInstanceOf(DatabaseUnavailableError);
        expect((error as Error).message, what).toContain('SQLSTATE 57014');
        expect((error as Error).message, what).not.toContain(SECRET);
      }
      // The first waited out the bound (how many tries fit in it depends on the machine's load);
      // the store had given up then, so the others tried twice, and say why.
      expect((errors.delete as DatabaseUnavailableError).elapsedMs).toBeGreaterThanOrEqual(bound);
      expect((errors.delete as Error).message).not.toContain('already given up');
      for (const what of ['compact', 'sessions'] as const) {
        expect((errors[what] as DatabaseUnavailableError).tries, what).toBe(TRIES_WHEN_DOWN);
        expect((errors[what] as Error).message, what).toContain('already given up');
      }
      expect((errors.delete as Error).message).toContain(`deleting checkpoint "${id}"`);
      expect((errors.compact as Error).message).toContain(`compacting checkpoint "${id}"`);
      expect((errors.sessions as Error).message).toContain(`listing the sessions of "${id}"`);
    } finally {
      await lock.release();
    }
    expect(await s.delete(id)).toBe(true);
  });

  it('an operation that starts retry.maxOutageMs after the store gave up, with nothing reached since, waits out the bound in full again', async () => {
    const schema = freshSchema('hk_stale');
    const bound = 400;
    const id = 'crawl:stale';
    // Made by a store of ordinary bounds: migrating under 100 ms statements and a 400 ms bound
    // timed out (57014) on a loaded CI machine before the test began.
    await savedCheckpoint(store(schema), id);
    const s = store(schema, {
      migrate: false,
      statementTimeoutMs: 100,
      retry: { maxOutageMs: bound },
    });
    const lock = await holdLock(schema, { tables: ['checkpoints', 'flushes', 'sessions'] });
    try {
      const first = await rejection(s.compact(id));
      // Waited out the bound (how many tries fit in it depends on the machine's load).
      expect((first as DatabaseUnavailableError).elapsedMs).toBeGreaterThanOrEqual(bound);
      // What the store knew of the server is as old as the bound now: the server may be back
      // (and one of two tries lost to a connection the outage broke), so no shortcut.
      await new Promise((resolve) => setTimeout(resolve, bound + 100));
      const later = await rejection(s.sessions(id));
      expect(later).toBeInstanceOf(DatabaseUnavailableError);
      // No shortcut taken (the shortcut says so, and stops after TRIES_WHEN_DOWN tries however
      // short they were): the bound waited out in full.
      expect((later as Error).message).not.toContain('already given up');
      expect((later as DatabaseUnavailableError).elapsedMs).toBeGreaterThanOrEqual(bound);
    } finally {
      await lock.release();
    }
  });

  it('a table of the store renamed stops delete at once with DatabaseRefusedError (42P01)', async () => {
    const schema = freshSchema('hk_refused');
    const s = store(schema, { retry: { maxOutageMs: 10_000 } });
    const id = 'crawl:rm-refused';
    await savedCheckpoint(s, id);
    await withDb((db) => db.query(`ALTER TABLE "${schema}".flushes RENAME TO flushes_gone`));
    const error = await rejection(s.delete(id));
    expect(error).toBeInstanceOf(DatabaseRefusedError);
    expect((error as DatabaseRefusedError).sqlstate).toBe('42P01');
    expect((error as Error).message).toContain(`deleting checkpoint "${id}"`);
    expect((error as Error).message).not.toContain(SECRET);
  });
});

describe('migrating while another session holds a lock (a rolling deploy)', () => {
  it("a worker's start waits for a lock on a table its migration alters, under lock_timeout (55P03)", async () => {
    const schema = freshSchema('hk_migr');
    await store(schema).migrate();
    // A ledger that lacks 001 but is the store's: 001 runs again, as a new migration file of
    // a newer release would, and its DROP/CREATE TRIGGER need the checkpoints table's lock.
    await withDb(async (db) => {
      await db.query(`DELETE FROM "${schema}".schema_migrations`);
      await db.query(
        `INSERT INTO "${schema}".schema_migrations (version, name, checksum) VALUES (0, '000_stand_in.sql', '-')`,
      );
    });
    const worker = store(schema, {
      connectionString: jobUrl(50),
      retry: { maxOutageMs: 5000 },
    });
    const lock = await holdLock(schema, { tables: ['checkpoints'] }, 400);
    const run = await openRun({ id: 'crawl:deploy', store: worker, signals: false });
    await lock.release();
    await run.close();
    const ledger = await withDb((db) =>
      db.query<{ version: number }>(`SELECT version FROM "${schema}".schema_migrations`),
    );
    expect(ledger.rows.map((row) => row.version).sort()).toEqual([0, 1, 2]);
  });

  it('store.migrate() waits while another worker holds the migration lock, under lock_timeout (55P03)', async () => {
    const schema = freshSchema('hk_migl');
    const s = store(schema, { connectionString: jobUrl(50), retry: { maxOutageMs: 5000 } });
    const lock = await holdLock(schema, { advisory: `checkpointkit:migrate:${schema}` }, 400);
    expect(await s.migrate()).toEqual({ applied: [1, 2] });
    await lock.release();
  });
});

describe('closing a run after the store gave up', () => {
  it('close() makes a short last try instead of waiting out retry.maxOutageMs again; the unsaved changes stay reported', async () => {
    const schema = freshSchema('hk_close');
    const s = store(schema, { statementTimeoutMs: 100, retry: { maxOutageMs: 800 } });
    const id = 'crawl:gone';
    const run = await openRun({ id, store: s, signals: false });
    await run.plan(['a', 'b']);
    await run.flush('planned');
    const lock = await holdLock(schema, { tables: ['checkpoints', 'units', 'flushes'] });
    try {
      await run.count('after');
      const first = await rejection(run.flush('during'));
      expect(first).toBeInstanceOf(DatabaseUnavailableError);
      // Waited out the bound (how many tries fit in it depends on the machine's load).
      expect((first as DatabaseUnavailableError).elapsedMs).toBeGreaterThanOrEqual(800);
      expect((first as Error).message).not.toContain('already given up');

      const last = await rejection(run.close());
      expect(last).toBeInstanceOf(DatabaseUnavailableError);
      expect((last as DatabaseUnavailableError).tries).toBe(TRIES_WHEN_DOWN);
      expect((last as Error).message).toContain('already given up on the server');
      expect(run.closed).toBe(true);
      expect(run.unsaved).toBeGreaterThan(0);
    } finally {
      await lock.release();
    }
    // Once the server answers, the store retries in full again.
    const again = await openRun({ id, store: s, signals: false });
    expect(again.pending()).toEqual(['a', 'b']);
    await again.close();
  });
});
