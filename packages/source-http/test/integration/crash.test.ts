import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CursorApi, startCursorApi } from '../servers/cursor-api.js';

const PAGES = 8;
const SIZE = 3;
const child = fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url));
const cwd = fileURLToPath(new URL('../..', import.meta.url));

/** Runs the child job; `hold` (a request number) is answered never, and the child is killed then. */
function runChild(api: CursorApi, dir: string, out: string, hold?: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const process_ = spawn(process.execPath, ['--import', 'tsx', child, api.url, dir, out], {
      cwd,
    });
    let output = '';
    process_.stdout.on('data', (chunk) => {
      output += chunk;
    });
    process_.stderr.on('data', (chunk) => {
      output += chunk;
    });
    api.script =
      hold === undefined
        ? undefined
        : (_request, _response, n) => {
            // The page in flight when the job dies: left unanswered, then the job is killed.
            if (n !== hold) return false;
            process_.kill('SIGKILL');
            return true;
          };
    process_.on('error', reject);
    // 'close', not 'exit': the output may still be in the pipe when the process exits.
    process_.on('close', () => resolve(output));
  });
}

describe('kill -9 after every page k, then resume', () => {
  let api: CursorApi;
  beforeAll(async () => {
    api = await startCursorApi({ posts: PAGES * SIZE, size: SIZE });
  });
  afterAll(() => api.close());

  it.each(Array.from({ length: PAGES - 1 }, (_, k) => k + 1))(
    'killed while page %i+1 is in flight: resumes at that page, every record once',
    async (k) => {
      const dir = mkdtempSync(join(tmpdir(), 'source-http-crash-'));
      try {
        const out = join(dir, 'out.jsonl');
        api.requests.length = 0;
        const first = await runChild(api, dir, out, k + 1);
        expect(first.match(/^page$/gm)?.length).toBe(k);
        expect(api.requests).toHaveLength(k + 1);
        // What the killed job left on disk holds its cursor, never its token.
        const left = readdirSync(dir).filter((f) => f !== 'out.jsonl');
        expect(left.length).toBeGreaterThan(0);
        for (const file of left) {
          if (statSync(join(dir, file)).isFile())
            expect(readFileSync(join(dir, file), 'utf8')).not.toContain('crash-test-secret');
        }
        api.requests.length = 0;
        const second = await runChild(api, dir, out);
        expect(second).toContain('done');
        // Only the page in flight is fetched again; the k acknowledged pages are not.
        expect(api.requests).toHaveLength(PAGES - k);
        expect(api.requests[0]?.url).toContain(
          `cursor=${Buffer.from(String(k * SIZE)).toString('base64url')}`,
        );
        const ids = readFileSync(out, 'utf8')
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line).id);
        expect(ids).toEqual(Array.from({ length: PAGES * SIZE }, (_, i) => i + 1));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
