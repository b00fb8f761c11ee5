/**
 * Connection strings and environments the store did not make: SSL asked of a server without it,
 * wrong credentials, a port where nothing listens, passwords full of URL syntax (encoded and
 * not), unix sockets, IPv6, a password given only through PGPASSWORD. What no retry fixes fails
 * at once with a typed error naming the cause; what may pass is retried within the bound; the
 * password never shows in a message, a stack or a cause.
 *
 * On a server of this file's own: it asks every role but the superuser for a password
 * (scram-sha-256 in pg_hba.conf), which the shared test server does not.
 *
 * "At once" is checked by counting tries, not by the clock: stores get `retry.attempts: 2` and a
 * bound far above a test's time, so an error that were retried would end as a
 * DatabaseUnavailableError after two tries instead of the typed error asserted.
 */
import { createServer } from 'node:net';
import { inspect } from 'node:util';
import { openRun } from '@checkpointkit/core';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DatabaseRefusedError,
  DatabaseUnavailableError,
  type PostgresStore,
  PostgresStoreError,
  type PostgresStoreOptions,
  postgresStore,
  startTestCluster,
  type TestCluster,
} from '../../src/index.js';
import { freshSchema } from '../helpers.js';

const SECRET = 'Pw-4d2f-never-in-a-message';
/** A password with every character that means something in a URL, and a space. */
const SPECIAL = 'Sp3c!al@p:a/s#s%w?o&r=d [x]';
const ROLE = 'ck_stranger';
const SPECIAL_ROLE = 'ck_special';

let cluster: TestCluster;
const stores: PostgresStore[] = [];

beforeAll(async () => {
  cluster = await startTestCluster();
  // Passwords are checked for every role but the superuser (the tests' DBA). Written by the
  // server itself (COPY ... TO), so it works whether or not the tests run as root.
  const hba = [
    'local all postgres trust',
    'local all all scram-sha-256',
    'host all postgres 127.0.0.1/32 trust',
    'host all ck_ghost 127.0.0.1/32 trust',
    'host all all 127.0.0.1/32 scram-sha-256',
    'host all all ::1/128 scram-sha-256',
  ];
  await sql(
    `COPY (SELECT unnest(ARRAY[${hba.map(literal).join(', ')}])) TO ${literal(`${cluster.dir}/data/pg_hba.conf`)}`,
  );
  await sql('SELECT pg_reload_conf()');
  await sql(`CREATE ROLE ${ROLE} LOGIN PASSWORD ${literal(SECRET)}`);
  await sql(`CREATE ROLE ${SPECIAL_ROLE} LOGIN PASSWORD ${literal(SPECIAL)}`);
  await sql(`GRANT CREATE ON DATABASE postgres TO ${ROLE}, ${SPECIAL_ROLE}`);
  // The new rules reach the server's processes after pg_reload_conf() returns.
  while ((await passwordAsked()) === false) await new Promise((r) => setTimeout(r, 10));
});
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close().catch(() => {});
});
afterAll(async () => {
  await cluster?.stop();
});

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

async function sql(text: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: cluster.url });
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

