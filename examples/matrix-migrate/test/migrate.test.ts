import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fileStore } from '@checkpointkit/storage-file';
import { afterAll, describe, expect, it } from 'vitest';
import type { StoredComment } from '../src/comments-store.js';

// Node runs the TypeScript itself, with tsx as its loader, rather than under the tsx CLI: the CLI
// relays Ctrl+C to its child and SIGKILLs it when the child does not answer within 30 ms, which a
// loaded machine misses (the job then died unsaved, with exit 130).
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const job = fileURLToPath(new URL('../src/migrate.ts', import.meta.url));
// The workspace packages resolve to their sources through this tsconfig's paths, whatever the cwd.
const tsconfig = fileURLToPath(new URL('../tsconfig.json', import.meta.url));
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

function migrate(
  cwd: string,
  interruptOnOutput?: RegExp,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', tsxLoader, job], {
    cwd,
    env: { ...process.env, TSX_TSCONFIG_PATH: tsconfig, DEMO_LATENCY_MS: '25', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (data: Buffer) => {
    output += data.toString();
    if (interruptOnOutput?.test(output)) {
      interruptOnOutput = undefined;
      child.kill('SIGINT');
    }
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
}

async function comments(cwd: string): Promise<StoredComment[]> {
  const text = await readFile(join(cwd, 'matrix-migrate-output', 'comments.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as StoredComment);
}

describe('the matrix-migrate example', () => {
  it('stops on Ctrl+C with progress saved, resumes at the page it stopped at, and links every reply', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'ck-matrix-migrate-'));
    dirs.push(cwd);
    // Interrupt in the middle of the second room (the first is the recorded one).
    const first = await migrate(
      cwd,
      /page rooms\/#blog_hello-world:localhost: \+\d+ \(\d+ in this room\)\n[\s\S]*page rooms\/#blog_hello-world/,
    );
    expect(first.code).toBe(130);
    expect(first.output).toContain(
      'Migration interrupted by user. Progress has been saved. Run again to resume.',
    );
    // The interrupt message is the last word: no report of a migration that did not end.
    expect(first.output).not.toContain('Migration Complete');
    const saved = await fileStore({ dir: join(cwd, '.checkpoints') }).load('matrix-migrate');
    expect(saved?.status).toBe('interrupted');
    expect(saved?.units['rooms/#room1795432296435:localhost']?.status).toBe('complete');
    const blog = saved?.units['rooms/#blog_hello-world:localhost'];
    expect(blog?.status).toBe('in_progress');
    expect(blog?.done).toBeGreaterThan(0);
    const before = await comments(cwd);
    expect(before.length).toBeLessThan(58);

    const second = await migrate(cwd);
    expect(second.code, second.output).toBe(0);
    expect(second.output).toContain(
      'Resuming migration from checkpoint: 1 pages already completed',
    );
    // The recorded room is not read again; the blog room goes on from its count, not from zero.
    expect(second.output).not.toContain('page rooms/#room1795432296435');
    const resumedBlog =
      /page rooms\/#blog_hello-world:localhost: \+(\d+) \((\d+) in this room\)/.exec(
        second.output,
      )!;
    expect(Number(resumedBlog[2])).toBeGreaterThan(Number(resumedBlog[1]));
    for (const line of [
      'Total pages: 4',
      'Completed: 4',
      'Failed: 0',
      'Comments extracted: 58',
      'Comments imported: 58',
      'Failed imports: 0',
      'ID mappings: 58',
      'Replies whose parent was never imported: 1',
      'All pages migrated successfully, checkpoint cleared',
    ]) {
      expect(second.output).toContain(line);
    }
    expect(await fileStore({ dir: join(cwd, '.checkpoints') }).load('matrix-migrate')).toBeNull();

    // Each Matrix message became exactly one comment, and every reply points at its parent's comment.
    const all = await comments(cwd);
    const byEvent = new Map(all.map((c) => [c.matrix_event_id, c]));
    expect(all).toHaveLength(58);
    expect(byEvent.size).toBe(58);
    let linked = 0;
    for (const comment of all) {
      if (comment.matrix_parent_event_id === null) continue;
      const parent = byEvent.get(comment.matrix_parent_event_id);
      if (parent === undefined) {
        expect(comment.matrix_parent_event_id).toBe('$deletedBeforeTheMigration');
        expect(comment.parent_id).toBeNull();
      } else {
        expect(comment.parent_id).toBe(parent.id);
        linked += 1;
      }
    }
    expect(linked).toBe(16);
    expect(
      all.find((c) => c.body === 'Will there be an RSS or Atom feed?')?.edited_at,
    ).not.toBeNull();
    expect(all.filter((c) => c.deleted)).toHaveLength(2);
    expect(all.some((c) => c.body?.startsWith('> '))).toBe(false);
  });
});
