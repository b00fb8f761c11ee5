/**
 * The checkpoints of the workspace: found by a scan (a search per folder, find.ts), kept current
 * by file events (no rescan for a changed file; a rescan for bulk changes), each re-read at most
 * a few times a second while its journal grows.
 */
import { decodeCheckpointStem } from '@checkpointkit/storage-file';
import * as vscode from 'vscode';
import {
  baseName,
  dirKey,
  findCheckpointFiles,
  relativePath,
  searchFiles,
} from '../discovery/find.js';
import type { DiscoveryPatterns } from '../discovery/globs.js';
import {
  anyFileOf,
  type CanonicalFiles,
  type CheckpointFiles,
  canonicalKey,
  fileStoreName,
  groupCheckpointFiles,
} from '../discovery/group-files.js';
import type { FileEvent } from '../discovery/watch.js';
import { type Log, silentLog } from '../log.js';
import { folderPatterns, readSettings } from '../settings.js';
import { Throttle } from '../util/throttle.js';
import type { CheckpointEntry } from './entry.js';
import { lockOwnerOf, type ReadClock, readCheckpointFiles } from './read-entry.js';

/** More file events than this in one batch count as a bulk change: rescan instead. */
export const BULK_EVENTS = 200;
/** More created paths than this in one batch: rescan rather than look at each. */
const MAX_EXPLORED = 1000;
/** More created folders than this in one batch: rescan rather than search each. */
const MAX_FOLDERS = 20;
/**
 * Checkpoints read at the same time during a scan. A read is a dozen file operations, each
 * finished only when the extension host's event loop, busy with every extension starting, gets
 * to it: more at once means fewer rounds. Reading the benchmark's 200 checkpoints after start took
 * 1.3–2.6 s (median 1.8 s) with 32 against 1.8–3.2 s (median 2.5 s) with 8, six code-server
 * starts each on a 2-core machine.
 */
const READ_CONCURRENCY = 32;
const LOCK_SUFFIX = '.checkpoint.lock';
/**
 * How often the locks of checkpoints shown as locked are checked again. Events alone miss a lock
 * that a job held only briefly (its creation and removal can be reported as nothing) and a lock
 * that went stale because its job died.
 */
const LOCK_POLL_MS = 2000;

/** Which entries changed; `all` when entries came or went. */
export type RegistryChange = { kind: 'entries'; entries: CheckpointEntry[] } | { kind: 'all' };

export class CheckpointRegistry implements vscode.Disposable {
  readonly #entries = new Map<string, CheckpointEntry>();
  readonly #throttles = new Map<string, Throttle>();
  readonly #dirty = new Set<string>();
  readonly #reading = new Set<string>();
  readonly #truncated = new Set<string>();
  readonly #patterns = new Map<string, DiscoveryPatterns>();
  readonly #idleWaiters: (() => void)[] = [];
  readonly #onDidChange = new vscode.EventEmitter<RegistryChange>();
  /** Fired when entries are added, removed or re-read. */
  readonly onDidChange = this.#onDidChange.event;
  readonly #reads = new Map<string, number>();
  #scans = 0;
  #exploring = 0;
  #lockPoll: ReturnType<typeof setInterval> | undefined;
  #scan: Promise<void> | null = null;
  readonly #clock: ReadClock = { parseMs: 0 };
  #rescan = false;
  #scanned = false;

  constructor(private readonly log: Log = silentLog) {}

  /** How many workspace searches ran (live updates must not add any). */
  get scanCount(): number {
    return this.#scans;
  }

  /** Event-loop time spent parsing checkpoint files so far, in ms (the benchmark reports it). */
  get parseMs(): number {
    return this.#clock.parseMs;
  }

  /** How many times an entry's files were read (live updates are throttled). */
  readCount(key: string): number {
    return this.#reads.get(key) ?? 0;
  }

  /** Every entry found, including those still loading and ignored candidates. */
  entries(): CheckpointEntry[] {
    return [...this.#entries.values()];
  }

  get(key: string): CheckpointEntry | undefined {
    return this.#entries.get(key);
  }

  /** The search of this folder stopped at `checkpointkit.maxFiles`. */
  isTruncated(folder: vscode.WorkspaceFolder): boolean {
    return this.#truncated.has(folder.uri.toString());
  }

  /** True until the first scan has finished. */
  get scanning(): boolean {
    return !this.#scanned || this.#scan !== null;
  }

  /** Forgets cached settings (after a configuration change). */
  clearPatterns(): void {
    this.#patterns.clear();
  }

  #patternsOf(folder: vscode.WorkspaceFolder): DiscoveryPatterns {
    const key = folder.uri.toString();
    let patterns = this.#patterns.get(key);
    if (!patterns) {
      patterns = folderPatterns(folder);
      this.#patterns.set(key, patterns);
    }
    return patterns;
  }

