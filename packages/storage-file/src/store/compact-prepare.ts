import { encodeSnapshot } from '../format/snapshot.js';
import { type CheckpointPaths, parseRaw, readRaw } from './files.js';
import { writeTempFile } from './io.js';
import { writingTo } from './write-error.js';

/** A compaction made ready: the new snapshot written and fsynced under a temp name. */
export interface PreparedCompaction {
  /** The last journal batch the snapshot covers: the new journal continues it. */
  seq: number;
  /** The temp file that holds the new snapshot, to be renamed over the snapshot. */
  temp: string;
  bytes: number;
  /** Whether a snapshot and a journal existed (the previous generation keeps what did). */
  hadSnapshot: boolean;
  hadJournal: boolean;
  /**
   * The journal the snapshot was made from (its identity), and the byte where the last batch the
   * snapshot covers ends in it: appends made meanwhile follow that byte, and move to the new
   * journal when the compaction switches over. `unterminated`: the last batch lacked its final
   * newline, which the next append writes first, at `end`.
   */
  journal: { dev: number; ino: number; end: number; unterminated: boolean } | null;
}

/**
 * The expensive half of a compaction, free of the store's state so a worker thread can run it:
 * reads the files, replays the journal, encodes the new snapshot and writes it to a temp file
 * (fsynced). The snapshot's bytes never reach the caller's thread: handing over a buffer of
 * hundreds of megabytes made the job's heap collect for most of a second. Null when there is
 * nothing to compact. Throws the store's typed errors on damage.
 */
export async function prepareCompaction(at: CheckpointPaths): Promise<PreparedCompaction | null> {
  const raw = await readRaw(at);
  const parsed = parseRaw(at, raw);
  if (!parsed) return null;
  const journal = parsed.journal;
  const upToDate =
    journal !== null &&
    raw.snapshot !== null &&
    journal.batches.length === 0 &&
    journal.header.base === parsed.seq &&
    journal.tornTail === null;
  if (upToDate) return null;
  const snapshot = encodeSnapshot(parsed.checkpoint, parsed.seq);
  return {
    seq: parsed.seq,
    temp: await writingTo(parsed.checkpoint.id, at.snapshot, () =>
      writeTempFile(at.snapshot, snapshot),
    ),
    bytes: snapshot.length,
    hadSnapshot: raw.snapshot !== null,
    hadJournal: raw.journal !== null,
    journal:
      raw.journal && journal
        ? {
            dev: raw.journal.dev,
            ino: raw.journal.ino,
            end: journal.validLength,
            unterminated: journal.unterminated,
          }
        : null,
  };
}
