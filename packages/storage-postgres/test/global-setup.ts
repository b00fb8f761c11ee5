import type { TestProject } from 'vitest/node';
import { startTestCluster, type TestCluster } from '../src/testing/index.js';

let cluster: TestCluster | null = null;

/** Starts a throwaway cluster once per test run, unless DATABASE_URL names a server to use. */
export async function setup(project: TestProject): Promise<void> {
  let url = process.env['DATABASE_URL'];
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
