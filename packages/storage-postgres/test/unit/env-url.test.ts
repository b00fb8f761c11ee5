/**
 * DATABASE_URL set the way people set it: in a `.env` file saved on Windows (a `\r` at the end),
 * with quotes that Docker's `--env-file` and systemd's `Environment=` keep, with a space after
 * it. The string holds a password: no message may echo it.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { PostgresStoreError, postgresStore } from '../../src/index.js';
import { describePool, makePool } from '../../src/pool.js';

const URL = 'postgres://someone:s3cret-pw@db.internal:5432/jobs';

/** What `postgresStore()` throws under `DATABASE_URL=value`, or its description. */
function openWith(value: string, asOption = false): unknown {
  const before = process.env['DATABASE_URL'];
  process.env['DATABASE_URL'] = value;
  try {
    const store = postgresStore(asOption ? { connectionString: value } : {});
    void store.close();
    return store.description;
  } catch (error) {
    return error;
  } finally {
    if (before === undefined) delete process.env['DATABASE_URL'];
    else process.env['DATABASE_URL'] = before;
  }
}

describe('DATABASE_URL spelled as nobody meant it', () => {
  for (const [value, cause] of [
    [`"${URL}"`, 'is wrapped in quotes'],
    [`'${URL}'`, 'is wrapped in quotes'],
    [`${URL}  `, 'ends with a space'],
    [`"${URL}"\r`, 'is wrapped in quotes'],
    [`${URL} \r`, 'ends with a space'],
    [`  ${URL}`, 'starts with a space'],
  ] as const) {
    it(`${JSON.stringify(value.replace('s3cret-pw', '...'))} is refused: it ${cause}, not echoed`, () => {
      for (const [asOption, where] of [
        [false, 'DATABASE_URL'],
        [true, 'connectionString'],
      ] as const) {
        const error = openWith(value, asOption);
        expect(error, String(error)).toBeInstanceOf(PostgresStoreError);
        expect((error as Error).message).toMatch(new RegExp(`^postgresStore: ${where} ${cause}`));
        expect((error as Error).message).not.toContain('s3cret-pw');
        expect((error as Error).message).not.toMatch(/[\r\n]/);
      }
    });
  }

  // pg reads the URL with the WHATWG parser, which drops a trailing \r (and tabs and line
  // breaks anywhere): the database is "jobs", as meant, so a CRLF .env file works as it is.
  it('a trailing carriage return or line break is dropped by pg itself: the database meant is used', () => {
    for (const end of ['\r', '\n', '\r\n']) {
      expect(openWith(`${URL}${end}`)).toBe('PostgreSQL store (schema "checkpointkit")');
      const pool = makePool({ connectionString: `${URL}${end}` });
      expect(describePool(pool)).toBe('db.internal:5432/jobs');
      void pool.end();
      const client = new pg.Client({ connectionString: `${URL}${end}` });
      expect([client.host, client.database, client.password]).toEqual([
        'db.internal',
        'jobs',
        's3cret-pw',
      ]);
    }
  });
});
