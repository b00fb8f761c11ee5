import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));

/**
 * Bundles a child script (and the workspace sources it imports, and pg) into one ES module, so
 * that a test can start it many times at Node's own speed: tests that kill processes 50 times
 * would otherwise spend most of their time compiling TypeScript at each start.
 */
export async function bundleChild(name: string): Promise<string> {
  const entry = join(here, 'fixtures', `${name}.ts`);
  const outfile = join(
    await mkdtemp(join(tmpdir(), 'checkpointkit-child-')),
    `${basename(entry, '.ts')}.mjs`,
  );
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    tsconfig: join(here, '..', 'tsconfig.json'),
    external: ['pg-native', 'pg-cloudflare', 'cloudflare:sockets'],
    banner: {
      js: "import { createRequire as __ckRequire } from 'node:module'; const require = __ckRequire(import.meta.url);",
    },
    logLevel: 'silent',
  });
  return outfile;
}

/** A started child: counts the lines it printed, and tells when it exits. */
export interface Child {
  readonly process: import('node:child_process').ChildProcess;
  /** Lines printed so far. */
  readonly lines: string[];
  /** Resolves when `count` lines were printed (or the child's output ended first: false). */
  waitForLines(count: number): Promise<boolean>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

export function startChild(file: string, env: Record<string, string>): Child {
  const child = spawn(process.execPath, [file], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  let waiters: { count: number; resolve: (ok: boolean) => void }[] = [];
  let buffered = '';
  let closed = false;
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts);
    waiters = waiters.filter((waiter) => {
      if (lines.length < waiter.count) return true;
      waiter.resolve(true);
      return false;
    });
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stderr: string;
  }>((resolve) => {
    // 'close', not 'exit': lines may still be in the pipe when the process exits.
    child.on('close', (code, signal) => {
      closed = true;
      for (const waiter of waiters) waiter.resolve(false);
      waiters = [];
      resolve({ code, signal, stderr });
    });
  });
  return {
    process: child,
    lines,
    exited,
    waitForLines(count) {
      if (lines.length >= count) return Promise.resolve(true);
      if (closed) return Promise.resolve(false);
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
  };
}
