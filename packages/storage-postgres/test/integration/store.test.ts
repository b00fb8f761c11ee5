import { always, type Change, everyUnits, openRun, replay, summarize } from '@checkpointkit/core';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresStore, SchemaNameError } from '../../src/index.js';
import { closeStores, databaseUrl, freshSchema, openStore, withDb } from '../helpers.js';

const HOSTILE = [
  `'; DROP TABLE units; --`,
  `"quoted" and 'single' and \`back\``,
  'semi;colon;',
  'nul\u0000inside',
  'lone \uD800 surrogate',
  '\uE000 starts with the marker',
  'ünïcødé 🚀 名前',
  '$1 $$ dollar $$',
  'back\\slash\\',
  '{"looks":"like json"}',
  'NULL',
  '',
];

describe('postgresStore', () => {
  afterAll(closeStores);

  it('rejects hostile schema names before any SQL runs, and quotes the ones it accepts', async () => {
    for (const schema of [
      'x"; DROP SCHEMA public CASCADE; --',
      'a b',
      'semi;colon',
      '1starts_with_digit',
      'pg_catalog',
      'PG_anything',
      '',
      'a'.repeat(64),
      'é'.repeat(32),
      'nul\u0000',
      'dash-ed',
    ]) {
      expect(() => postgresStore({ connectionString: databaseUrl(), schema })).toThrow(
        SchemaNameError,
      );
    }
    await withDb(async (db) => {
      const publicSchema = await db.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'public'`);
      expect(publicSchema.rowCount).toBe(1);
    });
    // Letters of any script are identifiers: such a schema works end to end.
    const unicode = `données_${freshSchema('u')}`;
    const store = openStore(unicode);
    const run = await openRun({ id: 'job:unicode', store, signals: false, strategy: always() });
    await run.plan(['a']);
    await run.close();
    expect(Object.keys((await store.load('job:unicode'))!.units)).toEqual(['a']);
    await withDb(async (db) => {
      const found = await db.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [unicode]);
      expect(found.rowCount).toBe(1);
    });
  });

  it('stores hostile ids, keys, names and values verbatim', async () => {
    const store = openStore(freshSchema('hostile'));
    const at = '2026-03-01T00:00:00.000Z';
    for (const [n, value] of HOSTILE.entries()) {
      const id = `${value}#${n}`;
      const key = value === '' ? 'empty/' : `${value}/k`;
      const log: Change[] = [
        { type: 'created', at, id, configDigest: value },
        { type: 'unit.planned', at, key, total: 3 },
        { type: 'unit.started', at, key },
        {
          type: 'unit.progressed',
          at,
          key,
          cursor: { [value]: [value, { nested: value }], n },
          done: 1,
        },
        { type: 'unit.failed', at, key, message: value, retryable: false },
        { type: 'id.mapped', map: value || 'm', source: value, target: value },
        { type: 'id.mapped', map: 'numbers', source: value, target: n },
        { type: 'counter.added', name: value || 'c', by: n + 0.5 },
        { type: 'meta.set', key: value || 'k', value: { value, list: [value, null, true] } },
        { type: 'saved', at, reason: value },
      ];
      await store.append(id, log);
      expect(await store.load(id)).toEqual(replay(null, log));
    }
    const listed = await openStore(store.schema).list();
    expect(listed.map((l) => l.id).sort()).toEqual(
      HOSTILE.map((value, n) => `${value}#${n}`).sort(),
    );
    await withDb(async (db) => {
      // The rows hold the text itself wherever PostgreSQL can hold it.
      const row = await db.query(`SELECT id FROM "${store.schema}".checkpoints WHERE id = $1`, [
        `${HOSTILE[0]}#0`,
      ]);
      expect(row.rowCount).toBe(1);
    });
  });

  it('keeps keys named like object internals as plain keys (no prototype pollution)', async () => {
    const store = openStore(freshSchema('proto'));
    const at = '2026-03-01T00:00:00.000Z';
    const id = 'job:proto';
    const log: Change[] = [{ type: 'created', at, id, configDigest: null }];
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      log.push(
        { type: 'unit.planned', at, key: name, total: 1 },
        { type: 'unit.progressed', at, key: name, cursor: { [name]: name }, done: 1 },
        { type: 'id.mapped', map: name, source: name, target: name },
        { type: 'counter.added', name, by: 2 },
        { type: 'meta.set', key: name, value: { [name]: 1 } },
      );
    }
    await store.append(id, log);
    const loaded = (await openStore(store.schema).load(id))!;
    expect(loaded).toEqual(replay(null, log));
    expect(Object.keys(loaded.units)).toEqual([
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
    ]);
    expect(Object.hasOwn(loaded.idMaps, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(loaded.units)).toBe(Object.prototype);
    // Nothing leaked into Object.prototype.
    expect({}.constructor).toBe(Object);
    expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain('status');
    const [listing] = await store.list();
    expect(Object.keys(listing!.summary.stats).sort()).toEqual([
      '__proto__',
      'constructor',
      'hasOwnProperty',
      'toString',
    ]);
  });

  it('flushes a batch of thousands of changes with a handful of statements', async () => {
    const statements: string[] = [];
    const pool = new pg.Pool({ connectionString: databaseUrl(), max: 2 });
    pool.on('connect', (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { query: (...args: unknown[]) => unknown }).query = (
        ...args: unknown[]
      ) => {
        statements.push(typeof args[0] === 'string' ? args[0] : 'query');
        return query(...args);
      };
    });
    const store = openStore(freshSchema('batch'), { pool });
    const id = 'job:batch';
    const at = '2026-03-01T00:00:00.000Z';
    await store.append(id, [{ type: 'created', at, id, configDigest: null }]);
    const changes: Change[] = [];
    for (let i = 0; i < 2000; i++) {
      changes.push({ type: 'unit.planned', at, key: `u/${i}`, total: 10 });
      changes.push({ type: 'unit.completed', at, key: `u/${i}`, done: 10 });
      changes.push({ type: 'id.mapped', map: 'rows', source: `s${i}`, target: i });
      changes.push({ type: 'counter.added', name: `c${i % 7}`, by: 1 });
    }
    changes.push({ type: 'saved', at, reason: 'batch' });
    statements.length = 0;
    await store.append(id, changes);
    // BEGIN, read+lock units, insert units, id maps, counters, checkpoint row, COMMIT.
    expect(statements.length).toBeLessThanOrEqual(8);
    statements.length = 0;
    const completions: Change[] = Array.from({ length: 2000 }, (_, i) => ({
      type: 'unit.progressed',
      at,
      key: `u/${i}`,
      cursor: i,
      done: 10,
    }));
    await store.append(id, completions);
    expect(statements.length).toBeLessThanOrEqual(6);
    expect(await store.load(id)).toEqual(
      replay(null, [{ type: 'created', at, id, configDigest: null }, ...changes, ...completions]),
    );
    await store.close();
    await pool.end();
  });

  it('lists summaries computed by the database, equal to those of the loaded checkpoints', async () => {
    const store = openStore(freshSchema('list'));
    const run = await openRun({ id: 'job:list', store, strategy: everyUnits(3), signals: false });
    await run.plan([{ key: 'a', total: 4 }, { key: 'b', total: 6 }, 'c']);
    await run.start('a');
    await run.progress('a', { cursor: 1, items: 2 });
    await run.complete('a', { items: 2 });
    await run.fail('b', new Error('boom'), { retryable: true });
    await run.count('requests', 5);
    await run.mapId('m', 's', 1);
    await run.close();
    const [listing] = await store.list();
    expect(listing!.summary).toEqual(summarize((await store.load('job:list'))!));
  });

  it('records a session per run: completed, stopped or failed, with counts and options', async () => {
    const store = openStore(freshSchema('sessions'), {
      sessionOptions: { directImport: true, output: null },
    });
    const first = await openRun({
      id: 'job:s',
      store,
      strategy: always(),
      signals: false,
      autoCleanup: false,
    });
    await first.plan(['a', 'b', 'c']);
    await first.start('a');
    await first.progress('a', { cursor: 1, items: 4 });
    await first.complete('a', { items: 1 });
    await first.close();
    const second = await openRun({ id: 'job:s', store, strategy: always(), signals: false });
    await second.start('b');
    await second.fail('b', new Error('HTTP 451'), { retryable: false });
    await second.close('failed');
    const third = await openRun({ id: 'job:s', store, strategy: always(), signals: false });
    await third.start('c');
    await third.complete('c', { items: 2 });
    await third.finish({ cleanup: true });
    const sessions = await store.sessions('job:s');
    expect(sessions.map((s) => s.status)).toEqual(['stopped', 'failed', 'completed']);
    expect(sessions[0]).toMatchObject({
      unitsCompleted: 1,
      unitsFailed: 0,
      itemsProcessed: 5,
      mode: 'exclusive',
    });
    expect(sessions[1]).toMatchObject({ unitsCompleted: 0, unitsFailed: 1, error: 'HTTP 451' });
    expect(sessions[2]).toMatchObject({ unitsCompleted: 1, itemsProcessed: 2 });
    for (const session of sessions) {
      expect(session.options).toEqual({ directImport: true, output: null });
      expect(session.pid).toBe(process.pid);
      expect(session.completedAt).not.toBeNull();
      expect(session.flushes).toBeGreaterThan(0);
    }
    // A unit failed, so finish kept the checkpoint; deleting it keeps its sessions.
    expect((await store.load('job:s'))?.status).toBe('completed');
    expect(await store.delete('job:s')).toBe(true);
    expect(await store.sessions()).toHaveLength(3);
  });
});
