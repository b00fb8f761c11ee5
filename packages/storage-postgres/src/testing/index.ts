/**
 * Test helpers: a throwaway PostgreSQL cluster, for this package's tests and yours.
 *
 * ```ts
 * import { startTestCluster } from '@checkpointkit/storage-postgres/testing';
 * const cluster = await startTestCluster();
 * const store = postgresStore({ connectionString: cluster.url });
 * // ...
 * await cluster.stop();
 * ```
 */
export { startTestCluster, type TestCluster, type TestClusterOptions } from './cluster.js';
