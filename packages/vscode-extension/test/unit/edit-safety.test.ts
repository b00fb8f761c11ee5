/**
 * The writing commands on files a stranger made: a copied or renamed snapshot (its content names
 * another checkpoint), a checkpoint folder or file that is a symlink out of the workspace, a
 * dangling symlink where Migrate would write, a file that became a folder. Each edit must refuse
 * with a message and change no byte, inside the workspace or outside it. The handlers run against
 * real files with a fake `vscode` (file URIs only) and a recording UI.
 */
import {
  copyFileSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import {
  checkpointFileName,
  checkpointIdFromFileName,
  checkpointStemFromFileName,
  journalFileName,
} from '@checkpointkit/storage-file';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type * as vscode from 'vscode';

vi.mock('vscode', () => import('./fake-vscode.js'));

import type { CommandContext } from '../../src/commands/context.js';
import { deleteCheckpoint, migrate, resetFailed, resetUnit } from '../../src/commands/edit.js';
import type { CheckpointFiles } from '../../src/discovery/group-files.js';
import type { CheckpointEntry } from '../../src/state/entry.js';
import { readCheckpointFiles } from '../../src/state/read-entry.js';
import type { PickItem, Ui } from '../../src/ui.js';
import { writeCheckpoint } from '../fixtures/checkpoints.js';
import { Uri } from './fake-vscode.js';

const SEEDS = join(import.meta.dirname, '../fixtures/seeds');

class RecordingUi implements Ui {
  readonly messages: string[] = [];
  /** Runs while the modal confirmation is open (the user has clicked, not yet confirmed). */
  whileConfirming: () => void = () => {};
  info(text: string) {
    this.messages.push(text);
  }
  warn(text: string) {
    this.messages.push(text);
  }
  error(text: string) {
    this.messages.push(text);
  }
  async confirm() {
    this.whileConfirming();
    return true;
  }
  async pick<T>(items: PickItem<T>[]) {
    return items[0]?.value;
  }
}

let scratch: string;
let workspace: string;
let outside: string;
let ui: RecordingUi;

beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'checkpointkit-edit-'));
  workspace = join(scratch, 'workspace');
  outside = join(scratch, 'outside');
  mkdirSync(workspace);
  mkdirSync(outside);
  ui = new RecordingUi();
});

afterEach(() => rmSync(scratch, { recursive: true, force: true }));

/** A fake file URI where the code under test expects VS Code's. */
const fileUri = (path: string) => Uri.file(path) as unknown as vscode.Uri;
const folder = (): vscode.WorkspaceFolder => ({
  uri: fileUri(workspace),
  name: 'workspace',
  index: 0,
});

/** The registry's entry for a file, read as the extension reads it. */
async function entryOf(file: string): Promise<CheckpointEntry> {
  const uri = fileUri(file);
  const dir = Uri.joinPath(Uri.file(file), '..').toString();
  const name = basename(file);
  const stem = checkpointStemFromFileName(name);
  const files: CheckpointFiles<vscode.Uri> =
    stem === null
      ? { kind: 'seed' as const, key: `${dir}/${name}`, file: uri }
      : {
          kind: 'canonical' as const,
          key: `${dir}/${stem}.checkpoint`,
          stem,
          id: checkpointIdFromFileName(name),
          snapshot: name.endsWith('.jsonl') ? null : uri,
          journal: name.endsWith('.jsonl') ? uri : null,
          leftover: null,
        };
  const state = await readCheckpointFiles(folder(), files, { parseMs: 0 });
  return { key: files.key, folder: folder(), files, state };
}

function contextOf(entry: CheckpointEntry): CommandContext {
  return {
    registry: { get: () => entry, readNow: async () => {}, applyEvents: () => {} },
    provider: { visibleEntries: () => [entry] },
    ui: () => ui,
    trusted: () => true,
  } as unknown as CommandContext;
}

