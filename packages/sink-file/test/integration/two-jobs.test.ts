/**
 * Two different jobs (two checkpoints: two file stores, or two ids in one store) whose file sinks
 * name one output, each in a child process: B starts at a random page of A, either may be killed
 * with SIGKILL at a random page, then each is run again until it ends (or refuses for good), one
 * after the other. B names the file under another spelling each round: the same absolute path, a
 * relative one, a symbolic link to it, a link to its folder, a hard link.
 *
 * Whatever happened, every row a job's checkpoint acknowledges must be in some file under the
 * folder (the output, a part, or a file kept aside as `.replaced-<time>`) exactly as that
 * checkpoint says: the recorded part's first `bytes` bytes, and each part before it whole, equal
 * an uninterrupted run's. A job may be refused (the other holds the file), but never lose rows.
 * (`CK_TWO_JOBS_ROUNDS=n` runs n rounds; `CK_TWO_JOBS_LOG=1` prints what happened in each.)
 */
import { existsSync } from 'node:fs';
import { link, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCheckpointFiles } from '@checkpointkit/storage-file';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SINK_ID, partPath, recordedFiles } from '../../src/index.js';
import { bundleJob, type Child, killHard, startJob } from '../helpers/child.js';
import { removeTempDirs, tempDir } from '../helpers/jobs.js';

const ROUNDS = Number(process.env.CK_TWO_JOBS_ROUNDS ?? 24);
const SPELLINGS = ['absolute', 'relative', 'symlink', 'folder-link', 'hard-link'] as const;
type Spelling = (typeof SPELLINGS)[number];
/** Rotation in every third round: parts of 2 KiB (a job writes about 6 KiB). */
const MAX_BYTES = 2048;

let bundle: string;
beforeAll(async () => {
  const entry = fileURLToPath(new URL('./fixtures/shared-output-job.ts', import.meta.url));
  bundle = await bundleJob(await tempDir('ck-sink-bundle-'), entry);
});
afterAll(removeTempDirs);

interface Job {
  name: 'A' | 'B';
  store: string;
  id: string;
  path: string;
  cwd?: string;
  maxBytes?: number;
}

const args = (job: Job, gate = false) => [
  job.store,
  job.id,
  job.path,
  job.name,
  String(job.maxBytes ?? 0),
  ...(gate ? ['gate'] : []),
];

/** An uninterrupted run's parts (part 0 first), per tag and rotation. */
const references = new Map<string, Buffer[]>();
async function reference(name: 'A' | 'B', maxBytes?: number): Promise<Buffer[]> {
  const key = `${name}:${maxBytes ?? 0}`;
  let parts = references.get(key);
  if (parts) return parts;
  const dir = await tempDir();
  const out = join(dir, 'out.jsonl');
  const child = startJob(
    bundle,
    args({ name, store: join(dir, '.ck'), id: 'ref', path: out, maxBytes }),
  );
  await child.waitFor((line) => line === 'done');
  parts = [];
  for (let part = 0; existsSync(partPath(out, part)); part++)
    parts.push(await readFile(partPath(out, part)));
  references.set(key, parts);
  return parts;
}

/** Every output-like file under `dir` (outputs, parts, files kept aside), outside the stores. */
async function filesUnder(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const file = join(entry.parentPath, entry.name);
    if (!entry.isFile() || !entry.name.includes('.jsonl') || file.includes(`${dir}/.ck`)) continue;
    files.set(file, await readFile(file));
  }
  return files;
}

/** The rows (lines) a job's checkpoint acknowledges that no file under `dir` holds as recorded. */
async function lostRows(dir: string, job: Job): Promise<{ acknowledged: number; lost: string[] }> {
  const read = await readCheckpointFiles(job.store, job.id);
  const parts = await reference(job.name, job.maxBytes);
  const files = [...(await filesUnder(dir)).values()];
  let acknowledged = 0;
  const lost: string[] = [];
  if (!read) return { acknowledged, lost };
  for (const [, { part, bytes }] of recordedFiles(read.checkpoint, DEFAULT_SINK_ID)) {
    for (let q = 0; q <= part; q++) {
      const expected = (parts[q] as Buffer).subarray(0, q < part ? undefined : bytes);
      const rows = expected.toString('utf8').split('\n').filter(Boolean);
      acknowledged += rows.length;
      if (files.some((file) => file.subarray(0, expected.length).equals(expected))) continue;
      // Not found as recorded: name the rows no file holds at all.
      const present = new Set(files.flatMap((file) => file.toString('utf8').split('\n')));
      const missing = rows.filter((row) => !present.has(row));
      lost.push(
        ...(missing.length > 0
          ? missing
          : [
              `part ${q}: its ${expected.length} bytes are in no file as recorded (rows out of place)`,
            ]),
      );
    }
  }
  return { acknowledged, lost };
}

