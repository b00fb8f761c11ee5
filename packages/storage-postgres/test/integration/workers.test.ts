import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleChild, type Child, startChild } from '../children.js';
import { closeStores, databaseUrl, freshSchema, openStore } from '../helpers.js';

const UNITS = 20_000;
const WORKERS = 4;
// The worker killed with kill -9 (w0): its units come back to the others once its lease runs
// out. The others keep theirs by heartbeats (every third of the lease): long enough that a
// survivor stalled on a loaded machine does not lose a unit it is working on to another (it
// would then be written twice by the survivors, which this test rightly counts as a failure).
const VICTIM_LEASE_MS = 3000;
const LEASE_MS = 30_000;

async function lines(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean);
}

describe('worker processes sharing one checkpoint', () => {
  let child: string;
  let dir: string;
  beforeAll(async () => {
    child = await bundleChild('worker-child');
    dir = await mkdtemp(join(tmpdir(), 'checkpointkit-workers-'));
  });
  afterAll(async () => {
    await closeStores();
    await rm(dir, { recursive: true, force: true });
  });

  it(`${WORKERS} workers complete ${UNITS.toLocaleString('en')} units once each; a worker killed with kill -9 leaves units the others finish after its lease expires`, async () => {
    const schema = freshSchema('workers');
    const store = openStore(schema);
    await store.migrate();
    const id = 'crawl:shared';
    const workers: Child[] = [];
    for (let n = 0; n < WORKERS; n++) {
      workers.push(
        startChild(child, {
          DATABASE_URL: databaseUrl(),
          SCHEMA: schema,
          ID: id,
          UNITS: String(UNITS),
          WORKER: `w${n}`,
          LEASE_MS: String(n === 0 ? VICTIM_LEASE_MS : LEASE_MS),
          OUT: join(dir, `w${n}.txt`),
        }),
      );
    }
    const victim = workers[0]!;
    if (!(await victim.waitForLines(300))) {
      const exit = await victim.exited;
      throw new Error(
        `worker w0 ended before it could be killed (exit ${exit.code}): ${exit.stderr}`,
      );
    }
    victim.process.kill('SIGKILL');
    expect((await victim.exited).signal).toBe('SIGKILL');
    const exits = await Promise.all(workers.slice(1).map((worker) => worker.exited));
    for (const exit of exits) {
      if (exit.stderr) console.log(exit.stderr);
      expect(exit.stderr).toBe('');
      expect(exit.code).toBe(0);
    }

    const checkpoint = (await store.load(id))!;
    const units = Object.entries(checkpoint.units);
    expect(units).toHaveLength(UNITS);
    const open = units.filter(([, unit]) => unit.status !== 'complete');
    if (open.length) {
      console.log(JSON.stringify(open));
      const { withDb } = await import('../helpers.js');
      console.log(
        JSON.stringify(
          (
            await withDb((db) =>
              db.query(
                `select key, status, attempts, lease_owner, lease_expires_at, updated_at, now() from "${schema}".units where status <> 'complete'`,
              ),
            )
          ).rows,
        ),
      );
      console.log(
        JSON.stringify(
          (
            await withDb((db) =>
              db.query(
                `select session_id, worker, status, started_at, completed_at, heartbeat_at from "${schema}".sessions`,
              ),
            )
          ).rows,
        ),
      );
    }
    expect(open).toEqual([]);
    expect(checkpoint.status).toBe('completed');

    const survivors = (
      await Promise.all(workers.slice(1).map((_, n) => lines(join(dir, `w${n + 1}.txt`))))
    ).flat();
    const killed = await lines(join(dir, 'w0.txt'));
    // The survivors never worked a unit twice between them, and together with the acknowledged
    // work of the dead worker they cover every unit.
    expect(new Set(survivors).size).toBe(survivors.length);
    const covered = new Set([...survivors, ...killed]);
    expect(covered.size).toBe(UNITS);
    // Units the dead worker held when it died came back (attempts 2) and were done by another.
    const redone = units.filter(([, unit]) => unit.attempts === 2).map(([key]) => key);
    expect(redone.length).toBeGreaterThan(0);
    expect(units.every(([, unit]) => unit.attempts === 1 || unit.attempts === 2)).toBe(true);
    const survivorSet = new Set(survivors);
    for (const key of redone) expect(survivorSet.has(key)).toBe(true);
    // A unit done once (attempts 1) was delivered exactly once.
    const deliveries = new Map<string, number>();
    for (const key of [...survivors, ...killed])
      deliveries.set(key, (deliveries.get(key) ?? 0) + 1);
    for (const [key, unit] of units) if (unit.attempts === 1) expect(deliveries.get(key)).toBe(1);
    // The work was shared.
    for (let n = 1; n < WORKERS; n++)
      expect((await lines(join(dir, `w${n}.txt`))).length).toBeGreaterThan(0);

    const sessions = await store.sessions(id);
    expect(sessions).toHaveLength(WORKERS);
    expect(sessions.every((session) => session.mode === 'worker')).toBe(true);
    expect(sessions.filter((session) => session.status === 'completed')).toHaveLength(WORKERS - 1);
    const dead = sessions.find((session) => session.worker === 'w0')!;
    expect(dead.status).toBe('failed');
    expect(
      sessions.reduce((sum, session) => sum + session.unitsCompleted, 0),
    ).toBeGreaterThanOrEqual(UNITS);
  });
});
