import { constants } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import type { ParsedFiles } from '../format/parse.js';
import { type CheckpointPaths, parseRaw, type RawFiles, readRaw } from './files.js';
import { isMissing, replaceFile } from './io.js';
import type { HeldLock } from './lock.js';
import { writingTo } from './write-error.js';

/** What the writer knows about a checkpoint's journal, valid while the journal's identity holds. */
export interface Writer {
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
  /** The last batch lacks its final newline (see `ParsedJournal.unterminated`): write it first. */
  unterminated: boolean;
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
          unterminated: false,
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
    unterminated: journal?.unterminated ?? false,
  };
}

/** The writer state of each checkpoint a store writes, with the journal handles it holds open. */
export class JournalWriters {
  readonly #writers = new Map<string, Writer>();
  readonly #mine: ReadonlyMap<string, HeldLock>;

  /** `mine`: the locks the store holds, by lock directory (under them, an open journal is the journal). */
  constructor(mine: ReadonlyMap<string, HeldLock>) {
    this.#mine = mine;
  }

  /** Forgets a checkpoint's writer state and closes its journal handle. */
  async drop(id: string): Promise<void> {
    const writer = this.#writers.get(id);
    this.#writers.delete(id);
    await writer?.handle?.close().catch(() => {});
  }

  /** Forgets every writer state, closing the handles one after the other. */
  async dropAll(): Promise<void> {
    for (const id of [...this.#writers.keys()]) await this.drop(id);
  }

  /** Keeps what a load read, unless a journal handle is already open for the checkpoint. */
  remember(id: string, raw: RawFiles, parsed: ParsedFiles | null): void {
    if (this.#writers.get(id)?.handle) return;
    const writer = writerOf(raw, parsed);
    if (writer) this.#writers.set(id, writer);
    else this.#writers.delete(id);
  }

  /** The writer state of a checkpoint, re-read from disk when the journal changed behind our back. */
  async current(id: string, at: CheckpointPaths): Promise<Writer | null> {
    const known = this.#writers.get(id);
    // Under our own lock nobody else writes: the journal we hold open is the journal.
    if (known?.handle && this.#mine.has(at.lock)) return known;
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
      await this.drop(id);
    }
    const raw = await readRaw(at);
    const parsed = parseRaw(at, raw);
    const writer = writerOf(raw, parsed);
    if (writer) this.#writers.set(id, writer);
    return writer;
  }

  /** Opens the journal for appending, or null when it is no longer the file `writer` describes. */
  async openHandle(at: CheckpointPaths, writer: Writer): Promise<FileHandle | null> {
    const handle = await open(at.journal, constants.O_RDWR | constants.O_APPEND);
    const stat = await handle.stat();
    if (stat.dev !== writer.dev || stat.ino !== writer.ino || stat.size !== writer.size) {
      await handle.close();
      return null;
    }
    return handle;
  }

  /** Replaces the journal with `data` (atomically, durably) and keeps it open for appending. */
  async startJournal(
    id: string,
    at: CheckpointPaths,
    data: Buffer,
    writer: Partial<Writer>,
  ): Promise<Writer> {
    await writingTo(id, at.journal, () => replaceFile(at.journal, data));
    await this.drop(id);
    const handle = await open(at.journal, constants.O_RDWR | constants.O_APPEND);
    const stat = await handle.stat();
    const started: Writer = {
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
      unterminated: false,
    };
    this.#writers.set(id, started);
    return started;
  }
}
