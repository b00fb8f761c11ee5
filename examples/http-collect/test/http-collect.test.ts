import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { demoApi } from '../src/demo-api.js';

const tsx = createRequire(import.meta.url).resolve('tsx/cli');
const script = fileURLToPath(new URL('../src/collect.ts', import.meta.url));
const tsconfig = fileURLToPath(new URL('../tsconfig.json', import.meta.url));
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

function start(
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const { API_URL: _url, API_TOKEN: _token, ...inherited } = process.env;
  const child = spawn(process.execPath, [tsx, '--tsconfig', tsconfig, script], {
    cwd,
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (data: Buffer) => {
    output += data.toString();
  });
  child.stderr.on('data', (data: Buffer) => {
    output += data.toString();
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
}

describe('examples/http-collect', () => {
  it('stops after 4 pages, resumes, and writes every post and comment once', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'http-collect-'));
    dirs.push(cwd);
    // The demo API, served here on one port for both runs (the saved cursors are its URLs), as
    // an API the job is pointed at with API_URL. Not a port found free and let go for each run
    // to take again: another process's listener or connection may get it in between.
    const api = await demoApi(0);
    try {
      const first = await start(cwd, { STOP_AFTER_PAGES: '4', API_URL: api.url });
      expect(first.output).toContain('stopped: 40 records in 4 pages');
      expect(first.code).toBe(0);
      const second = await start(cwd, { API_URL: api.url });
      expect(second.output).toMatch(/done: \d+ records/);
    } finally {
      await api.close();
    }
    const lines = (await readFile(join(cwd, 'http-output/records.jsonl'), 'utf8'))
      .trim()
      .split('\n');
    const keys = lines.map((line) => {
      const record = JSON.parse(line) as { resource: string; data: { id: number } };
      return `${record.resource}:${record.data.id}`;
    });
    expect(keys.filter((k) => k.startsWith('posts:'))).toHaveLength(60);
    expect(keys.filter((k) => k.startsWith('comments:'))).toHaveLength(180);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('an API that answers with errors: the failed unit is named, the checkpoint kept, exit 1', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'http-collect-'));
    dirs.push(cwd);
    const server = createServer((_request, response) => {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const { code, output } = await start(cwd, { API_URL: `http://127.0.0.1:${port}` });
      expect(output).toContain('done: 0 records in 0 pages, 1 unit failed (checkpoint kept)');
      expect(output).toMatch(/posts: .*page http:.*: 404 Not Found/);
      expect(code).toBe(1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
