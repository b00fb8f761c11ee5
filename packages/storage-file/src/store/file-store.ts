import { constants } from 'node:fs';
import { type FileHandle, open, readdir, stat, unlink } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  type Change,
  ChangeSchema,
  CheckpointError,
  type CheckpointListing,
  type CheckpointLock,
  type CheckpointStore,
  summarize,
} from '@checkpointkit/core';
import { describeIssues } from '../format/bytes.js';
import { CheckpointFileError } from '../format/errors.js';
import { encodeBatch, encodeJournalHeader } from '../format/journal.js';
import {
  CORRUPT_INFIX,
  checkpointStemFromFileName,
  encodeCheckpointId,
  JOURNAL_SUFFIX,
  SNAPSHOT_SUFFIX,
} from '../format/names.js';
import type { ParsedFiles } from '../format/parse.js';
import { encodeSnapshot } from '../format/snapshot.js';
import {
  type CheckpointPaths,
  parseRaw,
  pathsOf,
  type RawFiles,
  readConsistent,
  readRaw,
} from './files.js';
import { appendAll, ensureDir, fsyncDir, isMissing, replaceFile } from './io.js';
import { acquireLock, assertMayWrite, DEFAULT_STALE_MS, type HeldLock, liveOwner } from './lock.js';
import { type RepairReport, repairCheckpoint } from './repair.js';

export interface FileStoreOptions {
  /** The directory of the checkpoint files. Default: `CHECKPOINT_DIR`, else `.checkpoints`. */
  dir?: string;
  /**
   * A lock not kept fresh for this long (ms) is abandoned and may be taken over. Default 30,000;
   * at least 2,000. A lock whose owner is a dead process on this host is taken over at once.
   */
  staleMs?: number;
  /**
   * Compact when the journal holds this many bytes of changes. Default: 1 MiB, or a quarter of
   * the snapshot when that is more, so compaction costs a bounded share of the writing.
   */
  compactAfter?: number;
  /** Where warnings go (a torn journal tail dropped, a failed background compaction). Default: `process.emitWarning`. */
  onWarning?: (warning: FileStoreWarning) => void;
}

export interface FileStoreWarning {
  code: 'torn-tail' | 'compaction-failed' | 'unreadable-checkpoint';
  message: string;
  checkpointId?: string;
  file?: string;
}

/** The file store: a {@link CheckpointStore} with its directory and an explicit repair. */
export interface FileStore extends CheckpointStore {
  /** The absolute directory of the checkpoint files. */
  readonly dir: string;
  /**
   * Moves damaged files of a checkpoint aside as `<name>.corrupt-<time>` and writes back the
   * state that every valid change gives. Takes the lock (or uses this process's). Refuses files
   * of an unknown format version, which a newer version of this package can read.
   */
  repair(id: string): Promise<RepairReport>;
  /** Waits for pending writes and compactions, closes journal handles and releases this store's locks. */
  close(): Promise<void>;
}

/** What the writer knows about a checkpoint's journal, valid while the journal's identity holds. */
interface Writer {
  dev: number;
  ino: number;
  /** Bytes in the journal, a torn tail included. */
  size: number;
  /** Bytes up to the end of the last complete batch. */
  validLength: number;
  headerLength: number;
  /** Last batch in the state; the next append is batch `seq + 1`. */
  seq: number;
  exists: boolean;
  /** The journal cannot take the next batch (missing, or not ending at `seq`): start a new one. */
  needsJournal: boolean;
  snapshotBytes: number;
  handle: FileHandle | null;
}

const DEFAULT_COMPACT_FLOOR = 1024 * 1024;

/** The default directory: `CHECKPOINT_DIR`, else `.checkpoints` (relative to the working directory). */
export function defaultCheckpointDir(): string {
  const fromEnv = process.env['CHECKPOINT_DIR'];
  return fromEnv !== undefined && fromEnv.trim() !== '' ? fromEnv : '.checkpoints';
}

function writerOf(raw: RawFiles, parsed: ParsedFiles | null): Writer | null {
  if (!raw.journal) {
    return parsed
      ? {
          dev: 0,
          ino: 0,
          size: 0,
          validLength: 0,
          headerLength: 0,
          seq: parsed.seq,
          exists: true,
          needsJournal: true,
          snapshotBytes: raw.snapshot?.length ?? 0,
          handle: null,
        }
      : null;
  }
  const journal = parsed?.journal ?? null;
  const last =
    journal && journal.batches.length > 0
      ? journal.batches[journal.batches.length - 1]!.seq
      : journal?.header.base;
  const seq = parsed?.seq ?? 0;
  return {
    dev: raw.journal.dev,
    ino: raw.journal.ino,
    size: raw.journal.bytes.length,
    validLength: journal?.validLength ?? raw.journal.bytes.length,
    headerLength: journal?.headerLength ?? 0,
    seq,
    exists: parsed !== null,
    needsJournal: parsed === null || last !== seq,
    snapshotBytes: raw.snapshot?.length ?? 0,
    handle: null,
  };
}

