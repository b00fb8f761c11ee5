import { join, resolve } from 'node:path';
import {
  type Checkpoint,
  CheckpointFormatError,
  type CheckpointStore,
  type LockOwner,
} from '@checkpointkit/core';
import {
  CheckpointFileError,
  checkpointFileName,
  checkpointFilesOf,
  fileStore,
  journalFileName,
  type RepairReport,
  readCheckpointFiles,
  readLockOwner,
} from '@checkpointkit/storage-file';
import { CliError, DamagedCheckpointError } from './errors.js';
import { printable } from './excerpt.js';
import { EXIT } from './exit-codes.js';
import { refuseNonFile, sniffFile } from './sniff.js';
import { checkSpelling } from './spelling.js';
import { checkStoreDir } from './store-dir.js';

/** The global options that choose a store. */
export interface StoreOptions {
  store?: string;
  dir?: string;
  url?: string;
  schema?: string;
}

/** A store plus the unlocked reads that `show`, `ls` and `watch` need. */
export interface StoreHandle {
  readonly kind: 'file' | 'postgres';
  readonly store: CheckpointStore;
  /** `file store at .checkpoints`: for messages. Never holds a password. */
  readonly description: string;
  /** File store: its folder, absolute. */
  readonly dir?: string;
  /** The checkpoint as a job last saved it, read without taking the lock (safe while a job runs). */
  read(id: string): Promise<Checkpoint | null>;
  /** Who holds the checkpoint's lock, or null when nobody does (or the store cannot tell). */
  lockOwner(id: string): Promise<LockOwner | null>;
  /** The file store's repair (damaged files moved aside, valid changes kept); absent for postgres. */
  repair?(id: string): Promise<RepairReport>;
  close(): Promise<void>;
}

/**
 * The directory of the file store: `--dir`, else `CHECKPOINT_DIR`, else `.checkpoints`. A value
 * spelled as nobody meant it (see {@link checkSpelling}) is a usage error naming its origin.
 */
export function storeDir(options: StoreOptions, env: NodeJS.ProcessEnv): string {
  return explicitDir(options, env) ?? '.checkpoints';
}

/**
 * The directory of the file store that was asked for: `--dir`, else `CHECKPOINT_DIR`, else
 * undefined. A value spelled as nobody meant it is a usage error naming its origin. An empty or
 * blank `CHECKPOINT_DIR` is unset, as for `fileStore()`: the CLI must find the checkpoints a job
 * wrote under the same environment.
 */
export function explicitDir(options: StoreOptions, env: NodeJS.ProcessEnv): string | undefined {
  if (options.dir !== undefined) return checkSpelling(options.dir, '--dir', 'dir');
  return env.CHECKPOINT_DIR?.trim()
    ? checkSpelling(env.CHECKPOINT_DIR, 'CHECKPOINT_DIR', 'dir')
    : undefined;
}

/**
 * The typed option that names a PostgreSQL store (`--url`, `--store postgres`, `--schema`), or
 * null: for messages that say which options conflict.
 */
export function typedPostgresOption(options: StoreOptions): string | null {
  if (options.url !== undefined) return '--url';
  if (options.store === 'postgres') return '--store postgres';
  if (options.schema !== undefined) return '--schema';
  return null;
}

/**
 * Refuses store options that cannot mean what they say, before any verb acts: an empty `--url`
 * or `--schema` (a script's unset variable: an empty `--url` chose the file store of the working
 * folder, where `rm --yes` deleted), and options of both stores at once (`--dir` with `--url`,
 * `--store postgres` or `--schema`, `--store file` with `--url` or `--schema`), of which one was
 * silently ignored.
 */
export function checkStoreOptions(options: StoreOptions): void {
  if (options.url === '') {
    throw new CliError(
      '--url is empty: name the PostgreSQL database (postgres://user@host:5432/database)',
      EXIT.USAGE,
    );
  }
  if (options.schema === '') {
    throw new CliError(
      '--schema is empty: name the PostgreSQL schema of the store (or leave --schema out)',
      EXIT.USAGE,
    );
  }
  const postgres = typedPostgresOption(options);
  if (options.dir !== undefined && postgres) {
    throw new CliError(
      `--dir names a file store and ${postgres} a PostgreSQL one: pass the options of one store`,
      EXIT.USAGE,
    );
  }
  if (options.store === 'file' && postgres) {
    throw new CliError(
      `${postgres} names a PostgreSQL store and --store file the file store: pass the options of one store`,
      EXIT.USAGE,
    );
  }
}

