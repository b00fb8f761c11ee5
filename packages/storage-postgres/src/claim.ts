import type { Change, ClaimRequest, ClaimResult } from '@checkpointkit/core';
import type pg from 'pg';
import { applyChanges } from './apply.js';
import { withClient } from './clients.js';
import { encodeText } from './codec.js';
import { commit, type WriteContext } from './commit.js';
import { keyFromRow, UNIT_COLUMNS, type UnitRow, unitFromRow } from './rows.js';
import { failWorkers } from './sessions.js';
import { assertUnitsIntact } from './unit-count.js';

/**
 * A unit a worker may claim: unfinished with no live lease, or failed when the claim retries
 * failures ($2: retry failed ones, $3: the non-retryable ones too, $4: only those failed before).
 */
const CLAIMABLE = `checkpoint = $1
  AND (lease_owner IS NULL OR lease_expires_at <= now())
  AND (status IN ('pending', 'in_progress')
       OR (status = 'failed' AND $2::bool
           AND ($3::bool OR (error ->> 'retryable')::bool)
           AND ($4::text IS NULL OR error ->> 'at' < $4)))`;

/** A unit another worker than `worker` (a placeholder) holds under a live lease. */
const leasedBy = (worker: string) => `lease_owner IS NOT NULL AND lease_owner <> ${worker}
  AND lease_expires_at > now() AND status IN ('pending', 'in_progress')`;

/**
 * Worker mode: claims up to `request.limit` free units (no live lease; failed ones too when asked)
 * in plan order with `FOR UPDATE SKIP LOCKED`, starts them under this worker's lease and marks the
 * workers whose leases expired as failed. Also tells how many units others hold, and until when.
 */
export async function claimFreeUnits(
  ctx: WriteContext,
  id: string,
  request: ClaimRequest,
): Promise<ClaimResult> {
  const { pool, t } = ctx;
  const worker = { id: request.worker, leaseMs: request.leaseMs };
  const cid = encodeText(id);
  const at = new Date().toISOString();
  /** Unfinished units other workers hold under a live lease, and the first expiry among them. */
  const leasedElsewhere = async (client: pg.ClientBase) => {
    const result = await client.query<{ n: number; next: Date | null }>(
      `SELECT count(*)::int AS n, min(lease_expires_at) AS next FROM ${t.units}
         WHERE checkpoint = $1 AND ${leasedBy('$2')}`,
      [cid, request.worker],
    );
    const row = result.rows[0];
    return { leasedElsewhere: row?.n ?? 0, nextExpiry: row?.next?.toISOString() ?? null };
  };
  /** The units this claim started (a try whose answer was lost may have committed them). */
  const startedHere = async (db: pg.Pool | pg.ClientBase) => {
    const rows = await db.query<UnitRow>(
      `SELECT ${UNIT_COLUMNS} FROM ${t.units}
         WHERE checkpoint = $1 AND lease_owner = $2 AND started_at = $3 ORDER BY seq`,
      [cid, request.worker, at],
    );
    return rows.rows.map((row) => ({ key: keyFromRow(row), unit: unitFromRow(row) }));
  };
  let tries = 0;
  const claimed = await commit(
    ctx,
    id,
    'claiming units',
    async (client, batchId) => {
      tries += 1;
      // Right after a large plan the table's statistics are stale, and the planner would sort
      // every open unit to pick a few: walk the (checkpoint, seq) index in order instead.
      await client.query('SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off');
      const claimableParams = [
        cid,
        request.retryFailed === true || request.retryFailed === 'retryable',
        request.retryFailed === true,
        request.failedBefore ?? null,
      ];
      const free = await client.query<{ key: string; lease_owner: string | null }>(
        `SELECT key, lease_owner FROM ${t.units} WHERE ${CLAIMABLE}
           ORDER BY seq
           LIMIT $5
           FOR UPDATE SKIP LOCKED`,
        [...claimableParams, request.limit],
      );
      await client.query('RESET enable_sort; RESET enable_bitmapscan');
      if (free.rows.length === 0) {
        // A try before this one committed, and its answer was lost with its connection: the
        // units it started are this worker's now, so none is free, and this try never reaches
        // the batch id that would tell (CI saw a worker told nothing was left, its units leased
        // to itself). They are this claim's.
        if (tries > 1) {
          const units = await startedHere(client);
          if (units.length > 0) return { units, others: await leasedElsewhere(client) };
        }
        // SKIP LOCKED passed over units that another worker's plan, claim or heartbeat has
        // locked but not yet committed: not free to us, but not done either. Counted as held
        // elsewhere, so this worker looks again soon instead of ending with work left. Counted
        // with the leases in one statement (one snapshot): counted apart, a heartbeat that
        // renewed an expired lease and committed between the two counts made the unit neither
        // leased (first count) nor claimable (second), and the claim reported nothing anywhere.
        const counts = await client.query<{ leased: number; next: Date | null; locked: number }>(
          `SELECT count(*) FILTER (WHERE ${leasedBy('$5')})::int AS leased,
                 min(lease_expires_at) FILTER (WHERE ${leasedBy('$5')}) AS next,
                 count(*) FILTER (WHERE ${CLAIMABLE})::int AS locked
             FROM ${t.units} WHERE checkpoint = $1`,
          [...claimableParams, request.worker],
        );
        const row = counts.rows[0];
        const locked = row?.locked ?? 0;
        const others = {
          leasedElsewhere: (row?.leased ?? 0) + locked,
          // Units locked meanwhile may be free again at once: look again soon.
          nextExpiry: locked > 0 ? new Date().toISOString() : (row?.next?.toISOString() ?? null),
        };
        // Nothing left anywhere: the job is done, or its units (or its checkpoint row) were
        // deleted under this worker, which must then stop instead of finishing as if done.
        // Counted only here, not on every poll while other workers hold units: a count of a
        // million units rows on each of them would cost more than the claim.
        if (others.leasedElsewhere === 0)
          await assertUnitsIntact(client, t, id, cid, 'claiming units');
        return { units: [], others };
      }
      const others = await leasedElsewhere(client);
      const keys = free.rows.map(keyFromRow);
      const expired = new Set(free.rows.map((row) => row.lease_owner));
      expired.delete(null);
      expired.delete(request.worker);
      if (expired.size > 0) await failWorkers(client, t, cid, [...expired] as string[]);
      const started: Change[] = keys.map((key) => ({ type: 'unit.started', at, key }));
      const result = await applyChanges(client, t, id, started, {
        batchId,
        worker,
        session: null,
        held: 'claiming units',
      });
      return { units: keys.map((key) => ({ key, unit: result.units.get(key)! })), others };
    },
    // The claim committed before its connection broke: its units are the ones it started.
    async () => ({
      units: await startedHere(pool),
      others: await withClient(pool, leasedElsewhere),
    }),
  );
  return { units: claimed.units, ...claimed.others };
}