const node = (entry: CheckpointEntry) => ({ type: 'checkpoint', entryKey: entry.key });

/** Every file and symlink below `root` with its bytes (or link target): what "no byte changed" compares. */
function bytesBelow(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const info = lstatSync(path);
      if (info.isSymbolicLink()) out[path] = `-> ${readlinkSync(path)}`;
      else if (info.isDirectory()) visit(path);
      else out[path] = readFileSync(path, 'latin1');
    }
  };
  visit(root);
  return out;
}

const FAILING = { 'collect/a': 'failed', 'collect/b': 'complete' } as const;

describe('edits on files a stranger made', () => {
  it('refuse a copied snapshot whose content names another checkpoint, and leave both alone', async () => {
    const dir = join(workspace, '.checkpoints');
    await writeCheckpoint(dir, { id: 'job', units: FAILING });
    // `cp job.checkpoint.json backup.checkpoint.json`: the copy says it is checkpoint "job".
    copyFileSync(join(dir, checkpointFileName('job')), join(dir, checkpointFileName('backup')));
    const entry = await entryOf(join(dir, checkpointFileName('backup')));
    expect(entry.state.kind).toBe('loaded');
    const before = bytesBelow(scratch);
    for (const command of [resetFailed, deleteCheckpoint]) {
      const outcome = await command(contextOf(entry), node(entry));
      expect(outcome?.ok, outcome?.message).toBe(false);
      expect(outcome?.message).toContain('backup.checkpoint.json');
    }
    const unitNode = { type: 'unit', entryKey: entry.key, key: 'collect/a' };
    expect((await resetUnit(contextOf(entry), unitNode))?.ok).toBe(false);
    expect(bytesBelow(scratch)).toEqual(before);
  });

  it('refuse a checkpoint folder that is a symlink out of the workspace', async () => {
    await writeCheckpoint(join(outside, 'store'), { id: 'job', units: FAILING });
    symlinkSync(join(outside, 'store'), join(workspace, '.checkpoints'));
    const entry = await entryOf(join(workspace, '.checkpoints', checkpointFileName('job')));
    expect(entry.state.kind).toBe('loaded');
    const before = bytesBelow(scratch);
    for (const command of [resetFailed, deleteCheckpoint]) {
      const outcome = await command(contextOf(entry), node(entry));
      expect(outcome?.ok, outcome?.message).toBe(false);
      expect(outcome?.message).toMatch(/outside the workspace/);
    }
    expect(bytesBelow(scratch)).toEqual(before);
  });

  it('refuse a journal that is a symlink to a file outside the workspace', async () => {
    const dir = join(workspace, '.checkpoints');
    await writeCheckpoint(dir, { id: 'job', units: FAILING, journalOnly: true });
    const journal = join(dir, journalFileName('job'));
    copyFileSync(journal, join(outside, 'elsewhere.jsonl'));
    rmSync(journal);
    symlinkSync(join(outside, 'elsewhere.jsonl'), journal);
    const entry = await entryOf(journal);
    expect(entry.state.kind).toBe('loaded');
    const before = bytesBelow(scratch);
    const outcome = await resetFailed(contextOf(entry), node(entry));
    expect(outcome?.ok, outcome?.message).toBe(false);
    expect(outcome?.message).toMatch(/symbolic link/);
    expect(bytesBelow(scratch)).toEqual(before);
  });

  it('refuse to migrate through a dangling symlink that would create a file outside', async () => {
    const dir = join(workspace, 'data');
    mkdirSync(dir);
    copyFileSync(join(SEEDS, 'checkpoint.json'), join(dir, 'checkpoint.json'));
    const entry = await entryOf(join(dir, 'checkpoint.json'));
    expect(entry.state.kind).toBe('loaded');
    const id = entry.state.kind === 'loaded' ? entry.state.value.checkpoint.id : '';
    symlinkSync(join(outside, 'planted.jsonl'), join(dir, journalFileName(id)));
    const before = bytesBelow(scratch);
    const outcome = await migrate(contextOf(entry), node(entry));
    expect(outcome?.ok, outcome?.message).toBe(false);
    expect(outcome?.message).toMatch(/symbolic link/);
    expect(bytesBelow(scratch)).toEqual(before);
  });

  it('refuse to delete when the snapshot became a symlink while the confirmation was open', async () => {
    const dir = join(workspace, '.checkpoints');
    await writeCheckpoint(dir, { id: 'job', units: FAILING });
    const entry = await entryOf(join(dir, checkpointFileName('job')));
    await writeCheckpoint(join(outside, 'store'), { id: 'job', units: FAILING });
    ui.whileConfirming = () => {
      rmSync(join(dir, checkpointFileName('job')));
      rmSync(join(dir, journalFileName('job')), { force: true });
      symlinkSync(
        join(outside, 'store', checkpointFileName('job')),
        join(dir, checkpointFileName('job')),
      );
    };
    let before: Record<string, string> = {};
    const confirm = ui.whileConfirming;
    ui.whileConfirming = () => {
      confirm();
      before = bytesBelow(scratch);
    };
    const outcome = await deleteCheckpoint(contextOf(entry), node(entry));
    expect(outcome?.ok, outcome?.message).toBe(false);
    expect(bytesBelow(scratch)).toEqual(before);
  });

  it('refuse a snapshot that became a folder after it was read', async () => {
    const dir = join(workspace, '.checkpoints');
    await writeCheckpoint(dir, { id: 'job', units: FAILING });
    const entry = await entryOf(join(dir, checkpointFileName('job')));
    rmSync(join(dir, checkpointFileName('job')));
    mkdirSync(join(dir, checkpointFileName('job')));
    const before = bytesBelow(scratch);
    for (const command of [resetFailed, deleteCheckpoint]) {
      const outcome = await command(contextOf(entry), node(entry));
      expect(outcome).toMatchObject({ ok: false });
      expect(outcome?.message).toContain('job.checkpoint.json is not a regular file');
    }
    expect(bytesBelow(scratch)).toEqual(before);
  });

  it('refuse a checkpoint whose snapshot and journal were removed by hand, keeping what is left', async () => {
    const dir = join(workspace, '.checkpoints');
    await writeCheckpoint(dir, { id: 'job', units: FAILING });
    const entry = await entryOf(join(dir, checkpointFileName('job')));
    expect(entry.state.kind).toBe('loaded');
    // The tree read it before: the commands act on what is on disk now.
    rmSync(join(dir, checkpointFileName('job')));
    rmSync(join(dir, journalFileName('job')));
    const before = bytesBelow(scratch);
    const stale = await resetFailed(contextOf(entry), node(entry));
    expect(stale?.ok, stale?.message).toBe(false);
    expect(stale?.message).toMatch(
      /"job" was not changed: .*the snapshot and the journal are missing/,
    );
    expect(stale?.message).not.toContain(workspace);
    expect(bytesBelow(scratch)).toEqual(before);
    // Read again, as the registry does on the files' delete events: damaged, refused with why.
    const reread = await entryOf(join(dir, checkpointFileName('job')));
    const outcome = await resetFailed(contextOf(reread), node(reread));
    expect(outcome?.message).toMatch(
      /cannot be read \(.*previous generation.*checkpointkit repair job/,
    );
    expect(bytesBelow(scratch)).toEqual(before);
  });

  it('still edit an ordinary checkpoint', async () => {
    const dir = join(workspace, '.checkpoints');
    await writeCheckpoint(dir, { id: 'job', units: FAILING });
    const entry = await entryOf(join(dir, checkpointFileName('job')));
    const outcome = await resetFailed(contextOf(entry), node(entry));
    expect(outcome).toMatchObject({ ok: true });
    expect(outcome?.message).toContain('reset 1 failed unit');
  });
});