/**
 * Which store. What was typed decides before the environment: `--store`, else postgres when
 * `--url` or `--schema` is given, else the file store when `--dir` is; only then
 * `CHECKPOINT_STORE`, else file. (A `--dir` under `CHECKPOINT_STORE=postgres` read the database
 * and ignored the folder typed.)
 */
export function storeKind(options: StoreOptions, env: NodeJS.ProcessEnv): 'file' | 'postgres' {
  checkStoreOptions(options);
  const typed =
    options.store ??
    (typedPostgresOption(options) ? 'postgres' : options.dir !== undefined ? 'file' : undefined);
  const kind =
    typed ??
    (env.CHECKPOINT_STORE
      ? checkSpelling(env.CHECKPOINT_STORE, 'CHECKPOINT_STORE', 'word')
      : 'file');
  if (kind === 'file' || kind === 'postgres') return kind;
  throw new CliError(
    `CHECKPOINT_STORE is "${printable(kind)}", an unknown store (expected "file" or "postgres")`,
    EXIT.USAGE,
  );
}

/** Opens the store the options name; a file store folder that cannot be one is refused first. */
export async function openStore(
  options: StoreOptions,
  env: NodeJS.ProcessEnv,
  warn: (message: string) => void,
  { create = false }: { create?: boolean } = {},
): Promise<StoreHandle> {
  if (storeKind(options, env) === 'postgres') return openPostgres(options, env, create);
  const dir = storeDir(options, env);
  await checkStoreDir(dir);
  return openFileStore(dir, warn, options.dir);
}

/**
 * A file store in `dir` (relative to the working directory). Its warnings (a torn journal tail it
 * dropped, a checkpoint `ls` cannot read) go to `warn`.
 */
export function openFileStore(
  dir: string,
  warn: (message: string) => void,
  /** The `--dir` given on the command line, if any: repeated in the repair hint. */
  dirFlag?: string,
): StoreHandle {
  const absolute = resolve(dir);
  const store = fileStore({ dir: absolute, onWarning: (warning) => warn(warning.message) });
  return {
    kind: 'file',
    store,
    dir: absolute,
    // Printed on stdout too (`ls`, `rm`): a folder name with control characters is escaped.
    description: `file store at ${printable(dir)}`,
    read: async (id) => {
      try {
        // Junk under a checkpoint's name is refused from its first bytes, not read whole. A
        // checkpoint in the store is not size-limited: the store wrote it.
        await sniffFile(join(absolute, checkpointFileName(id)), Number.POSITIVE_INFINITY);
        await sniffFile(join(absolute, journalFileName(id)), Number.POSITIVE_INFINITY);
        // The ack mark too: a named pipe there is said as one (exit 2), as at the other names.
        const ack = checkpointFilesOf(checkpointFileName(id))?.ack;
        if (ack !== undefined) await refuseNonFile(join(absolute, ack));
        const parsed = await readCheckpointFiles(absolute, id);
        if (parsed) warnDamage(parsed, join(absolute, journalFileName(id)), warn);
        return parsed?.checkpoint ?? null;
      } catch (error) {
        throw repairable(error) ? new DamagedCheckpointError(error, id, dirFlag) : error;
      }
    },
    lockOwner: (id) => readLockOwner(absolute, id),
    repair: (id) => store.repair(id),
    close: async () => {
      await store.close?.();
    },
  };
}

/** Damage that `repair` can deal with: not a file of a newer format version, which it refuses. */
function repairable(error: unknown): error is CheckpointFormatError {
  return (
    error instanceof CheckpointFormatError &&
    !(error instanceof CheckpointFileError && error.kind === 'version')
  );
}

/**
 * `create`: make the schema's tables when they are missing (only `migrate` writes a new
 * checkpoint). Every other verb reads or changes checkpoints that a job made, so a schema without
 * tables is a mistyped `--schema`, reported instead of created.
 */
