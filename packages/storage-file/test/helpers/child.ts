import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const packageDir = fileURLToPath(new URL('../../', import.meta.url));
const script = fileURLToPath(new URL('../integration/fixtures/child.ts', import.meta.url));
const worker = fileURLToPath(new URL('../integration/fixtures/compact-worker.ts', import.meta.url));

/** A child process running test/integration/fixtures/child.ts with tsx, read line by line. */
export interface Child {
  process: ChildProcessWithoutNullStreams;
  lines: string[];
  /** Resolves with the first line (from now on, or already read) that `match` accepts. */
  waitFor(match: (line: string) => boolean): Promise<string>;
  exited: Promise<number | null>;
  /** After `exited`, once its output has ended too: every line it printed is in `lines`. */
  closed: Promise<number | null>;
  /** What it printed on stderr so far. */
  readonly stderr: string;
}

/** What the child prints once it opened the store: the lock it took, or how it was refused. */
export interface LockOutcome {
  locked?: { pid: number; host: string };
  refused?: {
    name: string;
    message: string;
    owner: { pid: number; host: string; since: string } | null;
  };
}

/** The child's outcome line (its first JSON line). */
export async function lockOutcomeOf(child: Child): Promise<LockOutcome> {
  return JSON.parse(await child.waitFor((line) => line.startsWith('{'))) as LockOutcome;
}

/**
 * Bundles the child script into one JavaScript file in `outDir`: a test that restarts the child
 * hundreds of times then pays a Node start each time, not a TypeScript toolchain start.
 * The bundle resolves workspace packages through the same tsconfig paths tsx reads. The
 * compaction worker goes beside it as `compact-worker.js`, where the store looks for it.
 */
export async function bundleChild(outDir: string): Promise<string> {
  const outfile = join(outDir, 'child.mjs');
  await bundle(script, outfile);
  // The worker module runs for its side effect, which the package's `sideEffects: false` would
  // let esbuild drop from the bundle (the worker would then exit without an answer).
  await bundle(worker, join(outDir, 'compact-worker.js'), { ignoreAnnotations: true });
  return outfile;
}

async function bundle(
  entry: string,
  outfile: string,
  options: { ignoreAnnotations?: boolean } = {},
): Promise<void> {
  await build({
    ...options,
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    tsconfig: join(packageDir, 'tsconfig.json'),
    logLevel: 'warning',
    // CommonJS dependencies use require and __filename.
    banner: {
      js: [
        "import { createRequire as __ckRequire } from 'node:module';",
        'const require = __ckRequire(import.meta.url);',
        'const __filename = import.meta.filename;',
        'const __dirname = import.meta.dirname;',
      ].join(' '),
    },
  });
}

/**
 * Starts the child with tsx, or from a bundle made by {@link bundleChild}. `fileSizeLimitKiB`
 * runs it under `ulimit -f`: a write past that size fails with EFBIG, as on a full disk a write
 * fails with ENOSPC (Node ignores SIGXFSZ, so the process lives on to see the error).
 */
export function startChild(
  args: string[],
  options: {
    bundle?: string;
    fileSizeLimitKiB?: number;
    unreapedWhenKilled?: boolean;
    /** Variables added to the child's environment (see fixtures/child.ts). */
    env?: Record<string, string>;
  } = {},
): Child {
  const command = options.bundle ? [options.bundle, ...args] : ['--import', 'tsx', script, ...args];
  const limit = options.fileSizeLimitKiB;
  // unreapedWhenKilled: the child runs in the background of a shell that then becomes `sleep`,
  // which never waits for it: killed, it stays a zombie (its pid still answers kill -0) until
  // this Child's process (the sleep) is killed too. `hold` holds its lock until killed then.
  const [file, argv] = options.unreapedWhenKilled
    ? ['bash', ['-c', '"$0" "$@" & exec sleep 3600', process.execPath, ...command]]
    : limit === undefined
      ? [process.execPath, command]
      : ['bash', ['-c', `ulimit -f ${limit} && exec "$0" "$@"`, process.execPath, ...command]];
  const child = spawn(file, argv, {
    cwd: packageDir,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: {
      ...process.env,
      ...options.env,
      ...(options.unreapedWhenKilled && { HOLD_UNTIL_KILLED: '1' }),
    },
  });
  const lines: string[] = [];
  const waiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  let buffer = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffer += chunk;
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.match(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // 'exit' can come before the last lines are read from the pipe: a waiter gives up only once
  // the output has ended too ('close').
  const closed = new Promise<number | null>((resolve) =>
    child.on('close', (code) => resolve(code)),
  );
  return {
    process: child,
    lines,
    exited,
    closed,
    get stderr() {
      return stderr;
    },
    waitFor(match) {
      const seen = lines.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ match, resolve });
        void closed.then((code) =>
          reject(new Error(`child exited (${code}) before the expected line; stderr:\n${stderr}`)),
        );
      });
    },
  };
}

/**
 * kill -9, and wait until the process is gone (reaped), so its pid is dead for the next owner,
 * and its output has ended ('close', not 'exit'): what it printed before it died is in `lines`.
 */
export async function killHard(child: Child): Promise<void> {
  child.process.kill('SIGKILL');
  await child.closed;
}
