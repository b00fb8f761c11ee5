import { stat } from 'node:fs/promises';
import { OptionsError, type Run } from '@checkpointkit/core';
import { fileIdentity } from './durable-file.js';
import { SinkFileConflictError } from './errors.js';

/** What the file sinks writing through one run hold: their ids, and the files they opened. */
interface RunClaims {
  /** Sink id → the sink that holds it. */
  ids: Map<string, object>;
  /** `device:inode` of an open file → the sink and the path it opened it under. */
  files: Map<string, { owner: object; path: string }>;
}

// Per run, not per process: sinks of two runs are two jobs, which their own locks keep apart.
// A WeakMap lets a run that is gone take its claims with it.
const claimsByRun = new WeakMap<Run, RunClaims>();

function claimsOf(run: Run): RunClaims {
  let claims = claimsByRun.get(run);
  if (!claims) {
    claims = { ids: new Map(), files: new Map() };
    claimsByRun.set(run, claims);
  }
  return claims;
}

/**
 * What one sink holds on a run. Two sinks with one id would each take the other's recorded files
 * for its own on resume (a rotating one removes their "parts"), and two writers of one file write
 * over each other's pages: both are refused before the second touches anything.
 */
export class SinkClaims {
  #run: Run | null = null;

  /** Takes `id` on `run` for this sink; {@link OptionsError} when another sink of the run has it. */
  claimId(run: Run, id: string): void {
    const { ids } = claimsOf(run);
    const holder = ids.get(id);
    if (holder && holder !== this) {
      throw new OptionsError(
        'file sink',
        'id',
        `${JSON.stringify(id)} is used by another file sink of run "${run.id}" that is still open; give each file sink of a run its own id, or close the other first`,
      );
    }
    ids.set(id, this);
    this.#run = run;
  }

  /**
   * Takes the file `identity` (`device:inode`) opened under `path`: throws
   * {@link SinkFileConflictError} when this sink holds it under another path (a link), or another
   * sink of the run holds it. Synchronous, so two opens in flight cannot both pass.
   */
  claimFile(identity: string, path: string): void {
    if (!this.#run) return;
    this.#check(identity, path);
    claimsOf(this.#run).files.set(identity, { owner: this, path });
  }

  /**
   * Throws {@link SinkFileConflictError} when the file at `path` is held under another path or by
   * another sink: called before the sink moves or removes a file, which a claim comes too late for.
   */
  async guard(path: string): Promise<void> {
    if (!this.#run) return;
    // Through links: what matters is the file the name reaches.
    const found = await stat(path, { bigint: true }).catch(() => null);
    // Missing, or not to be looked at: the move or removal that follows reports it.
    if (found) this.#check(fileIdentity(found), path);
  }

  #check(identity: string, path: string): void {
    const holder = this.#run && claimsOf(this.#run).files.get(identity);
    if (!holder || (holder.owner === this && holder.path === path)) return;
    throw new SinkFileConflictError(
      [holder.path, path],
      holder.owner === this
        ? 'are one file, through a symbolic or hard link'
        : 'are one file, which another file sink of this run writes',
    );
  }

  /** Gives up the id and the files (when the sink closes, or opens on another run). */
  release(): void {
    if (!this.#run) return;
    const { ids, files } = claimsOf(this.#run);
    for (const [id, holder] of ids) if (holder === this) ids.delete(id);
    for (const [identity, holder] of files) if (holder.owner === this) files.delete(identity);
    this.#run = null;
  }
}
