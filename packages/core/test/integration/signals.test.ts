import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonlStore } from './fixtures/jsonl-store.js';

// Node runs the TypeScript itself, with tsx as its loader, rather than under the tsx CLI: the CLI
// relays Ctrl+C to its child and SIGKILLs it when the child does not answer within 30 ms, which a
// loaded machine misses (the job then died unsaved, with exit 130).
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const child = fileURLToPath(new URL('./fixtures/signal-child.ts', import.meta.url));
const dirs: string[] = [];

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function interruptChild(
  signal: 'SIGINT' | 'SIGTERM',
): Promise<{ code: number | null; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'ck-signal-'));
  dirs.push(dir);
  const file = join(dir, 'job.jsonl');
  const proc = spawn(process.execPath, ['--import', tsxLoader, child, file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    proc.stdout.on('data', (data: Buffer) => data.toString().includes('ready') && resolve());
    // 'close', not 'exit': "ready" may still be in the pipe when the process exits.
    proc.on('close', (code) => reject(new Error(`child exited early with ${code}`)));
  });
  proc.kill(signal);
  const code = await new Promise<number | null>((resolve) => proc.on('exit', resolve));
  return { code, file };
}

describe('a real process stopped by a signal', () => {
  for (const [signal, expected] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`saves its progress, marks itself interrupted and exits ${expected} on ${signal}`, async () => {
      const { code, file } = await interruptChild(signal);
      expect(code).toBe(expected);
      const saved = await jsonlStore(file).load('job');
      expect(saved?.status).toBe('interrupted');
      expect(saved?.units['a']?.status).toBe('complete');
      expect(saved?.units['b']).toMatchObject({ cursor: 'page-2', done: 50 });
      expect(saved?.meta.lastSaveReason).toBe(`Interrupted by ${signal}`);
    });
  }
});

describe('a job whose output is read slowly', () => {
  it('exits on a signal only once its last log lines have left it', async () => {
    // Node writes to a pipe asynchronously: while the reader (a log collector, `| tee`) lags, a
    // job's lines queue in the process, and process.exit would drop them.
    const dir = await mkdtemp(join(tmpdir(), 'ck-signal-'));
    dirs.push(dir);
    const lines = 100_000; // about 1 MB: more than the reader buffers while paused
    const proc = spawn(process.execPath, ['--import', tsxLoader, child, join(dir, 'job.jsonl')], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, LOG_LINES: String(lines) },
    });
    let out = '';
    const closed = new Promise<number | null>((resolve) => proc.on('close', resolve));
    const ready = new Promise<void>((resolve) => {
      proc.stdout.on('data', (data: Buffer) => {
        out += data.toString();
        if (out.includes('ready\n')) resolve();
      });
    });
    await ready;
    proc.stdout.pause(); // the reader lags: the pipe fills and the job's lines queue
    // Let the job queue its lines, stop it, and read again a moment later.
    await new Promise((resolve) => setTimeout(resolve, 300));
    proc.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    proc.stdout.resume();
    expect(await closed).toBe(143);
    const logged = out.split('\n').filter((line) => line.startsWith('log '));
    expect(logged).toHaveLength(lines);
    expect(logged.at(-1)).toBe(`log ${lines - 1}`);
    const saved = await jsonlStore(join(dir, 'job.jsonl')).load('job');
    expect(saved?.status).toBe('interrupted');
  });
  it('exits all the same when its output is never read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ck-signal-'));
    dirs.push(dir);
    const proc = spawn(process.execPath, ['--import', tsxLoader, child, join(dir, 'job.jsonl')], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, LOG_LINES: '100000' },
    });
    const exited = new Promise<number | null>((resolve) => proc.on('exit', resolve));
    await new Promise<void>((resolve) =>
      proc.stdout.on('data', (data: Buffer) => data.toString().includes('ready') && resolve()),
    );
    proc.stdout.pause(); // and never resumed: a log collector that hangs
    proc.kill('SIGTERM');
    // The wait for the output is bounded: the job exits, its progress saved.
    expect(await exited).toBe(143);
    const saved = await jsonlStore(join(dir, 'job.jsonl')).load('job');
    expect(saved?.status).toBe('interrupted');
    proc.stdout.destroy();
  }, 30_000);
});

describe('a second signal while the runs are saving', () => {
  it('exits at once, with the code of the signal, though the save never ends', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ck-signal-'));
    dirs.push(dir);
    const proc = spawn(process.execPath, ['--import', tsxLoader, child, join(dir, 'job.jsonl')], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, STALL_ON_SAVE: '1' },
    });
    let out = '';
    proc.stdout.on('data', (data: Buffer) => {
      out += data.toString();
    });
    const closed = new Promise<number | null>((resolve) => proc.on('close', resolve));
    const seen = async (line: string) => {
      while (!out.includes(`${line}\n`)) {
        const ended = await Promise.race([
          closed.then(() => true),
          new Promise<false>((resolve) => proc.stdout.once('data', () => resolve(false))),
        ]);
        if (ended && !out.includes(`${line}\n`)) throw new Error(`child exited before "${line}"`);
      }
    };
    await seen('ready');
    proc.kill('SIGINT');
    await seen('saving');
    proc.kill('SIGTERM');
    // Without the second signal the process would wait for the stalled save for ever (and the
    // test time out).
    expect(await closed).toBe(143);
    // A guard against the hang this test exists to catch, well below the integration default.
  }, 60_000);
});
