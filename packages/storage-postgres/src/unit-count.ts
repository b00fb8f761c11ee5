import type pg from 'pg';
import { CheckpointDeletedError, UnitsDeletedError } from './errors.js';
import type { Tables } from './tables.js';

/*
 * Units deleted behind a run's back (a DBA's DELETE on the units table, or TRUNCATE) leave no
 * trace: claims find nothing left and a worker's finish() would mark the job completed. So the
 * checkpoint row keeps `unit_count`, the units rows the store itself wrote (each flush adds its
 * inserts and subtracts its own deletes in the same transaction; a reset sets 0), and a run that
 * holds the checkpoint compares it with the rows there (fewer: deleted) where it matters: when a
 * claim finds nothing free, when a save works on a unit whose row is missing or records the
 * run's status (finish, close), and when the run loads the checkpoint (a worker's finish).
 * Counting there, not on every statement, keeps flushes and claims at a fixed cost; a count kept
 * by the store's own writes, rather than DELETE and TRUNCATE triggers, cannot be bypassed by
 * disabling triggers and never takes the store's own deletes (reset, unit.removed, delete) for
 * a DBA's. Both numbers are read by one statement, so concurrent workers see them of the same
 * moment (a flush changes rows and count in one transaction). More rows than counted (an INSERT
 * by hand) are no loss, and not reported.
 */

/**
 * Throws {@link CheckpointDeletedError} when the checkpoint row is gone, and
 * {@link UnitsDeletedError} when fewer units rows are there than the store wrote. `doing` says
 * what the run was doing (`claiming units`, `saving`).
 */
export async function assertUnitsIntact(
  client: pg.ClientBase,
  t: Tables,
  id: string,
  cid: string,
  doing: string,
): Promise<void> {
  const result = await client.query<{ expected: string; found: string }>(
    `SELECT c.unit_count AS expected,
            (SELECT count(*) FROM ${t.units} u WHERE u.checkpoint = c.id) AS found
     FROM ${t.checkpoints} c WHERE c.id = $1`,
    [cid],
  );
  const row = result.rows[0];
  if (!row) throw new CheckpointDeletedError(id, doing, t.checkpoints);
  unitsDeleted(t, id, doing, Number(row.expected), Number(row.found));
}

/** Throws {@link UnitsDeletedError} when `found` units rows are fewer than the `expected`. */
export function unitsDeleted(
  t: Tables,
  id: string,
  doing: string,
  expected: number,
  found: number,
): void {
  if (found < expected) throw new UnitsDeletedError(id, t.name, doing, expected, found, t.units);
}

/**
 * A run that starts while no other runs the checkpoint takes its units as they are: the count
 * becomes the rows there, so that units deleted between runs (or while a run that then stopped
 * on it ran) are planned again and done again, instead of failing every later run. A worker
 * that joins while others run leaves it, so that they, and it, notice.
 */
export async function acceptUnits(client: pg.ClientBase, t: Tables, cid: string): Promise<void> {
  await client.query(
    `UPDATE ${t.checkpoints} c SET unit_count = n.found
     FROM (SELECT count(*) AS found FROM ${t.units} WHERE checkpoint = $1) n
     WHERE c.id = $1 AND c.unit_count <> n.found
       AND NOT EXISTS (SELECT 1 FROM ${t.sessions} WHERE checkpoint = $1 AND status = 'running')`,
    [cid],
  );
}
