/**
 * Fencing off the writer a takeover replaced. An owner judged dead or stale may be alive: stopped
 * (SIGSTOP, a suspended laptop, a long GC pause) or named dead by an owner file someone edited. It
 * checked its lock before its write, and a write it had checked goes ahead when it resumes, into
 * the journal it holds open, after the batches of the process that took over: two batches of one
 * number, a journal nobody can read past (shown by test/integration/paused-holder.test.ts).
 *
 * So a process that took a lock over gives the journal and the ack mark new files (a copy renamed
 * over each) before it reads or writes anything: the old holder's handles then reach files no
 * name leads to, and what it writes there is lost with its lock. It finds out after its write
 * (append.ts checks the lock again before it acknowledges), so it never reports that write saved.
 */
import type { CheckpointPaths } from './files.js';
import { readOrNull, replaceFile } from './io.js';
import { writingTo } from './write-error.js';

/** Moves the journal and the ack mark to new files with the same bytes (none: nothing to do). */
export async function fenceOffOldWriter(id: string, at: CheckpointPaths): Promise<void> {
  for (const file of [at.journal, at.ack]) {
    const bytes = await readOrNull(file);
    if (bytes) await writingTo(id, file, () => replaceFile(file, bytes));
  }
}
