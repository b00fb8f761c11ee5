/**
 * A page's body cut off mid-stream, and a job stopped with Ctrl+C while a page's body is half
 * read: the next run must write exactly the records of a run that was never interrupted, no page
 * lost or doubled, and what the stopped job left on disk holds its cursor, never its token.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileStore } from '@checkpointkit/storage-file';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bodyCursor, type HttpSourceOptions } from '../../src/index.js';
import { collect } from '../helpers.js';
import { type CursorApi, startCursorApi } from '../servers/cursor-api.js';

const PAGES = 5;
const SIZE = 3;
const child = fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url));
const cwd = fileURLToPath(new URL('../..', import.meta.url));

/** What a run that was never interrupted writes: every post once, in order. */
const EVERY_ID = Array.from({ length: PAGES * SIZE }, (_, i) => i + 1);

/** Answers with headers and half the body a Content-Length promises, then nothing more. */
function halfABody(response: ServerResponse): void {
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': '400' });
  response.write('{"data": [{"id": 7, "title": "post');
}

describe('bodies cut short, and Ctrl+C', () => {
  let api: CursorApi;
  let dir: string;
  beforeEach(async () => {
    api = await startCursorApi({ posts: PAGES * SIZE, size: SIZE });
    dir = mkdtempSync(join(tmpdir(), 'source-http-interrupt-'));
  });
  afterEach(async () => {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the child job; `onRequest` may answer a request itself, given the child process. */
  const runChild = (
    onRequest?: (n: number, job: ReturnType<typeof spawn>, response: ServerResponse) => boolean,
  ) =>
    new Promise<{ output: string; code: number | null }>((resolve, reject) => {
      const job = spawn(
        process.execPath,
        ['--import', 'tsx', child, api.url, dir, join(dir, 'out.jsonl')],
        { cwd },
      );
      let output = '';
      job.stdout.on('data', (chunk) => {
        output += chunk;
      });
      job.stderr.on('data', (chunk) => {
        output += chunk;
      });
      api.script = onRequest && ((_request, response, n) => onRequest(n, job, response));
      job.on('error', reject);
      job.on('close', (code) => resolve({ output, code }));
    });
  /** The child's job (fixtures/crash-child.ts), as options of this process. */
  const jobOptions = (token: string): HttpSourceOptions => ({
    baseUrl: api.url,
    auth: { type: 'bearer', token },
    paginator: bodyCursor({ pointer: '/meta/next_cursor', param: 'cursor' }),
    resources: [{ name: 'posts', path: '/posts', records: '/data' }],
  });
  const written = () =>
    readFileSync(join(dir, 'out.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).id);

  it('Ctrl+C while page 3 is half read: exits 130, and the resumed job writes every record once', async () => {
    const first = await runChild((n, job, response) => {
      if (n !== 3) return false;
      halfABody(response);
      // Once the half body is on its way: the job is reading it when the signal lands.
      setImmediate(() => job.kill('SIGINT'));
      return true;
    });
    expect(first.code).toBe(130);
    expect(first.output.match(/^page$/gm)).toHaveLength(2);
    expect(written()).toEqual(EVERY_ID.slice(0, 2 * SIZE));
    for (const file of readdirSync(dir))
      if (statSync(join(dir, file)).isFile())
        expect(readFileSync(join(dir, file), 'utf8')).not.toContain('crash-test-secret');

    // Resumed in this process (a second child costs seconds of start-up), as the child's job.
    api.script = undefined;
    api.requests.length = 0;
    const second = await collect(jobOptions('crash-test-secret'), fileStore({ dir }), 'crash');
    await second.run.close();
    // Page 3 is asked again, the two saved pages are not.
    expect(api.requests).toHaveLength(PAGES - 2);
    expect([...written(), ...second.records.map((r) => (r.data as { id: number }).id)]).toEqual(
      EVERY_ID,
    );
  });

  it('a body cut on page 3 on every try: the unit fails retryable at page 3, the next run reads on from there', async () => {
    const options = { ...jobOptions('cut-body-secret'), retries: 1 };
    api.script = (_request, response, n) => {
      if (n < 3) return false;
      halfABody(response);
      // A reset mid-body, then (next try) a clean close short of the Content-Length.
      setImmediate(() => (n === 3 ? response.socket?.resetAndDestroy() : response.socket?.end()));
      return true;
    };
    const first = await collect(options, fileStore({ dir }), 'cut');
    await first.run.close();
    expect(first.records.map((r) => (r.data as { id: number }).id)).toEqual(
      EVERY_ID.slice(0, 2 * SIZE),
    );
    const error = first.run.unit('posts')?.error;
    expect(error).toMatchObject({ retryable: true });
    expect(error?.message).toMatch(
      /page http:\/\/127\.0\.0\.1:\d+\/posts\?cursor=\S+: network error/,
    );
    expect(JSON.stringify(first.run.checkpoint)).not.toContain('cut-body-secret');

    api.script = undefined;
    api.requests.length = 0;
    const second = await collect(options, fileStore({ dir }), 'cut');
    await second.run.close();
    expect(api.requests).toHaveLength(PAGES - 2);
    expect(second.records.map((r) => (r.data as { id: number }).id)).toEqual(
      EVERY_ID.slice(2 * SIZE),
    );
  });
});
