import type pg from 'pg';

/** The server process of a connection (from its BackendKeyData), or null when unknown. */
export function backendOf(client: pg.PoolClient | null): number | null {
  const pid = (client as { processID?: unknown } | null)?.processID;
  return typeof pid === 'number' ? pid : null;
}

/**
 * The server processes holding the advisory lock of `key` now. A bigint advisory key shows in
 * pg_locks as its high and low 32 bits (classid, objid) with objsubid 1.
 */
export async function lockHolders(client: pg.PoolClient, key: string): Promise<number[]> {
  const found = await client.query<{ pid: number }>(
    `SELECT l.pid FROM pg_locks l, (SELECT hashtextextended($1, 0) AS k) h
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
        AND l.classid::bigint = (h.k >> 32) & 4294967295 AND l.objid::bigint = h.k & 4294967295`,
    [key],
  );
  return found.rows.map((row) => row.pid);
}
