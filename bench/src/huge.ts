/**
 * The huge checkpoint the file store figures are measured on: a million units (half complete,
 * with cursors) and a million id mappings, written as the store keeps it.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Checkpoint, emptyCheckpoint, emptyUnit } from '@checkpointkit/core';
import {
  checkpointFileName,
  encodeJournalHeader,
  encodeSnapshot,
  journalFileName,
} from '@checkpointkit/storage-file';

export const UNITS = 1_000_000;
export const MAPPINGS = 1_000_000;

export function hugeCheckpoint(id: string): Checkpoint {
  const at = new Date().toISOString();
  const checkpoint = emptyCheckpoint(id, at, null);
  for (let i = 0; i < UNITS; i++) {
    const unit = emptyUnit(100);
    if (i % 2 === 0) {
      Object.assign(unit, {
        status: 'complete',
        done: 100,
        attempts: 1,
        cursor: i,
        startedAt: at,
        completedAt: at,
      });
    }
    checkpoint.units[`collect/org/repo-${i % 1000}/endpoint-${i}`] = unit;
  }
  const map: Record<string, number> = {};
  for (let i = 0; i < MAPPINGS; i++) map[`$event-${i}:example.org`] = i;
  checkpoint.idMaps['matrix-event'] = map;
  return checkpoint;
}

/** Writes the checkpoint as the file store keeps it (snapshot + empty journal), without replaying 2M changes. */
export async function writeStoreFiles(
  dir: string,
  id: string,
  checkpoint: Checkpoint,
): Promise<void> {
  await writeFile(join(dir, checkpointFileName(id)), encodeSnapshot(checkpoint, 0));
  await writeFile(join(dir, journalFileName(id)), encodeJournalHeader(id, 0));
}
