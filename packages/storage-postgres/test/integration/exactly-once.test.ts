import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleChild, startChild } from '../children.js';
import { closeStores, databaseUrl, freshSchema, openStore, withDb } from '../helpers.js';

const UNITS = 10;
const PAGES = 80;
const SIZE = 5;
const KILLS = 50;

describe('exactly-once into PostgreSQL with a transactional sink', () => {
  let child: string;
  beforeAll(async () => {
    child = await bundleChild('exactly-once-child');
  });
  afterAll(closeStores);

  it(`survives ${KILLS} kill -9 at random moments: every item once, no gaps, no copies`, async () => {
    const schema = freshSchema('eo');
    const store = openStore(schema);
    await store.migrate();
    await withDb((db) =>
      db.query(`CREATE TABLE "${schema}".delivered (unit text NOT NULL, n integer NOT NULL)`),
    );
    const env = {
      DATABASE_URL: databaseUrl(),
      SCHEMA: schema,
      ID: 'import:exactly-once',
      UNITS: String(UNITS),
      PAGES: String(PAGES),
      SIZE: String(SIZE),
    };
    let kills = 0;
    while (kills < KILLS) {
      const started = startChild(child, env);
      // Let it commit a few pages, then kill it at a random moment (often inside a transaction).
      const printed = await started.waitForLines(1 + Math.floor(Math.random() * 5));
      if (!printed) {
        const { code, stderr } = await started.exited;
        throw new Error(`the job ended before it could be killed (exit ${code}): ${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 12));
      started.process.kill('SIGKILL');
      const exit = await started.exited;
      expect(exit.signal).toBe('SIGKILL');
      kills += 1;
    }
    const last = startChild(child, env);
    const exit = await last.exited;
    expect(exit.stderr).toBe('');
    expect(exit.code).toBe(0);
    expect(last.lines.at(-1)).toBe('done 0');

    const rows = await withDb((db) =>
      db.query<{ total: number; distinct_items: number; copies: number }>(
        `SELECT count(*)::int AS total,
                count(DISTINCT (unit, n))::int AS distinct_items,
                (SELECT count(*)::int FROM (SELECT 1 FROM "${schema}".delivered GROUP BY unit, n HAVING count(*) > 1) d) AS copies
         FROM "${schema}".delivered`,
      ),
    );
    expect(rows.rows[0]).toEqual({
      total: UNITS * PAGES * SIZE,
      distinct_items: UNITS * PAGES * SIZE,
      copies: 0,
    });
    const gaps = await withDb((db) =>
      db.query(
        `SELECT u.unit, g.n FROM (SELECT 'u' || i AS unit FROM generate_series(0, $1 - 1) i) u
         CROSS JOIN generate_series(0, $2 - 1) g(n)
         EXCEPT SELECT unit, n FROM "${schema}".delivered`,
        [UNITS, PAGES * SIZE],
      ),
    );
    expect(gaps.rows).toEqual([]);
    const checkpoint = await store.load('import:exactly-once');
    for (const unit of Object.values(checkpoint!.units)) {
      expect(unit).toMatchObject({ status: 'complete', done: PAGES * SIZE, cursor: PAGES });
    }
    expect(checkpoint!.status).toBe('completed');
    // Every start was recorded as a session; the killed ones are marked failed by the next start.
    const sessions = await store.sessions('import:exactly-once');
    expect(sessions).toHaveLength(KILLS + 1);
    expect(sessions.filter((s) => s.status === 'failed')).toHaveLength(KILLS);
    expect(sessions.at(-1)).toMatchObject({ status: 'completed', mode: 'exclusive' });
  });
});
