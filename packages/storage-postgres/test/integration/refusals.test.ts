/**
 * What a DBA or a managed PostgreSQL does to a running job that is not a dropped connection: the
 * server goes read-only, privileges are revoked, a table is renamed or altered, statement_timeout
 * and lock_timeout cancel statements, another session holds ACCESS EXCLUSIVE locks on the store's
 * tables, idle transactions and sessions are ended, connections are limited, transactions are
 * serializable. The job goes on, or stops with a typed error that names the cause; no unit is
 * failed for what the server did, nothing acknowledged is lost, no row is written twice, and the
 * connection's password never shows in an error.
 *
 * On a server of this file's own: some cases change the server's configuration (ALTER SYSTEM).
 * The store connects as a role of its own (`ck_job`) whose settings the tests change.
 */
import { inspect } from 'node:util';
import {
  everyUnits,
  openRun,
  type PipelineEvent,
  type PipelineResult,
  pipeline,
  type Source,
} from '@checkpointkit/core';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DatabaseRefusedError,
  DatabaseUnavailableError,
  type PostgresStore,
  type PostgresStoreOptions,
  postgresStore,
  startTestCluster,
  type TestCluster,
  transactionalSink,
} from '../../src/index.js';
import { freshSchema } from '../helpers.js';

/** The job role's password: it must never show in an error (the server trusts, it is not checked). */
const SECRET = 'Pw-7c1e-never-in-a-message';
const ROLE = 'ck_job';

let cluster: TestCluster;
/** The job's URL: the job role, with its password. */
let jobUrl: string;
const stores: PostgresStore[] = [];