/** The two jobs of a round: two stores or two ids in one store; B names the output its own way. */
async function twoJobs(round: number, dir: string): Promise<[Job, Job, Spelling]> {
  const out = join(dir, 'out.jsonl');
  const spelling = SPELLINGS[round % SPELLINGS.length] as Spelling;
  const maxBytes = round % 3 === 2 ? MAX_BYTES : undefined;
  const oneStore = round % 2 === 0;
  const a: Job = {
    name: 'A',
    store: join(dir, oneStore ? '.ck' : '.ck-a'),
    id: 'job-a',
    path: out,
    maxBytes,
  };
  const b: Job = {
    name: 'B',
    store: join(dir, oneStore ? '.ck' : '.ck-b'),
    id: 'job-b',
    path: out,
    maxBytes,
  };
  if (spelling === 'relative') {
    b.path = 'out.jsonl';
    b.cwd = dir;
  } else if (spelling === 'symlink') {
    b.path = join(dir, 'link.jsonl');
    await symlink(out, b.path); // to a file not made yet
  } else if (spelling === 'folder-link') {
    const elsewhere = await tempDir();
    await symlink(dir, join(elsewhere, 'alias'));
    b.path = join(elsewhere, 'alias', 'out.jsonl');
  } else if (spelling === 'hard-link') {
    await writeFile(out, '');
    b.path = join(dir, 'hard.jsonl');
    await link(out, b.path);
  }
  return [a, b, spelling];
}

const pageLines = (child: Child) => child.lines.filter((line) => line === 'page').length;
const random = (n: number) => Math.floor(Math.random() * n);

/** Waits until `child` wrote `pages` more pages or ended, then (maybe) a moment, then kills it. */
async function killAfter(child: Child, pages: number): Promise<boolean> {
  await Promise.race([
    child.waitForCount((line) => line === 'page', pageLines(child) + pages),
    child.closed,
  ]).catch(() => {});
  if (child.process.exitCode !== null || child.process.signalCode !== null) return false;
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
  await killHard(child);
  return child.process.signalCode === 'SIGKILL';
}

/** Runs `job` until it ends: `done`, or `refused ...` (up to 3 tries when it refuses). */
async function runToEnd(job: Job): Promise<string> {
  let last = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const child = startJob(bundle, args(job), job.cwd);
    await child.closed;
    last =
      child.lines.find((line) => line === 'done' || line.startsWith('refused')) ??
      `crashed: ${child.stderr}`;
    if (last === 'done') return last;
  }
  return last;
}

describe('two jobs whose file sinks name one output', () => {
  it(`${ROUNDS} rounds: B starts at a random page of A, kill -9 at random, both run again; no acknowledged row is lost`, async () => {
    const failures: string[] = [];
    const counts = { heldWhileBothRan: 0, otherRefusals: 0, kills: 0, endedRefused: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const dir = await tempDir();
      await mkdir(dir, { recursive: true });
      const [a, b, spelling] = await twoJobs(round, dir);
      const log: string[] = [`round ${round}: B by ${spelling}${a.maxBytes ? ', rotating' : ''}`];
      // Both processes and runs ready first (a Node start takes longer than A's pages); then A's
      // pipeline starts, and B's at a random page of A.
      const childA = startJob(bundle, args(a, true), a.cwd);
      const childB = startJob(bundle, args(b, true), b.cwd);
      await childA.waitFor((line) => line === 'ready');
      await childB.waitFor((line) => line === 'ready');
      childA.process.stdin.write('go\n');
      const startAt = random(40);
      await Promise.race([
        childA.waitForCount((line) => line === 'page', startAt),
        childA.closed,
      ]).catch(() => {});
      log.push(`B starts after ${pageLines(childA)} pages of A`);
      childB.process.stdin.write('go\n');
      const action = random(4); // 0: kill A, 1: kill B, 2: kill both, 3: none
      if (action === 0 || action === 2) {
        const killed = await killAfter(childA, random(12));
        counts.kills += Number(killed);
        log.push(killed ? `A killed after ${pageLines(childA)} pages` : 'A ended before its kill');
      }
      if (action === 1 || action === 2) {
        const killed = await killAfter(childB, random(12));
        counts.kills += Number(killed);
        log.push(killed ? `B killed after ${pageLines(childB)} pages` : 'B ended before its kill');
      }
      await Promise.all([childA.closed, childB.closed]);
      for (const [name, child] of [
        ['A', childA],
        ['B', childB],
      ] as const) {
        const end = child.lines.find((line) => line === 'done' || line.startsWith('refused'));
        if (end?.startsWith('refused SinkFileHeldError')) counts.heldWhileBothRan += 1;
        else if (end?.startsWith('refused')) counts.otherRefusals += 1;
        if (end) log.push(`${name} first run: ${end}`);
      }
      // Each to its end, one after the other, in a random order.
      for (const job of Math.random() < 0.5 ? [a, b] : [b, a]) {
        const end = await runToEnd(job);
        if (end !== 'done') counts.endedRefused += 1;
        log.push(`${job.name} resumed: ${end}`);
      }
      if (process.env.CK_TWO_JOBS_LOG) console.log(log.join('; '));
      for (const job of [a, b]) {
        const { acknowledged, lost } = await lostRows(dir, job);
        if (lost.length > 0) {
          failures.push(
            `${log.join('; ')}\n  job ${job.name} lost ${lost.length} of ${acknowledged} acknowledged rows, e.g. ${lost.slice(0, 3).join(' | ')}`,
          );
        }
      }
    }
    console.log('two jobs, one output:', counts);
    expect(failures, failures.join('\n')).toEqual([]);
  });
});

