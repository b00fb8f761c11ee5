import { CheckpointError } from '@checkpointkit/core';

/** Something the PostgreSQL store could not do: names the checkpoint or setting and the cause. */
export class PostgresStoreError extends CheckpointError {
  override name = 'PostgresStoreError';
}

/** A schema name that is not a plain identifier. The name is quoted in the message, never run. */
export class SchemaNameError extends PostgresStoreError {
  override name = 'SchemaNameError';
  constructor(
    readonly schema: string,
    reason: string,
  ) {
    super(`postgresStore: schema ${JSON.stringify(schema)} is not allowed: ${reason}`);
  }
}

/** A migration file that cannot be applied, or that changed after it was applied. */
export class MigrationError extends PostgresStoreError {
  override name = 'MigrationError';
  constructor(
    readonly file: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`migration ${file}: ${reason}`, options);
  }
}

/**
 * A store made with `migrate: false` found its schema without one of the migrations it needs:
 * never migrated (a mistyped schema name, most often) or migrated by an older release.
 */
export class SchemaNotMigratedError extends MigrationError {
  override name = 'SchemaNotMigratedError';
  constructor(
    /** The schema the store was given. */
    readonly schema: string,
    /** The migrations it lacks, by file name. */
    readonly missing: readonly string[],
  ) {
    super(
      missing[0]!,
      `schema "${schema}" lacks it and the store was made with migrate: false: run store.migrate() once (or migrate() from a deploy step) before the workers start`,
    );
  }
}

/**
 * A flush or transaction whose commit may or may not have happened: the connection broke while
 * committing and the server could not be asked afterwards. `outcomeUnknown` tells a run that its
 * state can no longer be trusted (it must be reopened).
 */
export class OutcomeUnknownError extends PostgresStoreError {
  override name = 'OutcomeUnknownError';
  readonly outcomeUnknown = true;
}

/**
 * The database stayed unreachable (connections refused, terminated, or unanswered) for longer
 * than the store's `retry.maxOutageMs`: the store gave up. `storeUnavailable` tells a pipeline
 * to stop the run with this error rather than fail the unit it was working on.
 */
export class DatabaseUnavailableError extends PostgresStoreError {
  override name = 'DatabaseUnavailableError';
  readonly storeUnavailable = true;
  constructor(
    readonly doing: string,
    readonly tries: number,
    readonly elapsedMs: number,
    policy: { maxOutageMs: number },
    cause: unknown,
  ) {
    super(
      `${doing}: gave up after ${tries} tries over ${(elapsedMs / 1000).toFixed(1)} s (retry.maxOutageMs is ${policy.maxOutageMs} ms): ${(cause as Error)?.message ?? String(cause)}`,
      { cause },
    );
  }
}
