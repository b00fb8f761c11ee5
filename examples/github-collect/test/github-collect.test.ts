import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  FIXTURE_TOKEN,
  type Fixture,
  startFixtureServer,
} from '@checkpointkit/source-github/testing';
import { fileStore } from '@checkpointkit/storage-file';
import { afterAll, describe, expect, it } from 'vitest';
import { OFFLINE_ENDPOINTS, OFFLINE_ORG, offlineScenario } from '../src/recording.js';

// Node runs the TypeScript itself, with tsx as its loader, rather than under the tsx CLI: the CLI
// relays Ctrl+C to its child and SIGKILLs it when the child does not answer within 30 ms, which a
// loaded machine misses (the job then died unsaved, with exit 130).
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
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
  const { GITHUB_TOKEN: _token, ...inherited } = process.env;
  const child = spawn(process.execPath, ['--import', tsxLoader, script], {
    cwd,
    env: {
      ...inherited,
      TSX_TSCONFIG_PATH: tsconfig,
      NO_COLOR: '1',
      CHECKPOINT_AUTO_CLEANUP: 'false',
      ...env,
    },
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

/** Every line of every JSONL file under `dir`, by file. */
async function lines(dir: string): Promise<Map<string, string[]>> {
  const files = new Map<string, string[]>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.name.endsWith('.jsonl')) continue;
    const file = join(entry.parentPath, entry.name);
    files.set(
      file.slice(dir.length + 1),
      (await readFile(file, 'utf8')).trim().split('\n').filter(Boolean),
    );
  }
  return files;
}

const idOf = (line: string) => {
  const data = JSON.parse(line) as { id?: number; sha?: string };
  return String(data.id ?? data.sha);
};

describe('the github-collect example', () => {
  it('offline: collects the recorded organization, interrupted halfway and resumed, every record once', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'ck-github-collect-'));
    dirs.push(cwd);
    const { code, output } = await start(cwd, {});
    expect(output).toContain('GITHUB_TOKEN is not set');
    expect(output).toContain('Stopped after 20 pages');
    expect(output).toMatch(/Resuming: \d+\/\d+ units done/);
    expect(output).toContain('no page fetched twice, none skipped');
    expect(code).toBe(0);
    const files = await lines(join(cwd, 'github-output'));
    expect([...files.keys()].sort()).toEqual([
      ...OFFLINE_ENDPOINTS.map((e) => `${OFFLINE_ORG}/api/${e}.jsonl`).sort(),
      ...OFFLINE_ENDPOINTS.map((e) => `${OFFLINE_ORG}/hello-world/${e}.jsonl`).sort(),
      'repositories.jsonl',
    ]);
    expect(files.get(`${OFFLINE_ORG}/hello-world/pulls.jsonl`)).toHaveLength(23);
    expect(files.get(`${OFFLINE_ORG}/hello-world/commits.jsonl`)).toHaveLength(34);
    for (const [file, content] of files)
      expect(new Set(content.map(idOf)).size, file).toBe(content.length);
  });

  it('with a token: stops on an exhausted rate limit with "resume after", then a second process resumes from the file checkpoint', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'ck-github-collect-'));
    dirs.push(cwd);
    // The offline recording with the primary limit running out at the 30th request for an hour.
    const recording = offlineScenario();
    const next = recording[29] as Fixture;
    const exhausted: Fixture = {
      ...next,
      status: 403,
      headers: {
        ...next.headers,
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': '{{now+3600}}',
      },
      response: { message: 'API rate limit exceeded for user ID 1000.' },
    };
    delete exhausted.headers['link'];
    const server = await startFixtureServer({
      scenarios: { org: [...recording.slice(0, 29), exhausted, ...recording.slice(29)] },
    });
    try {
      const baseUrl = await server.load('org');
      const env = {
        GITHUB_TOKEN: FIXTURE_TOKEN,
        GITHUB_API_URL: baseUrl,
        GITHUB_ORG: OFFLINE_ORG,
        GITHUB_ENDPOINTS: OFFLINE_ENDPOINTS.join(','),
        GITHUB_PER_PAGE: '10',
        CHECKPOINT_DIR: join(cwd, '.checkpoints'),
      };
      const first = await start(cwd, env);
      expect(first.output).toMatch(
        // The date comes first when the reset is on another day (a run in the last hour before
        // midnight UTC).
        /GitHub rate limit exhausted \(core: 0 of 5000 left\) at GET .*: resume after (\d{4}-\d\d-\d\d )?\d\d:\d\d UTC/,
      );
      expect(first.code).toBe(75);
      const saved = await fileStore({ dir: join(cwd, '.checkpoints') }).load(
        `github-collect:${OFFLINE_ORG}`,
      );
      expect(saved?.status).toBe('interrupted');
      expect(JSON.stringify(saved)).not.toContain(FIXTURE_TOKEN);

      const second = await start(cwd, env);
      expect(second.output).toMatch(/Resuming: \d+\/19 units done/);
      expect(second.output).toContain('Done: 239 records from 19 units');
      expect(second.code).toBe(0);
      expect(await server.pending(baseUrl)).toEqual([]);
      const files = await lines(join(cwd, 'github-output'));
      const all = [...files.values()].flat();
      expect(all).toHaveLength(239);
    } finally {
      await server.close();
    }
  });

  it('with a token: a unit that failed keeps the checkpoint, names the error and exits 1', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'ck-github-collect-'));
    dirs.push(cwd);
    // An API that knows no organization.
    const server = createServer((_request, response) => {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ message: 'Not Found' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const { code, output } = await start(cwd, {
        GITHUB_TOKEN: FIXTURE_TOKEN,
        GITHUB_API_URL: `http://127.0.0.1:${port}`,
        GITHUB_ORG: 'nobody',
        CHECKPOINT_DIR: join(cwd, '.checkpoints'),
      });
      expect(output).toContain('1 unit failed, checkpoint kept.');
      expect(output).toMatch(/discover\/nobody: .*404/);
      expect(code).toBe(1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
