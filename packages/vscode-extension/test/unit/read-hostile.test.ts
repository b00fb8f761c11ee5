/**
 * Reading files a stranger made or a running job is changing, as the view reads them (real files,
 * a fake `vscode`): what the tree is to show for each, and that nothing hangs or flashes.
 */
import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import {
  checkpointStemFromFileName,
  decodeCheckpointStem,
  fileStore,
} from '@checkpointkit/storage-file';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type * as vscode from 'vscode';

vi.mock('vscode', () => import('./fake-vscode.js'));

import type { CanonicalFiles } from '../../src/discovery/group-files.js';
import type { EntryState } from '../../src/state/entry.js';
import { readCheckpointFiles } from '../../src/state/read-entry.js';
import { writeCheckpoint } from '../fixtures/checkpoints.js';
import { Uri } from './fake-vscode.js';

let workspace: string;
let dir: string;

beforeEach(() => {
  workspace = mkdtempSync(join(tmpdir(), 'checkpointkit-read-'));
  dir = join(workspace, '.checkpoints');
  mkdirSync(dir);
});

afterEach(() => rmSync(workspace, { recursive: true, force: true }));

const folder = (): vscode.WorkspaceFolder => ({
  uri: Uri.file(workspace) as unknown as vscode.Uri,
  name: 'project',
  index: 0,
});

/** The files discovery found: `found` (a snapshot, journal or leftover name) in `.checkpoints`. */
function filesOf(found: string): CanonicalFiles<vscode.Uri> {
  const uri = Uri.file(join(dir, found)) as unknown as vscode.Uri;
  const stem = checkpointStemFromFileName(found.replace(/\.prev$/, '').replace(/\.ack$/, '.json'))!;
  const role = found.endsWith('.json')
    ? 'snapshot'
    : found.endsWith('.jsonl')
      ? 'journal'
      : 'leftover';
  return {
    kind: 'canonical',
    key: `${dir}/${stem}.checkpoint`,
    stem,
    id: decodeCheckpointStem(stem),
    snapshot: role === 'snapshot' ? uri : null,
    journal: role === 'journal' ? uri : null,
    leftover: role === 'leftover' ? uri : null,
  };
}

const read = (files: CanonicalFiles<vscode.Uri>): Promise<EntryState> =>
  readCheckpointFiles(folder(), files, { parseMs: 0 });

/** A checkpoint compacted twice: snapshot, journal, ack mark and both previous files. */
async function compactedTwice(id: string): Promise<void> {
  await writeCheckpoint(dir, { id, units: { a: 'complete', b: 'failed' } });
  const store = fileStore({ dir, onWarning: () => {} });
  const lock = await store.lock(id);
  await store.append(id, [{ type: 'counter.added', name: 'pages', by: 1 }]);
  await store.compact(id);
  await lock.release();
}

describe('a checkpoint whose snapshot and journal were removed by hand', () => {
  it.each([
    [
      'its previous generation',
      ['job.checkpoint.ack'],
      'job.checkpoint.json.prev',
      /previous generation .*\.checkpoints\/job\.checkpoint\.json\.prev/,
    ],
    [
      'its ack mark',
      ['job.checkpoint.json.prev', 'job.checkpoint.jsonl.prev'],
      'job.checkpoint.ack',
      /batch \d+ was acknowledged/,
    ],
  ])('is damaged while %s is left, with what to run', async (_, alsoRemoved, left, cause) => {
    await compactedTwice('job');
    for (const name of ['job.checkpoint.json', 'job.checkpoint.jsonl', ...alsoRemoved])
      rmSync(join(dir, name));
    // Found by what is left (a scan), or known from before (its snapshot's delete event).
    for (const files of [filesOf(left), filesOf('job.checkpoint.json')]) {
      const state = await read(files);
      expect(state.kind).toBe('damaged');
      const message = (state as { message: string }).message;
      expect(message).toMatch(cause);
      expect(message).toContain('`checkpointkit repair job --dir .checkpoints`');
      expect(message).toContain('`checkpointkit rm job --dir .checkpoints`');
      expect(message, 'files named inside the workspace').not.toContain(workspace);
      // The row and Open Raw name a file that is there.
      expect([files.snapshot, files.journal]).toEqual([null, null]);
      expect(basename(files.leftover!.path)).toBe(left);
    }
  });

  it('is nothing once the store deleted it (it takes those files first)', async () => {
    await compactedTwice('job');
    const files = filesOf('job.checkpoint.json');
    const store = fileStore({ dir, onWarning: () => {} });
    const lock = await store.lock('job');
    await store.delete('job');
    await lock.release();
    expect(await read(files)).toEqual({ kind: 'ignored' });
    expect([files.snapshot, files.journal, files.leftover]).toEqual([null, null, null]);
  });
});

