import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fileStore } from '@checkpointkit/storage-file';
import { describe, expect, it } from 'vitest';
import { main, readComments } from '../src/seed-001-full-migration.js';
import { tempDir } from './helpers.js';

// Node runs the TypeScript itself, with tsx as its loader, rather than under the tsx CLI: the CLI
// relays Ctrl+C to its child and SIGKILLs it when the child does not answer within 30 ms, which a
// loaded machine misses (the job then died unsaved, with exit 130).
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const recipe = fileURLToPath(new URL('../src/seed-001-full-migration.ts', import.meta.url));
const tsconfig = fileURLToPath(new URL('../tsconfig.json', import.meta.url));

/** Runs the recipe as a script and presses Ctrl+C (SIGINT) once `line` is printed. */
function runAndInterrupt(
  dir: string,
  line: RegExp,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', tsxLoader, recipe], {
    env: { ...process.env, TSX_TSCONFIG_PATH: tsconfig, RECIPE_DIR: dir, RECIPE_LATENCY_MS: '100' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let sent = false;
  const collect = (data: Buffer) => {
    output += data.toString();
    if (!sent && line.test(output)) {
      sent = true;
      child.kill('SIGINT');
    }
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
}

describe('recipe 001: the full migration run', () => {
  it('exits 130 on Ctrl+C with progress saved, keeps the checkpoint when a page fails, then finishes', async () => {
    const dir = await tempDir('001');
    const interrupted = await runAndInterrupt(dir, /blog_hello:localhost: 8 comments/);
    expect(interrupted.code, interrupted.output).toBe(130);
    const saved = await fileStore({ dir: join(dir, '.checkpoints') }).load('comment-migration');
    expect(saved?.status).toBe('interrupted');
    const blog = saved?.units['rooms/#blog_hello:localhost'];
    expect(blog?.done).toBeGreaterThanOrEqual(8);
    expect(blog?.status).not.toBe('complete');

    const lines: string[] = [];
    const second = await main({ dir, forbidDocsOnce: true, log: (l) => lines.push(l) });
    expect(second.resumed).toBe(true);
    expect(lines[0]).toBe('Resuming migration from checkpoint: 0 pages already completed');
    expect(second.exitCode).toBe(1);
    expect(second.cleared).toBe(false);
    expect(second.summary.counts).toMatchObject({ complete: 2, failed: 1 });
    expect(lines).toContain('Checkpoint preserved for recovery');

    const third = await main({ dir, log: () => {} });
    expect(third.exitCode).toBe(0);
    expect(third.cleared).toBe(true);
    expect(third.unresolved).toEqual([]);

    const comments = await readComments(join(dir, 'comments.jsonl'));
    expect(comments).toHaveLength(30);
    expect(new Set(comments.map((c) => c.matrixEventId)).size).toBe(30);
    const byBody = (body: string) => comments.filter((c) => c.body === body);
    for (const reply of byBody('A reply to the reply')) {
      const parent = comments.find((c) => c.id === reply.parentId);
      expect(parent?.body).toBe('A reply to the first comment');
      expect(parent?.page).toBe(reply.page);
    }
    for (const threaded of byBody('In the thread of the first comment')) {
      expect(comments.find((c) => c.id === threaded.parentId)?.body).toMatch(/^First comment on/);
    }
  });
});