  /** Searches every workspace folder again; a scan asked for during a scan runs once after it. */
  scan(): Promise<void> {
    if (this.#scan) {
      this.#rescan = true;
      return this.#scan;
    }
    this.#scan = (async () => {
      do {
        this.#rescan = false;
        await this.#scanOnce();
      } while (this.#rescan);
    })().finally(() => {
      this.#scan = null;
      this.#scanned = true;
      this.#onDidChange.fire({ kind: 'all' });
      this.#checkIdle();
    });
    return this.#scan;
  }

  async #scanOnce(): Promise<void> {
    this.#scans += 1;
    const scan = this.#scans;
    const started = Date.now();
    const folders = vscode.workspace.workspaceFolders ?? [];
    const { maxFiles } = readSettings();
    const found = await Promise.all(
      folders.map((folder) => findCheckpointFiles(folder, maxFiles, this.log)),
    );
    for (const { folder, files, truncated, by } of found) {
      this.log.info(
        `scan ${scan}: ${files.length} file(s) in ${folder.name} (${by})${truncated ? ' (stopped at checkpointkit.maxFiles)' : ''}, ${Date.now() - started} ms`,
      );
    }
    const seen = new Set<string>();
    const fresh: CheckpointEntry[] = [];
    this.#truncated.clear();
    for (const { folder, files, truncated } of found) {
      if (truncated) this.#truncated.add(folder.uri.toString());
      const patterns = this.#patternsOf(folder);
      const groups = groupCheckpointFiles(
        files,
        (uri) => ({ dir: dirKey(uri), name: baseName(uri) }),
        (uri) => patterns.isSeedCandidate(relativePath(folder, uri) ?? ''),
      );
      for (const files of groups) {
        seen.add(files.key);
        const existing = this.#entries.get(files.key);
        if (existing) {
          existing.files = files;
          this.#dirty.add(files.key);
        } else {
          const entry: CheckpointEntry = {
            key: files.key,
            folder,
            files,
            state: { kind: 'loading' },
          };
          this.#entries.set(files.key, entry);
          fresh.push(entry);
          this.#dirty.add(files.key);
        }
      }
    }
    for (const key of [...this.#entries.keys()]) if (!seen.has(key)) this.#remove(key);
    this.#onDidChange.fire({ kind: 'all' });
    // Read in parallel, a few at a time; each entry shows as soon as it is read.
    const queue = [...this.#entries.values()].filter((entry) => this.#dirty.has(entry.key));
    const workers = Array.from({ length: Math.min(READ_CONCURRENCY, queue.length) }, async () => {
      for (let entry = queue.shift(); entry; entry = queue.shift()) await this.#read(entry);
    });
    await Promise.all(workers);
    this.log.info(
      `scan ${scan}: ${this.#entries.size} checkpoint(s) read, ${Date.now() - started} ms`,
    );
  }

  #remove(key: string): void {
    this.#entries.delete(key);
    this.#dirty.delete(key);
    this.#throttles.get(key)?.dispose();
    this.#throttles.delete(key);
    // Its read, now dropped, may have been the last one waited for.
    this.#checkIdle();
  }

  async #read(entry: CheckpointEntry): Promise<void> {
    this.#dirty.delete(entry.key);
    this.#reading.add(entry.key);
    this.#reads.set(entry.key, (this.#reads.get(entry.key) ?? 0) + 1);
    try {
      const started = Date.now();
      const state = await readCheckpointFiles(entry.folder, entry.files, this.#clock);
      this.log.debug(`read ${entry.key}: ${state.kind}, ${Date.now() - started} ms`);
      if (state.kind === 'damaged') this.log.warn(`cannot read ${entry.key}: ${state.message}`);
      if (this.#entries.get(entry.key) !== entry) return;
      entry.state = state;
      const files = entry.files;
      if (
        state.kind === 'ignored' &&
        files.kind === 'canonical' &&
        !files.snapshot &&
        !files.journal &&
        !files.leftover
      ) {
        // Nothing of it is left (its last files were deleted): forget it.
        this.#remove(entry.key);
        this.#onDidChange.fire({ kind: 'all' });
        return;
      }
      this.#onDidChange.fire({ kind: 'entries', entries: [entry] });
      if (state.kind === 'loaded' && state.value.lockOwner) this.#pollLocks();
    } finally {
      this.#reading.delete(entry.key);
      this.#checkIdle();
    }
  }

  /** Re-reads an entry soon, at most once per `checkpointkit.liveUpdateInterval`. */
  requestRead(entry: CheckpointEntry): void {
    let throttle = this.#throttles.get(entry.key);
    if (!throttle) {
      throttle = new Throttle(() => this.#read(entry), readSettings(entry.folder.uri).liveUpdateMs);
      this.#throttles.set(entry.key, throttle);
    }
    this.#dirty.add(entry.key);
    throttle.request();
  }

  /** Re-reads an entry now (after an edit of ours). */
  async readNow(entry: CheckpointEntry): Promise<void> {
    await this.#read(entry);
  }

  async #refreshLock(entry: CheckpointEntry): Promise<void> {
    if (entry.state.kind !== 'loaded' || entry.files.kind !== 'canonical') return;
    const value = entry.state.value;
    const dir = vscode.Uri.joinPath(anyFileOf(entry.files), '..');
    const owner = await lockOwnerOf(dir, value.checkpoint.id);
    if ((owner === null) !== (value.lockOwner === null) || owner?.pid !== value.lockOwner?.pid) {
      value.lockOwner = owner;
      this.#onDidChange.fire({ kind: 'entries', entries: [entry] });
      if (owner) this.#pollLocks();
    }
  }

  /** Checks the locks of locked checkpoints every {@link LOCK_POLL_MS} while there are any. */
  #pollLocks(): void {
    if (this.#lockPoll) return;
    this.#lockPoll = setInterval(() => {
      const locked = [...this.#entries.values()].filter(
        (entry) => entry.state.kind === 'loaded' && entry.state.value.lockOwner,
      );
      if (locked.length === 0) {
        clearInterval(this.#lockPoll);
        this.#lockPoll = undefined;
        return;
      }
      for (const entry of locked) void this.#refreshLock(entry);
    }, LOCK_POLL_MS);
  }

  /** Applies a batch of file events: adds, re-reads and removes entries; rescans on bulk changes. */
  applyEvents(events: readonly FileEvent[]): void {
    if (events.length > BULK_EVENTS) {
      void this.scan();
      return;
    }
    const appeared = events.filter((event) => event.kind === 'appeared').map((event) => event.uri);
    if (appeared.length > 0) void this.#explore(appeared);
    let structural = false;
    for (const event of events) {
      if (event.kind === 'appeared') continue;
      const folder = vscode.workspace.getWorkspaceFolder(event.uri);
      const path = folder && relativePath(folder, event.uri);
      if (!folder || path == null) continue;
      const patterns = this.#patternsOf(folder);
      if (patterns.isExcluded(path)) continue;
      const name = baseName(event.uri);
      const dir = dirKey(event.uri);
      if (name.endsWith(LOCK_SUFFIX)) {
        const entry = this.#entries.get(canonicalKey(dir, name.slice(0, -LOCK_SUFFIX.length)));
        if (entry) void this.#refreshLock(entry);
        continue;
      }
      if (event.kind === 'deleted' && this.#removeUnder(event.uri)) {
        structural = true;
        continue;
      }
      const store = fileStoreName(name);
      let files: CheckpointFiles<vscode.Uri> | null = null;
      if (store) {
        const key = canonicalKey(dir, store.stem);
        const existing = this.#entries.get(key)?.files;
        // A file of no checkpoint we know went (a compaction replaces the previous generation).
        if (event.kind === 'deleted' && existing?.kind !== 'canonical') continue;
        const canonical: CanonicalFiles<vscode.Uri> =
          existing?.kind === 'canonical'
            ? existing
            : {
                kind: 'canonical',
                key,
                stem: store.stem,
                id: decodeCheckpointStem(store.stem),
                snapshot: null,
                journal: null,
                leftover: null,
              };
        if (event.kind !== 'deleted') canonical[store.role] = event.uri;
        else if (
          store.role !== 'leftover' ||
          canonical.leftover?.toString() === event.uri.toString()
        )
          canonical[store.role] = null;
        // Nothing of it left that we know of: gone. A leftover's own deletion is read (#read
        // removes the entry) since others of its kind may remain.
        if (
          !canonical.snapshot &&
          !canonical.journal &&
          !canonical.leftover &&
          store.role !== 'leftover'
        ) {
          structural = this.#entries.has(key) || structural;
          this.#remove(key);
          continue;
        }
        files = canonical;
      } else if (name.endsWith('.json') && patterns.isSeedCandidate(path)) {
        const key = `${dir}/${name}`;
        if (event.kind === 'deleted') {
          structural = this.#entries.has(key) || structural;
          this.#remove(key);
          continue;
        }
        files = { kind: 'seed', key, file: event.uri };
      } else continue;
      let entry = this.#entries.get(files.key);
      if (entry) entry.files = files;
      else {
        entry = { key: files.key, folder, files, state: { kind: 'loading' } };
        this.#entries.set(files.key, entry);
        structural = true;
      }
      this.requestRead(entry);
    }
    if (structural) this.#onDidChange.fire({ kind: 'all' });
  }

  /** True when a created path lies outside the excludes of its workspace folder. */
  mayHoldCheckpoints(uri: vscode.Uri): boolean {
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    const path = folder && relativePath(folder, uri);
    return !!folder && path != null && !this.#patternsOf(folder).isExcluded(path);
  }

  /**
   * Searches created folders for checkpoint files the watcher may not have reported (written
   * before the watcher saw their folder). Paths that are files are skipped; many new folders at
   * once are a bulk change: one scan instead.
   */
  async #explore(uris: vscode.Uri[]): Promise<void> {
    this.#exploring += 1;
    try {
      if (uris.length > MAX_EXPLORED) {
        await this.scan();
        return;
      }
      const stats = await Promise.all(
        uris.map((uri) =>
          Promise.resolve(vscode.workspace.fs.stat(uri)).then(
            (stat) => stat,
            () => null,
          ),
        ),
      );
      const folders = uris
        .filter((_, i) => stats[i] !== null && (stats[i]!.type & vscode.FileType.Directory) !== 0)
        .sort((a, b) => a.path.length - b.path.length)
        .filter(
          (uri, i, all) =>
            !all.slice(0, i).some((parent) => uri.path.startsWith(`${parent.path}/`)),
        );
      if (folders.length === 0) return;
      if (folders.length > MAX_FOLDERS) {
        await this.scan();
        return;
      }
      const { maxFiles } = readSettings();
      const found: FileEvent[] = [];
      for (const uri of folders) {
        const folder = vscode.workspace.getWorkspaceFolder(uri);
        if (!folder) continue;
        const patterns = this.#patternsOf(folder);
        const { files } = await searchFiles(folder, uri, patterns, maxFiles, this.log);
        for (const file of files)
          if (!this.#knows(file)) found.push({ kind: 'created', uri: file });
      }
      if (found.length > 0) this.applyEvents(found);
    } finally {
      this.#exploring -= 1;
      this.#checkIdle();
    }
  }

  /** True when `uri` is already a file of a known entry. */
  #knows(uri: vscode.Uri): boolean {
    const name = baseName(uri);
    const store = fileStoreName(name);
    const key = store ? canonicalKey(dirKey(uri), store.stem) : `${dirKey(uri)}/${name}`;
    const files = this.#entries.get(key)?.files;
    if (!files) return false;
    return files.kind === 'seed' || (store !== null && files[store.role] !== null);
  }

  /** True when some checkpoint has a file inside the folder `uri` (a deleted folder may be one). */
  holdsCheckpoints(uri: vscode.Uri): boolean {
    const prefix = `${uri.toString()}/`;
    for (const key of this.#entries.keys()) if (key.startsWith(prefix)) return true;
    return false;
  }

  /** Removes the entries inside a deleted folder; false when there were none. */
  #removeUnder(uri: vscode.Uri): boolean {
    const prefix = `${uri.toString()}/`;
    let removed = false;
    for (const key of [...this.#entries.keys()]) {
      if (key.startsWith(prefix)) {
        this.#remove(key);
        removed = true;
      }
    }
    return removed;
  }

  /** Resolves once no scan or read is pending (tests and the benchmark wait for this). */
  whenIdle(): Promise<void> {
    if (this.#idle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #idle(): boolean {
    return (
      this.#scanned && this.#scan === null && this.#dirty.size === 0 && this.#reading.size === 0
    );
  }

  #checkIdle(): void {
    if (!this.#idle()) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  dispose(): void {
    if (this.#lockPoll) clearInterval(this.#lockPoll);
    for (const throttle of this.#throttles.values()) throttle.dispose();
    this.#throttles.clear();
    this.#onDidChange.dispose();
  }
}