describe('a running job', () => {
  it('is never shown damaged while it appends, compacts and deletes its checkpoint', async () => {
    const store = fileStore({ dir, onWarning: () => {} });
    const ROUNDS = 6;
    let running = true;
    const job = (async () => {
      try {
        for (let round = 0; round < ROUNDS; round++) {
          const lock = await store.lock('job');
          const at = new Date().toISOString();
          await store.append('job', [{ type: 'created', at, id: 'job', configDigest: null }]);
          for (let save = 1; save <= 12; save++) {
            await store.append('job', [{ type: 'counter.added', name: 'n', by: 1 }]);
            if (save % 4 === 0) await store.compact('job');
          }
          // A job that deletes its checkpoint when done: the reads between its files' removals.
          await store.delete('job');
          await lock.release();
        }
      } finally {
        running = false;
      }
    })();
    const seen = new Map<string, number>();
    while (running) {
      const state = await read(filesOf('job.checkpoint.json'));
      const what = state.kind === 'damaged' ? `damaged: ${state.message}` : state.kind;
      seen.set(what, (seen.get(what) ?? 0) + 1);
    }
    await job;
    // The reads met the job both mid-run and between runs; none of them saw damage.
    expect([...seen.keys()].sort()).toEqual(['ignored', 'loaded']);
  });
});

describe('files named like a checkpoint that are not one', () => {
  const snapshotNamed = (name: string, content: string | Buffer) => {
    writeFileSync(join(dir, name), content);
    return filesOf(name);
  };

  it('skips quietly another tool JSON named *.checkpoint.json', async () => {
    const files = snapshotNamed(
      'model.checkpoint.json',
      JSON.stringify({ epoch: 3, loss: 0.25 }, null, 2),
    );
    expect(await read(files)).toEqual({ kind: 'ignored' });
  });

  it('still shows damage where the store wrote: beside a journal, or a snapshot header one byte off', async () => {
    await writeCheckpoint(dir, { id: 'job', units: { a: 'complete' } });
    const files = snapshotNamed('job.checkpoint.json', JSON.stringify({ epoch: 3 }));
    expect((await read(files)).kind).toBe('damaged');
    // A copied snapshot alone, its `"format"` key hit by one flipped byte: JSON still, and damaged.
    await writeCheckpoint(join(workspace, 'other'), { id: 'copy', units: { a: 'complete' } });
    const bytes = readFileSync(join(workspace, 'other', 'copy.checkpoint.json'), 'utf8');
    const alone = snapshotNamed('copy.checkpoint.json', bytes.replace('"format"', '"formaT"'));
    expect((await read(alone)).kind).toBe('damaged');
  });

  it.each([
    [
      'binary junk',
      () => snapshotNamed('junk.checkpoint.json', Buffer.from([0, 0xff, 0xfe, 10, 13, 0x7b])),
    ],
    ['an empty file', () => snapshotNamed('empty.checkpoint.json', '')],
    [
      '200 MB of zeros',
      () => {
        const files = snapshotNamed('big.checkpoint.json', '');
        truncateSync(join(dir, 'big.checkpoint.json'), 200 * 1024 * 1024);
        return files;
      },
    ],
    [
      'a named pipe (a plain read waits for a writer for ever)',
      () => {
        execFileSync('mkfifo', [join(dir, 'pipe.checkpoint.json')]);
        return filesOf('pipe.checkpoint.json');
      },
    ],
    [
      'a folder',
      () => {
        mkdirSync(join(dir, 'folder.checkpoint.json'));
        return filesOf('folder.checkpoint.json');
      },
    ],
    [
      'a symbolic link loop',
      () => {
        symlinkSync(join(dir, 'b.checkpoint.json'), join(dir, 'a.checkpoint.json'));
        symlinkSync(join(dir, 'a.checkpoint.json'), join(dir, 'b.checkpoint.json'));
        return filesOf('a.checkpoint.json');
      },
    ],
    [
      'a journal alone whose first line is garbage',
      () => {
        writeFileSync(join(dir, 'log.checkpoint.jsonl'), 'garbage\n{"a":1}\n');
        return filesOf('log.checkpoint.jsonl');
      },
    ],
  ])('shows %s as damaged, naming the file in the workspace', async (_, make) => {
    const files = make();
    const name = basename((files.snapshot ?? files.journal)!.path);
    const state = await read(files);
    expect(state.kind).toBe('damaged');
    const message = (state as { message: string }).message;
    expect(message.startsWith(`.checkpoints/${name}`), message).toBe(true);
    expect(message, 'no absolute path').not.toContain(workspace);
  });
});
