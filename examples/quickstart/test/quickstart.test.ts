import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fileStore } from '@checkpointkit/storage-file';
import { afterAll, describe, expect, it } from 'vitest';

// Node runs the TypeScript itself, with tsx as its loader, rather than under the tsx CLI: the CLI
// relays Ctrl+C to its child and SIGKILLs it when the child does not answer within 30 ms, which a
// loaded machine misses (the job then died unsaved, with exit 130).
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const job = fileURLToPath(new URL('../src/job.ts', import.meta.url));
// The workspace packages resolve to their sources through this tsconfig's paths, whatever the cwd.
const tsconfig = fileURLToPath(new URL('../tsconfig.json', import.meta.url));
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

function runJob(
  cwd: string,
  interruptOnOutput?: RegExp,
  signal: NodeJS.Signals = 'SIGINT',
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', tsxLoader, job], {
    cwd,
    env: {
      ...process.env,
      TSX_TSCONFIG_PATH: tsconfig,
      QUICKSTART_LATENCY_MS: '20',
      QUICKSTART_PAGES: '8',
      CHECKPOINT_AUTO_CLEANUP: 'false',
      NO_COLOR: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (data: Buffer) => {
    output += data.toString();
    if (interruptOnOutput?.test(output)) {
      interruptOnOutput = undefined;
      child.kill(signal);
    }
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
}

describe('the quickstart job', () => {
  it('stops on Ctrl+C with its progress saved, and resumes to collect every reading', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'ck-quickstart-'));
    dirs.push(cwd);
    const first = await runJob(cwd, /progress: 30%/);
    expect(first.code).toBe(130);
    const interrupted = await fileStore({ dir: join(cwd, '.checkpoints') }).load(
      'quickstart:stations',
    );
    expect(interrupted?.status).toBe('interrupted');
    const doneBefore = Object.values(interrupted!.units).reduce((sum, unit) => sum + unit.done, 0);
    expect(doneBefore).toBeGreaterThan(0);
    expect(doneBefore).toBeLessThan(12 * 8 * 50);

    const second = await runJob(cwd);
    expect(second.code).toBe(0);
    expect(second.output).toContain(`Resuming: `);
    expect(second.output).toContain('Done: 12 stations, 4800 readings');
    expect(second.output).not.toContain(String.fromCharCode(27));

    await expectEveryReadingOnce(cwd);
  });

  it('after kill -9 (nothing saved on the way out), resumes with every reading in the output once', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'ck-quickstart-'));
    dirs.push(cwd);
    const first = await runJob(cwd, /progress: 30%/, 'SIGKILL');
    expect(first.code).toBe(null);
    const second = await runJob(cwd);
    expect(second.code).toBe(0);
    expect(second.output).toContain('Done: 12 stations, 4800 readings');
    await expectEveryReadingOnce(cwd);
  });
});

/** Each station's file holds its readings once each, in order. */
async function expectEveryReadingOnce(cwd: string): Promise<void> {
  const seen = new Set<string>();
  let lines = 0;
  const files = await readdir(join(cwd, 'quickstart-output'));
  expect(files).toHaveLength(12);
  for (const file of files) {
    const readings = (await readFile(join(cwd, 'quickstart-output', file), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { station: string; seq: number });
    expect(readings.map((r) => r.seq)).toEqual(Array.from({ length: 8 * 50 }, (_, seq) => seq));
    for (const reading of readings) seen.add(`${reading.station}:${reading.seq}`);
    lines += readings.length;
  }
  expect(seen.size).toBe(12 * 8 * 50);
  expect(lines).toBe(seen.size);
}
