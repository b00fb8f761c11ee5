/**
 * Workers paused longer than their lease (SIGSTOP: a debugger, a laptop lid, a long GC, a VM
 * migrated) while the others go on: the others take the paused worker's units over when its
 * leases expire, and the paused one wakes up in the middle of pages of units that are no longer
 * its own. Its page transactions must not commit those rows, and it must not stop for that: it
 * lets those units go and works on. Every item is delivered once and every worker ends cleanly.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { bundleChild, type Child, startChild } from '../children.js';
import { closeStores, databaseUrl, freshSchema, openStore, withDb } from '../helpers.js';

const WORKERS = 3;
const UNITS = 600;
/** How long reading a page takes: a crawl waits on its API, and pauses land mid-page. */
const PAGE_MS = 40;
const PAGES = 4;
const LEASE_MS = 600;
const PAUSES = 4;

afterAll(closeStores);

/** What the job left in the database. */
async function outcome(schema: string, id: string) {
  return withDb(async (client) => {
    const units = await client.query(
      `SELECT count(*) FILTER (WHERE status = 'complete')::int AS complete,
              count(*) FILTER (WHERE status <> 'complete')::int AS other,
              count(*) FILTER (WHERE lease_owner IS NOT NULL)::int AS leased
       FROM "${schema}".units WHERE checkpoint = $1`,
      [id],
    );
    const rows = await client.query(
      `SELECT count(*)::int AS total, count(DISTINCT (unit, n))::int AS distinct_items
       FROM "${schema}".delivered`,
    );
    const sessions = await client.query(
      `SELECT count(*) FILTER (WHERE status = 'running')::int AS running
       FROM "${schema}".sessions WHERE checkpoint = $1`,
      [id],
    );
    return { ...units.rows[0], ...rows.rows[0], ...sessions.rows[0] };
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const alive = (child: Child) =>
  child.process.exitCode === null && child.process.signalCode === null;

describe('workers paused longer than their lease', () => {
  it(`${WORKERS} worker processes with the exactly-once sink finish ${UNITS} units of ${PAGES} pages while ${PAUSES} times one of them is paused for 4 leases: every item once, every worker ends cleanly`, async () => {
    const child = await bundleChild('outage-worker-child');
    const schema = freshSchema('paused');
    await openStore(schema).migrate();
    await withDb((client) =>
      client.query(`CREATE TABLE "${schema}".delivered (unit text NOT NULL, n integer NOT NULL)`),
    );
    const id = 'crawl:paused';
    const workers = Array.from({ length: WORKERS }, (_, n) =>
      startChild(child, {
        DATABASE_URL: databaseUrl(),
        SCHEMA: schema,
        ID: id,
        UNITS: String(UNITS),
        PAGES: String(PAGES),
        LEASE_MS: String(LEASE_MS),
        PAGE_MS: String(PAGE_MS),
        WORKER: `w${n}`,
        APP: `ck-paused-${n}`,
      }),
    );
    const pages = () =>
      workers.reduce((sum, w) => sum + w.lines.filter((l) => l === 'page').length, 0);
    const all = UNITS * PAGES;
    const paused: string[] = [];
    for (let round = 1; round <= PAUSES; round++) {
      // Each pause after another sixth of the pages: all of them hit a running job.
      while (workers.some(alive) && pages() < (round * all) / (PAUSES + 2)) await sleep(10);
      const worker = workers[(round - 1) % WORKERS]!;
      if (!alive(worker)) break;
      worker.process.kill('SIGSTOP');
      paused.push(`w${(round - 1) % WORKERS}`);
      await sleep(LEASE_MS * 4);
      worker.process.kill('SIGCONT');
    }
    const exits = await Promise.all(workers.map((w) => w.exited));
    for (const exit of exits) expect(exit).toEqual({ code: 0, signal: null, stderr: '' });
    expect(paused).toHaveLength(PAUSES);
    // The pauses did catch workers in the middle of units the others then took over.
    const takenOver = workers.flatMap((w) => w.lines.filter((l) => l === 'taken-over'));
    expect(takenOver.length).toBeGreaterThan(0);
    expect(await outcome(schema, id)).toEqual({
      complete: UNITS,
      other: 0,
      leased: 0,
      total: all * 2,
      distinct_items: all * 2,
      running: 0,
    });
  });
});
