import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointFormatError, memoryStore } from '@checkpointkit/core';
import { fileStore } from '@checkpointkit/storage-file';
import { describe, expect, it } from 'vitest';
import { CHECKPOINT_ID, importSeedCheckpoint, main } from '../src/seed-000-comment-migration.js';
import { tempDir } from './helpers.js';

describe('recipe 000: the comment migration manager', () => {
  it('continues the seed’s own checkpoint: skips done pages, retries failed ones, clears on success', async () => {
    const dir = await tempDir('000');
    const { imported, first, second, comments } = await main(dir);
    expect(imported).toBe(true);

    expect(first.skipped).toEqual(['intro']);
    expect(first.retried).toEqual(['faq']);
    expect(first.summary.counts).toEqual({ pending: 0, in_progress: 0, complete: 3, failed: 1 });
    expect(first.cleared).toBe(false);
    expect(first.conflicts).toEqual([
      'id map "matrix-event": "$faq-1" is already mapped to 3, not 6',
    ]);

    expect(second.skipped).toEqual(['intro', 'faq', 'news']);
    expect(second.retried).toEqual(['install']);
    expect(second.summary.counts.complete).toBe(4);
    expect(second.cleared).toBe(true);
    // The seed's statistics carried over and counted on: 2 imported before, 5 since.
    expect(second.summary.stats).toMatchObject({ imported: 7, idMapConflicts: 1, totalPages: 4 });
    expect(await fileStore({ dir: join(dir, '.checkpoints') }).load(CHECKPOINT_ID)).toBeNull();

    // Replies point at their parents' new ids, including a parent the Python tool imported.
    const faq = comments.filter((comment) => comment.pageId === 'faq');
    expect(faq.map((comment) => comment.parentId)).toEqual([1, faq[0]?.id]);
    expect(comments.map((comment) => comment.id)).toEqual([3, 4, 5, 6, 7]);
  });

  it('refuses an empty or truncated checkpoint file with an error naming it, and leaves it alone', async () => {
    const dir = await tempDir('000-bad');
    const empty = join(dir, '.migration_checkpoint.json');
    await writeFile(empty, '');
    const store = memoryStore();
    await expect(importSeedCheckpoint(empty, store)).rejects.toThrow(CheckpointFormatError);
    await expect(importSeedCheckpoint(empty, store)).rejects.toThrow(`${empty}: empty file`);

    const truncated = join(dir, 'truncated.json');
    await writeFile(truncated, '{"version": "1.0", "completed_pages": {');
    await expect(importSeedCheckpoint(truncated, store)).rejects.toThrow(/truncated/);
    expect(await readFile(truncated, 'utf8')).toBe('{"version": "1.0", "completed_pages": {');
    expect(await store.load(CHECKPOINT_ID)).toBeNull();
  });
});
