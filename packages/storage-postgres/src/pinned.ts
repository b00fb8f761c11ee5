import type pg from 'pg';

/*
 * Why a run's lock (and the migration lock) is taken on a connection that stays in a transaction.
 *
 * The store holds a run's claim on a checkpoint with a session-level advisory lock on a
 * connection of its own: the server drops it the moment that connection dies, so a crashed
 * process never blocks a checkpoint. Behind a transaction-pooling proxy (PgBouncer with
 * `pool_mode = transaction`, Supabase's pooler on port 6543, RDS Proxy when it does not pin) the
 * "connection" the store holds is the proxy's: after each transaction, and after each statement
 * outside one, the proxy hands the server backend, and the lock on it, to another client. Another
 * job's `pg_try_advisory_lock` that lands there succeeds (advisory locks are re-entrant within a
 * session), an unlock that lands elsewhere fails and leaves the lock on a pooled backend, and a
 * heartbeat may look at a backend that does not hold it: two runs both believe they own the
 * checkpoint. The tests saw exactly that (test/integration/poolers.test.ts).
 *
 * Detecting such a proxy cannot be made reliable: a check that the backend pid stays the same
 * passes whenever the proxy happens to hand the same backend back (at low load, always), and the
 * proxy's own cancel key says only that some proxy is there, not how it pools. What every pooling
 * mode that allows transactions does guarantee is that a client keeps its server backend for as
 * long as it is inside a transaction. So the connection that holds the lock never leaves one: it
 * begins a transaction before it takes the lock, commits its own writes (the session row,
 * heartbeats, the end of the run) with `COMMIT AND CHAIN`, which starts the next transaction at
 * once (the proxy sees the connection stay in a transaction and keeps it on the same backend),
 * unlocks while still inside one, and only then ends it. The lock stays session-level, so a
 * heartbeat rolled back (`ROLLBACK AND CHAIN`) keeps it, and it goes when the connection dies, as
 * before. This holds on a direct connection, behind session pooling and behind transaction
 * pooling alike, without trusting any detection; statement pooling refuses transactions, and
 * the store refuses it when the first one is refused (see src/pooler.ts).
 *
 * What it costs: the lock's connection shows as `idle in transaction` in pg_stat_activity for the
 * run's life (it took a server connection for that long before too). Each transaction is READ
 * COMMITTED and writes nothing while idle, so it holds no snapshot and no row lock that would
 * keep VACUUM back or block others; the store turns `idle_in_transaction_session_timeout` off on
 * that connection only (the setting is there to end forgotten transactions, and this one is
 * deliberate). Behind transaction pooling each open run keeps one of the pool's server
 * connections for its life (the pool must be larger than the runs open at once against one
 * database and user, or the other statements wait for a server), and a pooler's own
 * `idle_transaction_timeout` must be off (PgBouncer's default) or longer than the heartbeat.
 * The alternative, a lease row renewed by heartbeats, would survive any pooling without pinning
 * a connection, but a crashed run would then block its checkpoint until its lease ran out,
 * instead of until the server noticed its connection close; the store keeps the prompt takeover.
 */

/**
 * Begins the transaction that a lock's connection stays in (READ COMMITTED, whatever the
 * server's default: a repeatable-read one would hold its snapshot for the run's life) and turns
 * off `idle_in_transaction_session_timeout` for this connection. Returns the server process the
 * connection is on, as the server says (a proxy's cancel key holds a pid of its own).
 */
export async function beginPinned(client: pg.ClientBase): Promise<number> {
  await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
  const row = await client.query<{ pid: number }>(
    "SELECT set_config('idle_in_transaction_session_timeout', '0', false), pg_backend_pid() AS pid",
  );
  return row.rows[0]!.pid;
}

/** Commits what the pinned connection wrote and begins the next transaction at once. */
export async function commitPinned(client: pg.ClientBase): Promise<void> {
  await client.query('COMMIT AND CHAIN');
}

/** Rolls back a pinned connection's failed transaction, staying in one (the lock stays). */
export async function rollbackPinned(client: pg.ClientBase): Promise<void> {
  await client.query('ROLLBACK AND CHAIN');
}

/**
 * Ends the pinned connection's transaction (after its lock was released), so that it goes back
 * to the pool as any other: the idle timeout is reset to the server's setting first.
 */
export async function endPinned(client: pg.ClientBase): Promise<void> {
  await client.query('RESET idle_in_transaction_session_timeout');
  await client.query('COMMIT');
}