/**
 * The embedded default store: in `dir`, each checkpoint is a snapshot `<id>.checkpoint.json`
 * and a journal `<id>.checkpoint.jsonl` beside it. `append` resolves once its batch is written
 * and fdatasynced; compaction replaces the snapshot atomically and fsyncs the directory; `lock`
 * takes a cross-process lock that names its owner. See the README for the exact guarantees.
 *
 * ```ts
 * const run = await openRun({ id: 'github:acme/pulls', store: fileStore() });
 * ```
 */
export function fileStore(options: FileStoreOptions = {}): FileStore {
  const dir = resolve(options.dir ?? defaultCheckpointDir());
  const staleMs = Math.max(options.staleMs ?? DEFAULT_STALE_MS, 2000);
  const warn =
    options.onWarning ??
    ((warning: FileStoreWarning) =>
      process.emitWarning(warning.message, {
        code: `CHECKPOINTKIT_${warning.code.toUpperCase().replace(/-/g, '_')}`,
      }));
  const writers = new Map<string, Writer>();
  const queues = new Map<string, Promise<unknown>>();
  /** Locks this store holds, by lock directory: it writes under them, and only under them or no lock. */
  const mine = new Map<string, HeldLock>();
  const mayWrite = (at: CheckpointPaths, id: string) =>
    assertMayWrite(at.lock, id, staleMs, mine.get(at.lock));
  let closed = false;

  const paths = (id: string): CheckpointPaths => pathsOf(dir, encodeCheckpointId(id));

  /** Runs `task` after every earlier task of the same checkpoint in this store. */
  function serialize<T>(id: string, task: () => Promise<T>): Promise<T> {
    const previous = queues.get(id) ?? Promise.resolve();
    const next = previous.then(task, task);
    const settled = next.then(
      () => {},
      () => {},
    );
    queues.set(id, settled);
    void settled.then(() => {
      if (queues.get(id) === settled) queues.delete(id);
    });
    return next;
  }

  async function dropWriter(id: string): Promise<void> {
    const writer = writers.get(id);
    writers.delete(id);
    await writer?.handle?.close().catch(() => {});
  }

  function remember(id: string, raw: RawFiles, parsed: ParsedFiles | null): void {
    if (writers.get(id)?.handle) return;
    const writer = writerOf(raw, parsed);
    if (writer) writers.set(id, writer);
    else writers.delete(id);
  }

  /** The writer state of a checkpoint, re-read from disk when the journal changed behind our back. */
  async function writerFor(id: string, at: CheckpointPaths): Promise<Writer | null> {
    const known = writers.get(id);
    // Under our own lock nobody else writes: the journal we hold open is the journal.
    if (known?.handle && mine.has(at.lock)) return known;
    if (known) {
      let current: { dev: number; ino: number; size: number } | null = null;
      try {
        current = await stat(at.journal);
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
      // ino 0: we know there is no journal (only a snapshot).
      const same = current
        ? known.ino !== 0 &&
          current.dev === known.dev &&
          current.ino === known.ino &&
          current.size === known.size
        : known.ino === 0;
      if (same) return known;
      await dropWriter(id);
    }
    const raw = await readRaw(at);
    const parsed = parseRaw(at, raw);
    const writer = writerOf(raw, parsed);
    if (writer) writers.set(id, writer);
    return writer;
  }

  async function openHandle(at: CheckpointPaths, writer: Writer): Promise<FileHandle | null> {
    const handle = await open(at.journal, constants.O_RDWR | constants.O_APPEND);
    const stat = await handle.stat();
    if (stat.dev !== writer.dev || stat.ino !== writer.ino || stat.size !== writer.size) {
      await handle.close();
      return null;
    }
    return handle;
  }

  async function startJournal(
    id: string,
    at: CheckpointPaths,
    data: Buffer,
    writer: Partial<Writer>,
  ): Promise<void> {
    await ensureDir(dir);
    await replaceFile(at.journal, data);
    await dropWriter(id);
    const handle = await open(at.journal, constants.O_RDWR | constants.O_APPEND);
    const stat = await handle.stat();
    writers.set(id, {
      dev: stat.dev,
      ino: stat.ino,
      size: data.length,
      validLength: data.length,
      headerLength: writer.headerLength ?? 0,
      seq: writer.seq ?? 0,
      exists: true,
      needsJournal: false,
      snapshotBytes: writer.snapshotBytes ?? 0,
      handle,
    });
  }

  function threshold(writer: Writer): number {
    return (
      options.compactAfter ?? Math.max(DEFAULT_COMPACT_FLOOR, Math.floor(writer.snapshotBytes / 4))
    );
  }

  async function appendNow(id: string, changes: Change[]): Promise<void> {
    const at = paths(id);
    await mayWrite(at, id);
    let writer = await writerFor(id, at);
    if (!writer?.exists) {
      if (changes[0]?.type !== 'created') {
        throw new CheckpointError(
          `checkpoint "${id}" does not exist in ${dir}; its log must start with "created", not "${changes[0]?.type}"`,
        );
      }
      const header = encodeJournalHeader(id, writer?.seq ?? 0);
      const seq = (writer?.seq ?? 0) + 1;
      await startJournal(id, at, Buffer.concat([header, encodeBatch(changes, seq)]), {
        seq,
        headerLength: header.length,
        snapshotBytes: writer?.snapshotBytes ?? 0,
      });
      return;
    }
    if (writer.needsJournal) {
      const header = encodeJournalHeader(id, writer.seq);
      await startJournal(id, at, header, {
        seq: writer.seq,
        headerLength: header.length,
        snapshotBytes: writer.snapshotBytes,
      });
      writer = writers.get(id)!;
    }
    if (!writer.handle) {
      writer.handle = await openHandle(at, writer);
      if (!writer.handle) {
        // The journal changed between reading and opening it: read it again.
        await dropWriter(id);
        return appendNow(id, changes);
      }
    }
    const handle = writer.handle;
    const batch = encodeBatch(changes, writer.seq + 1);
    try {
      if (writer.size > writer.validLength) {
        // A torn tail left by a crash: drop it before the next batch goes after the last good one.
        await handle.truncate(writer.validLength);
        writer.size = writer.validLength;
      }
      await appendAll(handle, batch);
      await handle.datasync();
    } catch (error) {
      // Not acknowledged: take back what may have been written, and re-read the journal next time.
      await handle.truncate(writer.validLength).catch(() => {});
      await dropWriter(id);
      throw error;
    }
    writer.seq += 1;
    writer.validLength += batch.length;
    writer.size = writer.validLength;
    if (writer.size - writer.headerLength >= threshold(writer)) {
      void serialize(id, () => compactNow(id)).catch((error: unknown) => {
        warn({
          code: 'compaction-failed',
          message: `compaction of checkpoint "${id}" failed (the journal keeps every change): ${(error as Error).message}`,
          checkpointId: id,
          file: at.snapshot,
        });
      });
    }
  }

  async function compactNow(id: string): Promise<void> {
    const at = paths(id);
    await mayWrite(at, id);
    await dropWriter(id);
    const raw = await readRaw(at);
    const parsed = parseRaw(at, raw);
    if (!parsed) return;
    const journal = parsed.journal;
    const compact =
      journal !== null &&
      raw.snapshot !== null &&
      journal.batches.length === 0 &&
      journal.header.base === parsed.seq &&
      journal.tornTail === null;
    if (compact) return;
    await ensureDir(dir);
    const snapshot = encodeSnapshot(parsed.checkpoint, parsed.seq);
    await replaceFile(at.snapshot, snapshot);
    const header = encodeJournalHeader(id, parsed.seq);
    await startJournal(id, at, header, {
      seq: parsed.seq,
      headerLength: header.length,
      snapshotBytes: snapshot.length,
    });
    if (mine.get(at.lock)) await removeLeftovers(at);
  }

  /** Temp files write-file-atomic left behind when a process was killed mid-write. */
  async function removeLeftovers(at: CheckpointPaths): Promise<void> {
    const names = await readdir(dir).catch(() => [] as string[]);
    const prefixes = [at.stem + SNAPSHOT_SUFFIX, at.stem + JOURNAL_SUFFIX].map((p) => `${p}.`);
    for (const name of names) {
      const prefix = prefixes.find((p) => name.startsWith(p));
      if (prefix && /^\d+$/.test(name.slice(prefix.length)))
        await unlink(`${dir}/${name}`).catch(() => {});
    }
  }

  async function loadNow(id: string) {
    const at = paths(id);
    const { raw, parsed } = await readConsistent(at);
    if (parsed && parsed.checkpoint.id !== id) {
      throw new CheckpointFileError(
        at.snapshot,
        'mismatch',
        `the files hold checkpoint ${JSON.stringify(parsed.checkpoint.id)}, not ${JSON.stringify(id)}`,
      );
    }
    remember(id, raw, parsed);
    if (parsed?.tornTail) {
      const writing = mine.get(at.lock) ? null : await liveOwner(at.lock, staleMs);
      if (!writing) {
        warn({
          code: 'torn-tail',
          message: `${at.journal}:${parsed.tornTail.line}: dropped ${parsed.tornTail.bytes} bytes after the last complete batch (a write cut short by a crash)`,
          checkpointId: id,
          file: at.journal,
        });
      }
    }
    return parsed?.checkpoint ?? null;
  }

  async function deleteNow(id: string): Promise<boolean> {
    const at = paths(id);
    await mayWrite(at, id);
    await dropWriter(id);
    let found = false;
    // The snapshot goes first: a journal left alone by a crash then fails loudly (it continues a
    // missing snapshot) or still holds the whole state; it never passes for an older state.
    for (const file of [at.snapshot, at.journal]) {
      try {
        await unlink(file);
        found = true;
        await fsyncDir(dir);
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
    }
    return found;
  }

  async function listNow(): Promise<CheckpointListing[]> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
    const stems = new Set<string>();
    for (const name of names) {
      if (name.includes(CORRUPT_INFIX)) continue;
      const stem = checkpointStemFromFileName(name);
      if (stem !== null) stems.add(stem);
    }
    const listings: CheckpointListing[] = [];
    for (const stem of stems) {
      const at = pathsOf(dir, stem);
      try {
        const { parsed } = await readConsistent(at);
        if (!parsed) continue;
        if (encodeCheckpointId(parsed.checkpoint.id) !== stem) {
          warn({
            code: 'unreadable-checkpoint',
            message: `${at.snapshot}: holds checkpoint ${JSON.stringify(parsed.checkpoint.id)}, whose files have another name; skipped`,
            file: at.snapshot,
          });
          continue;
        }
        listings.push({ id: parsed.checkpoint.id, summary: summarize(parsed.checkpoint) });
      } catch (error) {
        warn({
          code: 'unreadable-checkpoint',
          message: `skipped: ${(error as Error).message}`,
          file: at.snapshot,
        });
      }
    }
    return listings;
  }

  function assertOpen(): void {
    if (closed) throw new CheckpointError(`the file store at ${dir} is closed`);
  }

  return {
    description: `file store at ${dir}`,
    dir,
    async load(id) {
      assertOpen();
      return serialize(id, () => loadNow(id));
    },
    async append(id, changes) {
      assertOpen();
      const valid = validateChanges(id, changes);
      if (valid.length === 0) return;
      return serialize(id, () => appendNow(id, valid));
    },
    async compact(id) {
      assertOpen();
      return serialize(id, () => compactNow(id));
    },
    async list() {
      assertOpen();
      return listNow();
    },
    async delete(id) {
      assertOpen();
      return serialize(id, () => deleteNow(id));
    },
    async lock(id): Promise<CheckpointLock> {
      assertOpen();
      const at = paths(id);
      await ensureDir(dir);
      const held = await acquireLock({
        lockDir: at.lock,
        target: at.snapshot,
        checkpointId: id,
        staleMs,
      });
      mine.set(at.lock, held);
      return {
        id,
        owner: held.owner,
        release: async () => {
          if (mine.get(at.lock) === held) mine.delete(at.lock);
          // The run is over: close the journal handle once pending writes are done.
          await serialize(id, () => dropWriter(id)).catch(() => {});
          await held.release();
        },
      };
    },
    async repair(id) {
      assertOpen();
      return serialize(id, async () => {
        const at = paths(id);
        await dropWriter(id);
        const own = mine.get(at.lock);
        const held =
          own ??
          (await acquireLock({ lockDir: at.lock, target: at.snapshot, checkpointId: id, staleMs }));
        try {
          await assertMayWrite(at.lock, id, staleMs, held);
          return await repairCheckpoint(id, at);
        } finally {
          if (!own) await held.release();
        }
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...queues.values()]);
      for (const id of [...writers.keys()]) await dropWriter(id);
      for (const held of [...mine.values()]) await held.release();
      mine.clear();
    },
  };
}

/** Checks every change against core's schema before anything is written: a change the store could not read back is refused. */
function validateChanges(id: string, changes: readonly Change[]): Change[] {
  return changes.map((change, index) => {
    const parsed = ChangeSchema.safeParse(change);
    if (!parsed.success) {
      throw new CheckpointError(
        `append to checkpoint "${id}": change ${index} (${JSON.stringify((change as { type?: unknown })?.type)}) is not valid: ${describeIssues(parsed.error.issues)}`,
      );
    }
    return parsed.data;
  });
}
