import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const demo = fileURLToPath(new URL('../src/demo.ts', import.meta.url));
const tsconfig = fileURLToPath(new URL('../tsconfig.json', import.meta.url));
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('the demo (./scripts/demo)', () => {
  it('presses Ctrl+C only once the job runs, however long it took to start, and then resumes', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'ck-demo-'));
    dirs.push(cwd);
    // Every Node process of the demo starts 3 s late, as on a busy machine: longer than the 2 s
    // the demo waits before it presses Ctrl+C.
    const slowStart = '--import=data:text/javascript,await(new(Promise)((r)=>setTimeout(r,3000)))';
    const child = spawn(process.execPath, ['--import', tsxLoader, demo], {
      cwd,
      env: { ...process.env, TSX_TSCONFIG_PATH: tsconfig, NODE_OPTIONS: slowStart, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (data: Buffer) => {
      output += data.toString();
    });
    child.stderr.on('data', (data: Buffer) => {
      output += data.toString();
    });
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(output).toContain('exited with code 130');
    expect(output).toMatch(/Resuming: \d+\/12 stations done, [1-9]\d* readings collected\./);
    expect(output).toContain('Done: 12 stations, 6000 readings');
    expect(output).toContain('status    completed');
    expect(code).toBe(0);
  }, 300_000);
});