beforeAll(async () => {
  cluster = await startTestCluster();
  await sql(`CREATE ROLE ${ROLE} LOGIN PASSWORD '${SECRET}'`);
  await sql(`GRANT CREATE ON DATABASE postgres TO ${ROLE}`);
  jobUrl = cluster.url.replace('postgres@', `${ROLE}:${SECRET}@`);
});
afterEach(async () => {
  // Whatever a test did to the server, the next one starts from its defaults, and no store of
  // it holds connections of the role the next one limits.
  for (const store of stores.splice(0)) await store.close().catch(() => {});
  await setReadOnly('off');
  await sql(`ALTER ROLE ${ROLE} RESET ALL`);
  await sql(`ALTER ROLE ${ROLE} CONNECTION LIMIT -1`);
});
afterAll(async () => {
  await cluster?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `text` as the superuser (the DBA), on a connection of its own that is never read-only. */
async function sql<T extends pg.QueryResultRow>(text: string): Promise<T[]> {
  const client = new pg.Client({
    connectionString: cluster.url,
    options: '-c default_transaction_read_only=off',
  });
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

/**
 * Sets `default_transaction_read_only` for the whole server, as a managed server does when its
 * disk fills, and waits until new sessions see it (a reload reaches the server's processes
 * after pg_reload_conf() returns).
 */
async function setReadOnly(value: 'on' | 'off'): Promise<void> {
  await sql(
    value === 'on'
      ? 'ALTER SYSTEM SET default_transaction_read_only = on'
      : 'ALTER SYSTEM RESET default_transaction_read_only',
  );
  await sql('SELECT pg_reload_conf()');
  while ((await freshSetting('default_transaction_read_only')) !== value) await sleep(10);
}

/** A setting as a new session of the superuser, without options of its own, sees it. */
async function freshSetting(name: string): Promise<string> {
  const client = new pg.Client({ connectionString: cluster.url });
  client.on('error', () => {});
  await client.connect();
  try {
    const result = await client.query<{ value: string }>('SELECT current_setting($1) AS value', [
      name,
    ]);
    return result.rows[0]!.value;
  } finally {
    await client.end();
  }
}

/**
 * Takes ACCESS EXCLUSIVE locks on the store's tables from a session of its own, as a DBA's
 * `LOCK TABLE` or a long `ALTER TABLE` does, and holds them `ms`. Resolves once they are taken.
 */
async function lockTables(schema: string, ms: number): Promise<{ released: Promise<void> }> {
  const dba = new pg.Client({ connectionString: cluster.url });
  dba.on('error', () => {});
  await dba.connect();
  await dba.query('BEGIN');
  await dba.query(
    `LOCK TABLE "${schema}".checkpoints, "${schema}".units, "${schema}".flushes IN ACCESS EXCLUSIVE MODE`,
  );
  const released = (async () => {
    await sleep(ms);
    await dba.query('COMMIT');
    await dba.end();
  })();
  return { released };
}

/**
 * A DBA's change made while the job runs: started after the job's `afterPages`th page; the
 * job's pages after it wait until it is made, so the job cannot finish before it meets it.
 */
class DbaChange<T> {
  #pages = 0;
  #made: Promise<T> | undefined;
  constructor(
    readonly afterPages: number,
    readonly make: () => Promise<T>,
  ) {}

  /** Counts a page of the job; the change starts after the `afterPages`th. */
  page(): void {
    if (++this.#pages === this.afterPages) this.#made = this.make();
  }

  /** What the change gave, once made; resolves at once (to undefined) before it started. */
  made(): Promise<T | undefined> {
    return this.#made ?? Promise.resolve(undefined);
  }
}

function store(schema: string, options: PostgresStoreOptions = {}): PostgresStore {
  const made = postgresStore({ connectionString: jobUrl, schema, maxConnections: 4, ...options });
  stores.push(made);
  return made;
}

/** A store whose schema and `delivered` table (the exactly-once sink's) exist. */
async function storeWithSink(schema: string, options: PostgresStoreOptions = {}) {
  const made = store(schema, options);
  await made.migrate();
  await sql(
    `CREATE TABLE "${schema}".delivered (job text NOT NULL, unit text NOT NULL, n integer NOT NULL)`,
  );
  await sql(`GRANT ALL ON "${schema}".delivered TO ${ROLE}`);
  return made;
}

type Item = { unit: string; n: number };

/** `units` units of one page of two items each; a page is read once `before()` resolves. */
const pagesOf = (
  units: number,
  before: () => Promise<unknown> = () => Promise.resolve(),
): Source<Item> => ({
  units: () => Array.from({ length: units }, (_, i) => ({ key: `u${String(i).padStart(3, '0')}` })),
  async *read({ key }) {
    await before();
    yield { items: [0, 1].map((n) => ({ unit: key, n })), cursor: 1 };
  },
});

/**
 * The exactly-once sink: a page's rows, tagged with the checkpoint's id, commit with its cursor.
 * `idleMs`: waits that long first.
 */
const sinkInto = (schema: string, idleMs = 0) =>
  transactionalSink<Item>(async (client, items, { run }) => {
    if (idleMs > 0) await sleep(idleMs);
    await client.query(
      `INSERT INTO "${schema}".delivered (job, unit, n)
       SELECT $1, * FROM unnest($2::text[], $3::int[])`,
      [run.id, items.map((item) => item.unit), items.map((item) => item.n)],
    );
  });

/** A pipeline's onProgress that lists the units it failed, and counts pages for `change`. */
function watcher(change?: DbaChange<unknown>) {
  const failed: string[] = [];
  const onProgress = (event: PipelineEvent) => {
    if (event.type === 'page') change?.page();
    if (event.type === 'unit-failed') failed.push(`${event.key}: ${event.message}`);
  };
  return { failed, onProgress };
}

/**
 * Units of checkpoint `id` complete in the store; the sink's rows for it: all, distinct, and
 * those of units whose cursor the store has not saved.
 */
async function outcome(schema: string, id: string) {
  const [row] = await sql<{ complete: number; total: number; distinct: number; orphans: number }>(
    `WITH d AS (SELECT unit, n FROM "${schema}".delivered WHERE job = '${id}')
     SELECT (SELECT count(*)::int FROM "${schema}".units
              WHERE checkpoint = '${id}' AND status = 'complete') AS complete,
            (SELECT count(*)::int FROM d) AS total,
            (SELECT count(DISTINCT (unit, n))::int FROM d) AS distinct,
            (SELECT count(*)::int FROM d WHERE NOT EXISTS (
               SELECT 1 FROM "${schema}".units u
                WHERE u.checkpoint = '${id}' AND u.key = d.unit AND u.cursor IS NOT NULL)) AS orphans`,
  );
  return row!;
}

/** Every unit complete, each item written once. */
const allOnce = (units: number) => ({
  complete: units,
  total: units * 2,
  distinct: units * 2,
  orphans: 0,
});

/** The pipeline's rejection, or null when it resolved. */
const rejection = (running: Promise<PipelineResult>): Promise<unknown> =>
  running.then(
    () => null,
    (error: unknown) => error,
  );

/** Everything an error would show when logged: message, stack, causes and fields. */
function expectNoSecret(error: unknown): void {
  expect(inspect(error, { depth: 10 })).not.toContain(SECRET);
  expect(String((error as Error)?.message)).not.toContain(SECRET);
}

/** Opens an exclusive run of `id` and works `units` units into the sink: every item there once. */
async function finishJob(
  s: PostgresStore,
  schema: string,
  id: string,
  units: number,
  concurrency = 1,
) {
  const run = await openRun({ id, store: s, strategy: everyUnits(5), signals: false });
  const result = await pipeline({
    run,
    source: pagesOf(units),
    sink: sinkInto(schema),
    concurrency,
  });
  expect(result.summary.counts).toMatchObject({ complete: units, failed: 0 });
  await run.finish({ cleanup: false });
  expect(await outcome(schema, id)).toEqual(allOnce(units));
}

describe('the server refusing or stalling statements', () => {
  it('stops with DatabaseUnavailableError naming read-only when the server goes read-only mid-run; no unit failed, nothing lost; the next run goes on', async () => {
    const schema = freshSchema('ro');
    const s = await storeWithSink(schema, { retry: { maxOutageMs: 800 } });
    const id = 'job:read-only';
    const units = 30;
    const run = await openRun({ id, store: s, strategy: everyUnits(3), signals: false });
    // Every session of the server, the job's open ones too.
    const readOnly = new DbaChange(6, () => setReadOnly('on'));
    const { failed, onProgress } = watcher(readOnly);
    const error = await rejection(
      pipeline({
        run,
        source: pagesOf(units, () => readOnly.made()),
        sink: sinkInto(schema),
        concurrency: 2,
        onProgress,
      }),
    );
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect((error as Error).message).toMatch(/read-only transaction \(SQLSTATE 25006: .*read-only/);
    expectNoSecret(error);
    expect(failed).toEqual([]);
    expect(run.summary().counts.failed).toBe(0);
    // What the store acknowledged is all there: the rows of pages whose cursor it saved, once.
    const during = await outcome(schema, id);
    expect(during.orphans).toBe(0);
    expect(during.total).toBe(during.distinct);

    await setReadOnly('off');
    await run.close();
    await finishJob(s, schema, id, units);
  });

  it('refuses to open on a role set read-only, naming the cause within retry.maxOutageMs', async () => {
    await sql(`ALTER ROLE ${ROLE} SET default_transaction_read_only = on`);
    const bound = 500;
    const s = store(freshSchema('rorole'), { retry: { maxOutageMs: bound } });
    const started = Date.now();
    const error = await openRun({ id: 'job', store: s, signals: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect((error as Error).message).toMatch(/SQLSTATE 25006: .*read-only/);
    expect(Date.now() - started).toBeLessThan(bound + 3000);
    expectNoSecret(error);
  });

  const mistakes = [
    {
      what: 'INSERT and UPDATE on units revoked',
      code: '42501',
      shows: /permission denied for table units \(SQLSTATE 42501: .*needs USAGE on the schema/,
      make: (schema: string) => `REVOKE INSERT, UPDATE ON "${schema}".units FROM ${ROLE}`,
      undo: (schema: string) => `GRANT INSERT, UPDATE ON "${schema}".units TO ${ROLE}`,
    },
    {
      what: 'the flushes table renamed',
      code: '42P01',
      shows: /relation ".*\.flushes" does not exist \(SQLSTATE 42P01: .*migrations/,
      make: (schema: string) => `ALTER TABLE "${schema}".flushes RENAME TO flushes_old`,
      undo: (schema: string) => `ALTER TABLE "${schema}".flushes_old RENAME TO flushes`,
    },
    {
      what: 'a column of units renamed',
      code: '42703',
      shows: /column "cursor" .*does not exist \(SQLSTATE 42703: .*migrations/,
      make: (schema: string) => `ALTER TABLE "${schema}".units RENAME COLUMN cursor TO cursor_old`,
      undo: (schema: string) => `ALTER TABLE "${schema}".units RENAME COLUMN cursor_old TO cursor`,
    },
  ];

  it.each(mistakes)(
    'stops at once with DatabaseRefusedError ($code) when $what mid-run; no unit failed; the next run goes on once it is undone',
    async ({ code, shows, make, undo }) => {
      const schema = freshSchema('dba');
      // A bound far above the test's time: the refusal must not be retried.
      const s = await storeWithSink(schema, { retry: { maxOutageMs: 60_000 } });
      const id = 'job:dba';
      const units = 20;
      const run = await openRun({ id, store: s, strategy: everyUnits(3), signals: false });
      const mistake = new DbaChange(4, () => sql(make(schema)));
      const { failed, onProgress } = watcher(mistake);
      const started = Date.now();
      const error = await rejection(
        pipeline({
          run,
          source: pagesOf(units, () => mistake.made()),
          sink: sinkInto(schema),
          concurrency: 2,
          onProgress,
        }),
      );
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(error).toBeInstanceOf(DatabaseRefusedError);
      expect((error as DatabaseRefusedError).sqlstate).toBe(code);
      expect((error as Error).message).toMatch(shows);
      expect((error as Error).message).toContain(`schema "${schema}"`);
      expectNoSecret(error);
      expect(failed).toEqual([]);
      expect(run.summary().counts.failed).toBe(0);

      await sql(undo(schema));
      await run.close();
      await finishJob(s, schema, id, units);
    },
  );

  it('goes on through ACCESS EXCLUSIVE locks held past statementTimeoutMs (57014): every unit once, none failed', async () => {
    const schema = freshSchema('stmt');
    const s = await storeWithSink(schema, {
      statementTimeoutMs: 300,
      retry: { maxOutageMs: 10_000 },
    });
    const id = 'job:locked';
    const units = 30;
    const run = await openRun({ id, store: s, strategy: everyUnits(3), signals: false });
    const lock = new DbaChange(5, () => lockTables(schema, 1000));
    const { failed, onProgress } = watcher(lock);
    const result = await pipeline({
      run,
      source: pagesOf(units, () => lock.made()),
      sink: sinkInto(schema),
      concurrency: 2,
      onProgress,
    });
    await (await lock.made())?.released;
    expect(failed).toEqual([]);
    expect(result.summary.counts).toMatchObject({ complete: units, failed: 0 });
    await run.finish({ cleanup: false });
    expect(await outcome(schema, id)).toEqual(allOnce(units));
  });

  it('workers under a role lock_timeout (55P03) open, claim and flush through ACCESS EXCLUSIVE locks: every unit once, none failed', async () => {
    const schema = freshSchema('lockto');
    await storeWithSink(schema);
    await sql(`ALTER ROLE ${ROLE} SET lock_timeout = '50ms'`);
    const id = 'job:workers';
    const units = 60;
    // The workers open while a migration holds the tables, and meet a second lock mid-run.
    const atOpen = await lockTables(schema, 700);
    const midRun = new DbaChange(20, () => lockTables(schema, 700));
    const { failed, onProgress } = watcher(midRun);
    const worker = async (n: number) => {
      const run = await openRun({
        id,
        store: store(schema, { migrate: false, retry: { maxOutageMs: 10_000 } }),
        strategy: everyUnits(3),
        signals: false,
        worker: { id: `w${n}`, leaseMs: 5000 },
      });
      const result = await pipeline({
        run,
        source: pagesOf(units, () => midRun.made()),
        sink: sinkInto(schema),
        concurrency: 2,
        onProgress,
      });
      await run.finish();
      return result.completed;
    };
    const completed = await Promise.all([worker(0), worker(1)]);
    await atOpen.released;
    await (await midRun.made())?.released;
    expect(failed).toEqual([]);
    expect(completed[0]! + completed[1]!).toBe(units);
    expect(await outcome(schema, id)).toEqual(allOnce(units));
  });

  it('names idle_in_transaction_session_timeout (25P03) when the server ends a transaction its sink left idle', async () => {
    await sql(`ALTER ROLE ${ROLE} SET idle_in_transaction_session_timeout = 150`);
    const schema = freshSchema('idletx');
    const s = await storeWithSink(schema, { retry: { maxOutageMs: 800 } });
    const run = await openRun({ id: 'job:idle', store: s, signals: false });
    const { failed, onProgress } = watcher();
    const error = await rejection(
      pipeline({ run, source: pagesOf(3), sink: sinkInto(schema, 400), onProgress }),
    );
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect((error as Error).message).toMatch(
      /idle-in-transaction timeout \(SQLSTATE 25P03: .*idle_in_transaction_session_timeout/,
    );
    expectNoSecret(error);
    expect(failed).toEqual([]);
    expect((await outcome(schema, 'job:idle')).total).toBe(0);
    await run.close();
  });

  it("goes on when idle_session_timeout (57P05) ends its idle connections, the lock's among them", async () => {
    await sql(`ALTER ROLE ${ROLE} SET idle_session_timeout = 150`);
    const schema = freshSchema('idle');
    const s = await storeWithSink(schema);
    const id = 'job:idle-sessions';
    const run = await openRun({ id, store: s, strategy: everyUnits(1), signals: false });
    // Each page comes after the server ended every connection left idle (the lock's too).
    const result = await pipeline({
      run,
      source: pagesOf(4, () => sleep(300)),
      sink: sinkInto(schema),
    });
    expect(result.summary.counts).toMatchObject({ complete: 4, failed: 0 });
    await run.finish({ cleanup: false });
    expect(await outcome(schema, id)).toEqual(allOnce(4));
    const sessions = await s.sessions(id);
    expect(sessions.map((session) => session.status)).toEqual(['completed']);
  });

  it('names the connection limit when the role allows fewer connections than a run needs, within retry.maxOutageMs', async () => {
    await sql(`ALTER ROLE ${ROLE} CONNECTION LIMIT 1`);
    const bound = 500;
    const s = store(freshSchema('limit'), { retry: { maxOutageMs: bound } });
    const started = Date.now();
    const error = await openRun({ id: 'job', store: s, signals: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect((error as Error).message).toMatch(
      /too many connections for role "ck_job" \(SQLSTATE 53300: .*CONNECTION LIMIT.*maxConnections/,
    );
    expect(Date.now() - started).toBeLessThan(bound + 3000);
    expectNoSecret(error);
  });

  it('two runs sharing a store under a role limit below its pool size wait for connections, never fail a unit: every item once', async () => {
    const schema = freshSchema('fewer');
    await (await storeWithSink(schema)).close();
    // Each run holds one connection for its lock and needs one more at a time for its saves: the
    // pool of 4 asks for a fourth connection, which the server refuses (53300) until one is free.
    await sql(`ALTER ROLE ${ROLE} CONNECTION LIMIT 3`);
    const shared = store(schema, { retry: { maxOutageMs: 20_000 } });
    await Promise.all([
      finishJob(shared, schema, 'job:first', 30),
      finishJob(shared, schema, 'job:second', 30),
    ]);
  });

  it('workers whose role is set serializable retry serialization failures: every item once, none failed', async () => {
    const schema = freshSchema('serial');
    await storeWithSink(schema);
    await sql(`ALTER ROLE ${ROLE} SET default_transaction_isolation = serializable`);
    const id = 'job:serializable';
    const units = 150;
    const { failed, onProgress } = watcher();
    await Promise.all(
      [0, 1, 2].map(async (n) => {
        const run = await openRun({
          id,
          store: store(schema, { migrate: false }),
          strategy: everyUnits(5),
          signals: false,
          worker: { id: `w${n}`, leaseMs: 10_000 },
        });
        await pipeline({
          run,
          source: pagesOf(units),
          sink: sinkInto(schema),
          concurrency: 2,
          onProgress,
        });
        await run.finish();
      }),
    );
    expect(failed).toEqual([]);
    expect(await outcome(schema, id)).toEqual(allOnce(units));
  });
});
