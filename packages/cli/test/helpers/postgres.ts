// A PostgreSQL server for the `--store postgres` tests: DATABASE_URL when given, else a throwaway
// PostgreSQL cluster started with storage-postgres's own test helper (from its sources).
import type { TestProject } from 'vitest/node';
import { startTestCluster, type TestCluster } from '../../../storage-postgres/src/testing/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The PostgreSQL server of this test run. */
    databaseUrl: string;
  }
}

let cluster: TestCluster | null = null;

export async function setup(project: TestProject): Promise<void> {
  let url = process.env.DATABASE_URL;
  if (!url) {
    cluster = await startTestCluster();
    url = cluster.url;
  }
  project.provide('databaseUrl', url);
}

export async function teardown(): Promise<void> {
  await cluster?.stop();
  cluster = null;
}