/** The names under `dir`, files and folders, but for the stores. */
async function namesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => !name.startsWith('.ck')).sort();
}

describe('two jobs, one output, step by step', () => {
  it('B, started while A holds the output, is refused with SinkFileHeldError naming A, and touches nothing', async () => {
    const dir = await tempDir();
    const [a, b] = await twoJobs(0, dir);
    const childA = startJob(bundle, args(a, true));
    const childB = startJob(bundle, args(b, true));
    await childA.waitFor((line) => line === 'ready');
    await childB.waitFor((line) => line === 'ready');
    childA.process.stdin.write('go\n');
    await childA.waitForCount((line) => line === 'page', 2);
    // Stopped, not dead: A's hold is live while B opens.
    childA.process.kill('SIGSTOP');
    const before = await filesUnder(dir);
    childB.process.stdin.write('go\n');
    const refusal = await childB.waitFor((line) => line.startsWith('refused'));
    expect(await childB.closed).toBe(3);
    expect(await filesUnder(dir)).toEqual(before);
    childA.process.kill('SIGCONT');
    await childA.waitFor((line) => line === 'done');
    expect(refusal).toContain('SinkFileHeldError');
    expect(refusal).toContain(join(dir, 'out.jsonl'));
    expect(refusal).toContain('"job-a"');
    expect(refusal).toContain(`pid ${childA.process.pid}`);
    expect(await readFile(join(dir, 'out.jsonl'))).toEqual((await reference('A'))[0]);
    // A released its hold when it finished; B now writes the file (A's output kept aside).
    expect(await namesUnder(dir)).toEqual(['out.jsonl']);
    expect(await runToEnd(b)).toBe('done');
    expect(await readFile(join(dir, 'out.jsonl'))).toEqual((await reference('B'))[0]);
    const names = await namesUnder(dir);
    expect(names).toHaveLength(2);
    const kept = names.find((name) => name.startsWith('out.jsonl.replaced-')) as string;
    expect(await readFile(join(dir, kept))).toEqual((await reference('A'))[0]);
  });

  it('a job killed with SIGKILL before its first flush: its next run takes its hold over, cuts its own rows, keeps nothing aside', async () => {
    const dir = await tempDir();
    const [a] = await twoJobs(0, dir);
    const child = startJob(bundle, args(a, true));
    await child.waitFor((line) => line === 'ready');
    child.process.stdin.write('go\n');
    await child.waitForCount((line) => line === 'page', 1);
    await killHard(child);
    expect(await namesUnder(dir)).toEqual(['.out.jsonl.sink-hold', 'out.jsonl']);
    expect(await runToEnd(a)).toBe('done');
    expect(await readFile(join(dir, 'out.jsonl'))).toEqual((await reference('A'))[0]);
    expect(await namesUnder(dir)).toEqual(['out.jsonl']);
  });

  it('A killed, then B runs to its end with the same file: A’s rows are kept aside whole; A’s next run refuses and touches nothing', async () => {
    const dir = await tempDir();
    const [a, b] = await twoJobs(1, dir); // B by a relative path
    const child = startJob(bundle, args(a, true));
    await child.waitFor((line) => line === 'ready');
    child.process.stdin.write('go\n');
    await child.waitForCount((line) => line === 'page', 10);
    await killHard(child);
    expect(await runToEnd(b)).toBe('done');
    expect(await readFile(join(dir, 'out.jsonl'))).toEqual((await reference('B'))[0]);
    expect(await lostRows(dir, a)).toMatchObject({ lost: [] });
    const before = await filesUnder(dir);
    const end = await runToEnd(a);
    expect(end).toMatch(/^refused SinkFile(Changed|Lost)Error/);
    expect(await filesUnder(dir)).toEqual(before);
    expect(await namesUnder(dir)).toHaveLength(2); // B's output, and A's kept aside
  });
});
