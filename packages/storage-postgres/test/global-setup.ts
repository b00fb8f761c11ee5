import type { TestProject } from 'vitest/node';
import { startTestCluster, type TestCluster } from '../src/testing/index.js';

// Vitest may call setup once per project that lists this file: the projects share one cluster,
// stopped when the last of them tears down.
let shared: Promise<TestCluster> | null = null;
let users = 0;

/** Starts a throwaway cluster once per test run, unless DATABASE_URL names a server to use. */
export async function setup(project: TestProject): Promise<void> {
  let url = process.env['DATABASE_URL'];
  if (!url) {
    shared ??= startTestCluster();
    users += 1;
    url = (await shared).url;
  }
  project.provide('databaseUrl', url);
}

export async function teardown(): Promise<void> {
  if (!shared) return;
  users -= 1;
  if (users > 0) return;
  const cluster = shared;
  shared = null;
  await (await cluster).stop();
}
