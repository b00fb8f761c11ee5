import { join } from 'node:path';
import { fileStore } from '@checkpointkit/storage-file';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { importLegacyCheckpoint, main } from '../src/seed-002-github-strategies.js';
import { tempDir } from './helpers.js';

afterEach(() => vi.unstubAllEnvs());

describe('recipe 002: the GitHub API checkpoint utility', () => {
  it('resumes without fetching a page twice, records why it saved, and cleans up on finish', async () => {
    const dir = await tempDir('002');
    const outcome = await main({ dir });
    expect(outcome.interrupted).toEqual({ itemsDone: 10, saveCount: 2, lastSaveReason: 'Closed' });
    const reasons = outcome.saves.map((save) => save.reason);
    expect(reasons).toContain('Rate-limit: 1000/5000 (20.0% remaining <= 20.0% threshold)');
    // Above 20% no page triggered a save: only the rate limit did.
    expect(reasons.filter((reason) => reason?.startsWith('Rate-limit:'))).toHaveLength(2);
    expect(outcome.issues).toBe(45);
    expect(outcome.unfetched).toEqual([]);
    expect(outcome.cleanedUp).toBe(true);
    expect(await fileStore({ dir }).load('fetch_acme_api')).toBeNull();
    expect(outcome.legacy).toEqual({
      format: 'seed-002/1.0',
      id: 'fetch_prebid_master_modules',
      done: 2,
      total: 10,
    });
  });

  it('refuses to import a legacy file over a checkpoint that exists, leaving it as it was', async () => {
    const dir = await tempDir('002-again');
    await main({ dir });
    const store = fileStore({ dir });
    const before = await store.load('fetch_prebid_master_modules');
    const file = join(dir, '.checkpoint_fetch_prebid_master_modules.json');
    await expect(importLegacyCheckpoint(file, store)).rejects.toThrow(/exists already/);
    expect(await store.load('fetch_prebid_master_modules')).toEqual(before);
    await store.close?.();
  });

  it('keeps the checkpoint with CHECKPOINT_AUTO_CLEANUP=false', async () => {
    vi.stubEnv('CHECKPOINT_AUTO_CLEANUP', 'false');
    const dir = await tempDir('002-keep');
    const outcome = await main({ dir });
    expect(outcome.cleanedUp).toBe(false);
    const kept = await fileStore({ dir }).load('fetch_acme_api');
    expect(kept?.status).toBe('completed');
    expect(kept?.meta.lastSaveReason).toBe('Finished');
  });
});