async function openPostgres(
  options: StoreOptions,
  env: NodeJS.ProcessEnv,
  create: boolean,
): Promise<StoreHandle> {
  const url = options.url ?? env.DATABASE_URL;
  if (!url) {
    const chosenBy = typedPostgresOption(options) ?? 'CHECKPOINT_STORE=postgres';
    throw new CliError(
      `${chosenBy} needs a connection string: pass --url or set DATABASE_URL`,
      EXIT.USAGE,
    );
  }
  checkConnectionString(url, options.url !== undefined ? '--url' : 'DATABASE_URL');
  // Loaded only here, so the file store path never loads pg.
  const { postgresStore } = await import('@checkpointkit/storage-postgres');
  const store = usageOf(() =>
    postgresStore({
      connectionString: url,
      migrate: create,
      maxConnections: 2,
      applicationName: 'checkpointkit-cli',
      // A person is waiting: a server that is down is reported within seconds, not after the
      // 30 s a job would wait out a restart.
      retry: { maxOutageMs: 3000 },
      connectTimeoutMs: 5000,
      ...(options.schema ? { schema: options.schema } : {}),
    }),
  );
  return {
    kind: 'postgres',
    store,
    description: store.description,
    read: (id) => store.load(id),
    // The store's locks are advisory locks held by a session; the running session names the owner.
    lockOwner: async (id) => {
      const running = (await store.sessions(id))
        .filter((session) => session.status === 'running')
        .reverse();
      const owner = running.find((session) => session.mode === 'exclusive') ?? running[0];
      return owner ? { pid: owner.pid, host: owner.host, since: owner.startedAt } : null;
    },
    close: async () => {
      await store.close?.();
    },
  };
}

/**
 * The store's own check of a connection string names its option (`connectionString`), which the
 * user never typed, and exits 1: said here as a usage error naming `--url` or `DATABASE_URL`. The
 * string is never echoed: it may hold a password.
 */
function checkConnectionString(url: string, from: string): void {
  checkSpelling(url, from, 'url');
  const expected = 'expected postgres://user@host:5432/database; the value is not shown';
  if (!/^postgres(ql)?:\/\//i.test(url)) {
    throw new CliError(`${from} is not a postgres:// URL (${expected})`, EXIT.USAGE);
  }
  try {
    new URL(url);
  } catch {
    throw new CliError(`${from} is not a valid postgres:// URL (${expected})`, EXIT.USAGE);
  }
}

/**
 * Runs the store's constructor; a schema name it refuses (storage-postgres's `SchemaNameError`,
 * known by its name as the package is loaded lazily) is a usage error naming `--schema`.
 */
function usageOf<T>(make: () => T): T {
  try {
    return make();
  } catch (error) {
    if (error instanceof Error && error.name === 'SchemaNameError') {
      throw new CliError(
        `--schema ${error.message.replace(/^postgresStore: schema /, '')}`,
        EXIT.USAGE,
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * Warns about what a reader of the file store found amiss but could still read. An incomplete
 * last batch is a crash's leftovers only when no live job holds the lock (`writing` null): with
 * one, it is the save the job is writing as we read (not acknowledged yet, so rightly not shown),
 * or a crash's leftovers the job keeps aside and cuts at its next save. Neither needs the user.
 */
export function warnDamage(
  parsed: {
    tornTail: { line: number; bytes: number } | null;
    lost: { acked: number; found: number } | null;
    writing: LockOwner | null;
  },
  journal: string,
  warn: (message: string) => void,
): void {
  if (parsed.lost) {
    const missing = parsed.lost.acked - parsed.lost.found;
    warn(
      `${journal}: DAMAGED: the journal ends at batch ${parsed.lost.found}, but batch ${parsed.lost.acked} was acknowledged: ${missing} acknowledged batch${missing === 1 ? ' is' : 'es are'} missing (the file was cut or replaced); what is shown lacks them. Run repair to keep the files aside and go on from here.`,
    );
  }
  if (parsed.tornTail && !parsed.writing) {
    warn(
      `${journal}:${parsed.tornTail.line}: ignored an incomplete last batch (${parsed.tornTail.bytes} bytes a crash left mid-write)`,
    );
  }
}
