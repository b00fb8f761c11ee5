import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Change } from '@checkpointkit/core';
import { fileStore } from '@checkpointkit/storage-file';
import { onTestFinished } from 'vitest';

export const T0 = '2025-01-06T08:00:00.000Z';
export const at = (minutes: number) => new Date(Date.parse(T0) + minutes * 60_000).toISOString();

/** A temporary directory removed when the test ends. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'checkpointkit-cli-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A GitHub-collection-like checkpoint of 6 units: 2 complete, 1 in progress with a cursor,
 * 1 pending, 1 failed retryable, 1 failed for good; with counters, an id map and saves.
 */
export function sampleChanges(id: string, status: 'running' | 'failed' = 'running'): Change[] {
  return [
    { type: 'created', at: at(0), id, configDigest: 'ab'.repeat(32) },
    ...['api/pulls', 'api/issues', 'web/pulls', 'web/issues', 'docs/pulls', 'sdk/pulls'].map(
      (unit): Change => ({ type: 'unit.planned', at: at(0), key: `collect/acme/${unit}` }),
    ),
    { type: 'unit.started', at: at(1), key: 'collect/acme/api/pulls' },
    { type: 'unit.completed', at: at(2), key: 'collect/acme/api/pulls', cursor: 4, done: 371 },
    { type: 'unit.started', at: at(2), key: 'collect/acme/api/issues' },
    { type: 'unit.completed', at: at(3), key: 'collect/acme/api/issues', cursor: 2, done: 120 },
    { type: 'unit.started', at: at(3), key: 'collect/acme/web/pulls' },
    { type: 'unit.progressed', at: at(4), key: 'collect/acme/web/pulls', cursor: 3, done: 300 },
    { type: 'unit.started', at: at(4), key: 'collect/acme/docs/pulls' },
    { type: 'unit.progressed', at: at(5), key: 'collect/acme/docs/pulls', cursor: 2, done: 200 },
    {
      type: 'unit.failed',
      at: at(6),
      key: 'collect/acme/docs/pulls',
      message: 'API rate limit exceeded for installation ID 4412',
      retryable: true,
    },
    { type: 'unit.started', at: at(6), key: 'collect/acme/web/issues' },
    {
      type: 'unit.failed',
      at: at(7),
      key: 'collect/acme/web/issues',
      message: '403 Forbidden: Resource not accessible by integration',
      retryable: false,
      cause: { status: 403, url: 'https://api.github.com/repos/acme/wéb/issues' },
    },
    { type: 'counter.added', name: 'records', by: 991 },
    { type: 'id.mapped', map: 'pull', source: '1', target: 'a' },
    { type: 'saved', at: at(8), reason: 'every 5 units' },
    { type: 'status', at: at(8), status },
  ];
}

/** Writes a checkpoint into a file store at `dir` through the real store, as a job would. */
export async function writeCheckpoint(dir: string, id: string, changes: Change[]): Promise<void> {
  const store = fileStore({ dir });
  try {
    await store.append(id, changes);
  } finally {
    await store.close?.();
  }
}

/** The checkpoint as the real store loads it. */
export async function loadCheckpoint(dir: string, id: string) {
  const store = fileStore({ dir });
  try {
    return await store.load(id);
  } finally {
    await store.close?.();
  }
}