/** Whether the server refuses the job role without its password yet. */
async function passwordAsked(): Promise<boolean> {
  const client = new pg.Client({
    connectionString: `postgres://${ROLE}:wrong@127.0.0.1:${cluster.port}/postgres`,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.end();
    return false;
  } catch {
    return true;
  }
}

/** `host:port` of the test server over TCP. */
const tcp = () => `127.0.0.1:${cluster.port}`;

/**
 * A store on `connectionString` that makes two tries at most, within a bound far above a test's
 * time: what it retries ends as a DatabaseUnavailableError after its second try.
 */
function store(connectionString: string, options: PostgresStoreOptions = {}): PostgresStore {
  const made = postgresStore({
    connectionString,
    schema: freshSchema('stranger'),
    maxConnections: 2,
    connectTimeoutMs: 2000,
    retry: { maxOutageMs: 60_000, attempts: 2 },
    ...options,
  });
  stores.push(made);
  return made;
}

/** What `store.migrate()` (the store's first use) threw, or null. */
const failure = (s: PostgresStore): Promise<unknown> =>
  s.migrate().then(
    () => null,
    (error: unknown) => error,
  );

/** What `make()` threw, or null. */
function thrown(make: () => unknown): unknown {
  try {
    make();
    return null;
  } catch (error) {
    return error;
  }
}

/**
 * Everything an error shows when logged (message, stack, every cause and field) lacks `secret`,
 * as given and percent-encoded.
 */
function expectNoSecret(error: unknown, secret = SECRET): void {
  expect(error).toBeInstanceOf(Error);
  for (const form of new Set([secret, encodeURIComponent(secret)])) {
    expect(inspect(error, { depth: 10 })).not.toContain(form);
    for (let e: unknown = error; e instanceof Error; e = e.cause) {
      expect(e.message).not.toContain(form);
      expect(String(e.stack)).not.toContain(form);
      expect(JSON.stringify(e)).not.toContain(form);
    }
  }
}

/** A TCP port of 127.0.0.1 where nothing listens. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('SSL asked of a server without it', () => {
  it.each(['require', 'verify-full', 'verify-ca', 'prefer'])(
    'sslmode=%s fails at once with a PostgresStoreError saying the server does not support SSL',
    async (mode) => {
      const s = store(`postgres://${ROLE}:${SECRET}@${tcp()}/postgres?sslmode=${mode}`);
      const error = await failure(s);
      expect(error).toBeInstanceOf(PostgresStoreError);
      expect(error).not.toBeInstanceOf(DatabaseUnavailableError);
      const message = (error as Error).message;
      expect(message).toContain(`on ${tcp()}/postgres`);
      expect(message).toContain('The server does not support SSL connections');
      // What to do about it: the setting that asked for SSL.
      expect(message).toContain('sslmode');
      expectNoSecret(error);
    },
  );

  it('the same from openRun on a store made with migrate: false (its first statement checks the ledger)', async () => {
    const s = store(`postgres://${ROLE}:${SECRET}@${tcp()}/postgres?sslmode=require`, {
      migrate: false,
    });
    const error = await openRun({ id: 'job', store: s, signals: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PostgresStoreError);
    expect(error).not.toBeInstanceOf(DatabaseUnavailableError);
    expect((error as Error).message).toMatch(
      /checking the migrations .*The server does not support SSL connections \(the connection string asks for SSL/,
    );
    expectNoSecret(error);
  });

  it('a certificate file named in the URL that does not exist is refused when the store is made, not retried', () => {
    const url = `postgres://${ROLE}:${SECRET}@${tcp()}/postgres?sslmode=verify-full&sslrootcert=/nonexistent/ck-ca.crt`;
    const error = thrown(() => store(url));
    expect(error).toBeInstanceOf(PostgresStoreError);
    expect((error as Error).message).toContain('/nonexistent/ck-ca.crt');
    expectNoSecret(error);
  });

  it('a certificate file that goes missing after the store was made fails at once, not as an outage', async () => {
    // Readable when the store is made, gone by its first connection: a file error no wait fixes.
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'ck-cert-'));
    const ca = join(dir, 'ca.crt');
    await writeFile(ca, 'not a certificate\n');
    const s = store(
      `postgres://${ROLE}:${SECRET}@${tcp()}/postgres?sslmode=verify-full&sslrootcert=${ca}`,
    );
    await rm(dir, { recursive: true });
    const error = await failure(s);
    expect(error).toBeInstanceOf(PostgresStoreError);
    expect(error).not.toBeInstanceOf(DatabaseUnavailableError);
    expect((error as Error).message).toContain(ca);
    expectNoSecret(error);
  });
});

describe('credentials the server refuses', () => {
  it('a wrong password: DatabaseRefusedError 28P01 at once, the password never shown', async () => {
    const wrong = `wrong-${SECRET}`;
    const error = await failure(store(`postgres://${ROLE}:${wrong}@${tcp()}/postgres`));
    expect(error).toBeInstanceOf(DatabaseRefusedError);
    expect(error).toMatchObject({ sqlstate: '28P01', storeUnavailable: true });
    expect((error as Error).message).toContain(`on ${tcp()}/postgres`);
    expect((error as Error).message).toContain(`password authentication failed for user "${ROLE}"`);
    expectNoSecret(error, wrong);
  });

  it('a role that does not exist: DatabaseRefusedError at once (28P01: the server does not say the role is missing)', async () => {
    const error = await failure(store(`postgres://ck_nobody:${SECRET}@${tcp()}/postgres`));
    expect(error).toBeInstanceOf(DatabaseRefusedError);
    expect(error).toMatchObject({ sqlstate: '28P01' });
    expect((error as Error).message).toContain(
      'password authentication failed for user "ck_nobody"',
    );
    expect((error as Error).message).toContain('or the role does not exist');
    expectNoSecret(error);
  });

  it('a role that does not exist where the server trusts the name: DatabaseRefusedError 28000 at once, naming it', async () => {
    // pg_hba.conf trusts ck_ghost, so the server gets as far as finding no such role.
    const error = await failure(store(`postgres://ck_ghost:${SECRET}@${tcp()}/postgres`));
    expect(error).toBeInstanceOf(DatabaseRefusedError);
    expect(error).toMatchObject({ sqlstate: '28000' });
    expect((error as Error).message).toContain('role "ck_ghost" does not exist');
    expectNoSecret(error);
  });

  it('a database that does not exist: DatabaseRefusedError 3D000 at once, naming it', async () => {
    const error = await failure(store(`postgres://${ROLE}:${SECRET}@${tcp()}/ck_nodb`));
    expect(error).toBeInstanceOf(DatabaseRefusedError);
    expect(error).toMatchObject({ sqlstate: '3D000' });
    expect((error as Error).message).toContain(`on ${tcp()}/ck_nodb`);
    expect((error as Error).message).toContain('database "ck_nodb" does not exist');
    expectNoSecret(error);
  });

  it('no password where the server asks for one: a PostgresStoreError at once that says so', async () => {
    const before = process.env['PGPASSWORD'];
    delete process.env['PGPASSWORD'];
    try {
      const error = await failure(store(`postgres://${ROLE}@${tcp()}/postgres`));
      expect(error).toBeInstanceOf(PostgresStoreError);
      expect(error).not.toBeInstanceOf(DatabaseUnavailableError);
      expect((error as Error).message).toContain(`on ${tcp()}/postgres`);
      expect((error as Error).message).toMatch(/asks for a password.*none was given.*PGPASSWORD/);
    } finally {
      if (before !== undefined) process.env['PGPASSWORD'] = before;
    }
  });
});

describe('nothing listening', () => {
  it('a port where nothing listens is retried, then DatabaseUnavailableError names host:port, not the password', async () => {
    const port = await deadPort();
    const s = store(`postgres://${ROLE}:${SECRET}@127.0.0.1:${port}/postgres`, {
      retry: { maxOutageMs: 300, maxDelayMs: 50 },
    });
    const error = await failure(s);
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    const down = error as DatabaseUnavailableError;
    // Retried: more than one try, ended by the bound.
    expect(down.tries).toBeGreaterThan(1);
    expect(down.elapsedMs).toBeGreaterThanOrEqual(300);
    expect(down.message).toContain(`on 127.0.0.1:${port}/postgres`);
    expect(down.message).toContain('retry.maxOutageMs is 300 ms');
    expect(down.message).toContain(`ECONNREFUSED 127.0.0.1:${port}`);
    expectNoSecret(error);
  });

  it('an IPv6 [::1] host the server does not listen on: retried like any refused connection, named as [::1]:port', async () => {
    const s = store(`postgres://${ROLE}:${SECRET}@[::1]:${cluster.port}/postgres`, {
      retry: { maxOutageMs: 300, maxDelayMs: 50 },
    });
    const error = await failure(s);
    // The test server listens on 127.0.0.1 only; where ::1 is no address at all the try fails
    // at once (EADDRNOTAVAIL), and is retried the same.
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect((error as DatabaseUnavailableError).tries).toBeGreaterThan(1);
    expect((error as Error).message).toContain(`on [::1]:${cluster.port}/postgres`);
    expectNoSecret(error);
  });
});

describe('passwords full of URL syntax', () => {
  it('works when the password is percent-encoded', async () => {
    const s = store(`postgres://${SPECIAL_ROLE}:${encodeURIComponent(SPECIAL)}@${tcp()}/postgres`);
    await s.migrate();
    const [row] = (await s.pool.query('SELECT current_user AS who')).rows;
    expect(row).toEqual({ who: SPECIAL_ROLE });
  });

  it('a wrong password full of URL syntax is refused by the server without showing it, encoded or not', async () => {
    const wrong = `${SPECIAL}-wrong`;
    const error = await failure(
      store(`postgres://${SPECIAL_ROLE}:${encodeURIComponent(wrong)}@${tcp()}/postgres`),
    );
    expect(error).toBeInstanceOf(DatabaseRefusedError);
    expect(error).toMatchObject({ sqlstate: '28P01' });
    expectNoSecret(error, wrong);
  });

  it.each([
    ['a raw "#"', 'ab#cd'],
    ['a raw "#" after digits (the URL would read them as a port)', '1234#cd'],
    ['a raw "/" after digits (the URL would read the rest as the database)', '1234/cd'],
    ['a raw "?" after digits', '1234?cd'],
    ['a raw "/"', 'ab/cd'],
  ])(
    'refuses %s in the password when the store is made, never echoing it, and connects nowhere',
    (_, password) => {
      const secret = `${password}-${SECRET}`;
      const error = thrown(() => store(`postgres://${SPECIAL_ROLE}:${secret}@${tcp()}/postgres`));
      expect(error).toBeInstanceOf(PostgresStoreError);
      expect((error as Error).message).toMatch(/percent-encode/);
      expectNoSecret(error, secret);
      // Not a single character of what may be the password, such as a port made of its digits.
      expect((error as Error).message).not.toContain(password.slice(0, 4));
    },
  );

  it('refuses a percent-encoding that does not decode (not UTF-8) when the store is made, never echoing it', () => {
    const secret = `%C3%28${SECRET}`;
    const error = thrown(() => store(`postgres://${ROLE}:${secret}@${tcp()}/postgres`));
    expect(error).toBeInstanceOf(PostgresStoreError);
    expect((error as Error).message).toMatch(/percent-encod/);
    expectNoSecret(error, secret);
    expectNoSecret(error);
  });
});

describe('unix sockets', () => {
  it.each([
    [
      '?host= (user and password in the query)',
      () =>
        `postgresql:///postgres?host=${cluster.dir}&port=${cluster.port}&user=${ROLE}&password=${SECRET}`,
    ],
    [
      '?host= (user and password before an empty host)',
      () => `postgresql://${ROLE}:${SECRET}@/postgres?host=${cluster.dir}&port=${cluster.port}`,
    ],
    [
      'a %2F host',
      () =>
        `postgresql://${ROLE}:${SECRET}@${encodeURIComponent(cluster.dir)}:${cluster.port}/postgres`,
    ],
  ])('connects through the socket directory given as %s', async (_, url) => {
    const s = store(url());
    await s.migrate();
    const [row] = (
      await s.pool.query(
        "SELECT current_user AS who, coalesce(inet_server_addr()::text, 'socket') AS via",
      )
    ).rows;
    expect(row).toEqual({ who: ROLE, via: 'socket' });
  });

  it('names the socket, not localhost:5432, when the server refuses the job there', async () => {
    const socket = `${cluster.dir}/.s.PGSQL.${cluster.port}`;
    const error = await failure(
      store(
        `postgresql://${ROLE}:wrong-${SECRET}@${encodeURIComponent(cluster.dir)}:${cluster.port}/postgres`,
      ),
    );
    expect(error).toBeInstanceOf(DatabaseRefusedError);
    expect((error as Error).message).toContain(`on unix socket ${socket}/postgres`);
    expect((error as Error).message).not.toContain('%2F');
    expect((error as Error).message).not.toContain('localhost');
    expectNoSecret(error, `wrong-${SECRET}`);
  });

  it('a socket directory that does not exist fails at once, naming the socket', async () => {
    const error = await failure(
      store(
        `postgresql://${ROLE}:${SECRET}@${encodeURIComponent('/nonexistent/ck-sockets')}:${cluster.port}/postgres`,
      ),
    );
    expect(error).toBeInstanceOf(PostgresStoreError);
    expect(error).not.toBeInstanceOf(DatabaseUnavailableError);
    expect((error as Error).message).toContain(
      `on unix socket /nonexistent/ck-sockets/.s.PGSQL.${cluster.port}/postgres`,
    );
    expect((error as Error).message).toMatch(/directory .*does not exist/);
    expectNoSecret(error);
  });
});

describe('a password given only through PGPASSWORD', () => {
  const withPassword = async (password: string, work: () => Promise<void>) => {
    const before = process.env['PGPASSWORD'];
    process.env['PGPASSWORD'] = password;
    try {
      await work();
    } finally {
      if (before === undefined) delete process.env['PGPASSWORD'];
      else process.env['PGPASSWORD'] = before;
    }
  };

  it('works', () =>
    withPassword(SECRET, async () => {
      const s = store(`postgres://${ROLE}@${tcp()}/postgres`);
      await s.migrate();
      const [row] = (await s.pool.query('SELECT current_user AS who')).rows;
      expect(row).toEqual({ who: ROLE });
    }));

  it('a wrong one is refused at once, and shows nowhere', () =>
    withPassword(`wrong-${SECRET}`, async () => {
      const error = await failure(store(`postgres://${ROLE}@${tcp()}/postgres`));
      expect(error).toBeInstanceOf(DatabaseRefusedError);
      expect(error).toMatchObject({ sqlstate: '28P01' });
      expectNoSecret(error, `wrong-${SECRET}`);
    }));

  it('never shows in a DatabaseUnavailableError either', () =>
    withPassword(SECRET, async () => {
      const port = await deadPort();
      const error = await failure(
        store(`postgres://${ROLE}@127.0.0.1:${port}/postgres`, {
          retry: { maxOutageMs: 200, maxDelayMs: 50 },
        }),
      );
      expect(error).toBeInstanceOf(DatabaseUnavailableError);
      expectNoSecret(error);
    }));
});
