import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const packageDir = fileURLToPath(new URL('../../', import.meta.url));
const script = fileURLToPath(new URL('../integration/fixtures/job.ts', import.meta.url));

/** A child process running a bundled job (test/integration/fixtures/job.ts by default), read line by line. */
export interface Child {
  process: ChildProcessWithoutNullStreams;
  lines: string[];
  /** Resolves with the first line (already read or to come) that `match` accepts. */
  waitFor(match: (line: string) => boolean): Promise<string>;
  /** Resolves with how many lines `match` accepts once there are `count` of them. */
  waitForCount(match: (line: string) => boolean, count: number): Promise<void>;
  exited: Promise<number | null>;
  /** After `exited`, once its output has ended too: every line it printed is in `lines`. */
  closed: Promise<number | null>;
  /** What it printed on stderr so far. */
  readonly stderr: string;
}

/**
 * Bundles the job into one JavaScript file in `outDir`, so that each of the many restarts pays
 * a Node start, not a TypeScript toolchain start. Workspace packages resolve through the
 * tsconfig paths, from their sources.
 */
export async function bundleJob(outDir: string, entry = script): Promise<string> {
  const outfile = join(outDir, 'job.mjs');
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    tsconfig: join(packageDir, 'tsconfig.json'),
    logLevel: 'warning',
    banner: {
      js: "import { createRequire as __ckRequire } from 'node:module'; const require = __ckRequire(import.meta.url);",
    },
  });
  return outfile;
}

/** Starts the bundled job with `args`, in the working directory `cwd` (this process's by default). */
export function startJob(bundle: string, args: string[], cwd?: string): Child {
  const child = spawn(process.execPath, [bundle, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(cwd !== undefined && { cwd }),
  });
  const lines: string[] = [];
  let waiters: (() => void)[] = [];
  let buffer = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffer += chunk;
    const parts = buffer.split('\n');
    buffer = parts.pop() as string;
    lines.push(...parts);
    const current = waiters;
    waiters = [];
    for (const wake of current) wake();
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
  const waitUntil = (done: () => boolean) =>
    new Promise<void>((resolve, reject) => {
      let finished = false;
      const check = () => {
        if (finished) return;
        if (done()) {
          finished = true;
          resolve();
        } else waiters.push(check);
      };
      void closed.then(() => {
        if (finished) return;
        if (done()) resolve();
        else reject(new Error(`the job exited before the expected line; stderr:\n${stderr}`));
        finished = true;
      });
      check();
    });
  return {
    process: child,
    lines,
    exited,
    closed,
    get stderr() {
      return stderr;
    },
    async waitFor(match) {
      await waitUntil(() => lines.some(match));
      return lines.find(match) as string;
    },
    waitForCount: (match, count) => waitUntil(() => lines.filter(match).length >= count),
  };
}

/** kill -9, and wait until the process is gone and its output has ended ('close', not 'exit'). */
export async function killHard(child: Child): Promise<void> {
  child.process.kill('SIGKILL');
  await child.closed;
}
