export {
  CheckpointDeletedError,
  ConnectionPoolerError,
  DatabaseRefusedError,
  DatabaseUnavailableError,
  MigrationError,
  OutcomeUnknownError,
  PostgresStoreError,
  SchemaNameError,
  SchemaNotMigratedError,
  UnitsDeletedError,
} from './errors.js';
export { DEFAULT_SCHEMA, quoteIdentifier, validateSchemaName } from './identifiers.js';
export { LIMITS, PostgresLimitError } from './limits.js';
export {
  bundledMigrations,
  checksum,
  type MigrateOptions,
  type MigrateResult,
  type Migration,
  migrate,
} from './migrate.js';
export type { RetryPolicy } from './retry.js';
export type { SessionRecord, SessionStatus } from './sessions.js';
export { type TransactionalWrite, transactionalSink } from './sink.js';
export {
  type PostgresStore,
  type PostgresStoreOptions,
  type PostgresTransaction,
  postgresStore,
} from './store.js';
export {
  startTestCluster,
  type TestCluster,
  type TestClusterOptions,
} from './testing/cluster.js';
