/**
 * What a user sees for a wrong connection string or an unreachable host: an error that says what
 * was wrong and what the store was doing, never the string itself (it may hold a password), and
 * at once for what no retry fixes.
 */
import { openRun } from '@checkpointkit/core';
import { describe, expect, it } from 'vitest';
import { DatabaseUnavailableError, PostgresStoreError, postgresStore } from '../../src/index.js';

describe('connection strings', () => {
  it('refuses a string that is not a postgres:// URL, without echoing it', () => {
    for (const given of ['localhost', 'user:s3cret@db.internal/jobs', 'mysql://u:s3cret@h/db']) {
      let error: unknown;
      try {
        postgresStore({ connectionString: given });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(PostgresStoreError);
      expect((error as Error).message).toBe(
        'postgresStore: connectionString is not a postgres:// URL (expected postgres://user@host:5432/database)',
      );
      expect((error as Error).message).not.toContain('s3cret');
    }
  });

  it('names DATABASE_URL when the string came from there', () => {
    const before = process.env['DATABASE_URL'];
    process.env['DATABASE_URL'] = 'localhost';
    try {
      expect(() => postgresStore()).toThrow('postgresStore: DATABASE_URL is not a postgres:// URL');
    } finally {
      if (before === undefined) delete process.env['DATABASE_URL'];
      else process.env['DATABASE_URL'] = before;
    }
  });

  it('fails at once, naming what it did and where, for a host name that does not resolve', async () => {
    const store = postgresStore({
      connectionString: 'postgres://u:s3cret@nonexistent.invalid:5432/jobs',
      retry: { maxOutageMs: 500 },
    });
    try {
      const error = await openRun({ id: 'x', store, signals: false }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PostgresStoreError);
      const message = (error as Error).message;
      expect(message).toContain(
        'migrating schema "checkpointkit" on nonexistent.invalid:5432/jobs',
      );
      // A name that does not exist is not retried; a resolver that is down (EAI_AGAIN) may be.
      if (message.includes('ENOTFOUND')) {
        expect(error).not.toBeInstanceOf(DatabaseUnavailableError);
        expect(message).toBe(
          'postgresStore: migrating schema "checkpointkit" on nonexistent.invalid:5432/jobs: getaddrinfo ENOTFOUND nonexistent.invalid',
        );
      } else {
        expect(message).toContain('getaddrinfo EAI_AGAIN');
      }
      expect((error as Error).message).not.toContain('s3cret');
    } finally {
      await store.close();
    }
  });
});
