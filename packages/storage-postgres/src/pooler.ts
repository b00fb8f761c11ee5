import { ConnectionPoolerError } from './errors.js';

/**
 * What PgBouncer answers when the client begins a transaction under `pool_mode = statement`
 * (SQLSTATE 08P01, as a protocol violation): the store's saves and a run's lock need one.
 */
const STATEMENT_POOLING = /transaction blocks not allowed in statement pooling mode/i;
/** What PgBouncer answers to a startup parameter it neither knows nor was told to ignore. */
const STARTUP_PARAMETER = /unsupported startup parameter:\s*"?([\w.]+)/i;

/**
 * Whether `error` is a pooler's refusal that no retry fixes. Its SQLSTATE (08P01) reads like a
 * broken connection, so without this the store would retry it for `retry.maxOutageMs` and then
 * report the database as unavailable.
 */
export function isPoolerRefusal(error: unknown): boolean {
  const message = error instanceof Error ? error.message : '';
  return STATEMENT_POOLING.test(message) || STARTUP_PARAMETER.test(message);
}

/**
 * A pooler's refusal as a {@link ConnectionPoolerError} naming the cause and the fix, or
 * undefined for any other error. `endpoint`: `host:port/database`, never the connection string.
 */
export function poolerError(error: unknown, endpoint: string): ConnectionPoolerError | undefined {
  const message = error instanceof Error ? error.message : '';
  if (STATEMENT_POOLING.test(message)) {
    return new ConnectionPoolerError(
      endpoint,
      'statement-pooling',
      `postgresStore: ${endpoint}: the connection goes through a statement-pooling proxy (PgBouncer pool_mode = statement), which refuses transactions: every save of the store is a transaction, and a run holds its checkpoint's lock inside one. Connect through session or transaction pooling (PgBouncer pool_mode = session or transaction; Supabase's transaction pooler on port 6543 works) or directly to the server`,
      { cause: error },
    );
  }
  const parameter = STARTUP_PARAMETER.exec(message)?.[1];
  if (parameter !== undefined) {
    const ours = parameter === 'statement_timeout';
    return new ConnectionPoolerError(
      endpoint,
      'startup-parameter',
      `postgresStore: ${endpoint}: the connection goes through a pooler (PgBouncer) that refuses the startup parameter ${parameter}${ours ? ', which the store sends to bound its statements (statementTimeoutMs, 60 s by default)' : ''}: add it to the pooler's ignore_startup_parameters (PgBouncer: ignore_startup_parameters = ${parameter})${ours ? ', or make the store with statementTimeoutMs: 0. Behind a pooler that ignores it the server applies no statement_timeout of the store: the store still stops waiting for an answer 5 s after statementTimeoutMs' : ''}`,
      { cause: error },
    );
  }
  return undefined;
}
