/**
 * The commands that write: Reset Failed Units, Reset Unit, Delete Checkpoint, Migrate to Current
 * Format. Each checks trust and the lock in code, reads the checkpoint again under the lock (the
 * tree may be a moment old) and appends core changes through the file store.
 */
import { type Change, type Checkpoint, checkpointToChanges } from '@checkpointkit/core';
import {
  ACK_SUFFIX,
  checkpointFileName,
  encodeCheckpointId,
  journalFileName,
  PREVIOUS_SUFFIX,
} from '@checkpointkit/storage-file';
import * as vscode from 'vscode';
import { failedUnitKeys } from '../model/unit-tree.js';
import { type CheckpointEntry, primaryFile } from '../state/entry.js';
import { displayName } from '../state/read-entry.js';
import type { TreeNode } from '../tree/nodes.js';
import { type CommandContext, done, type Outcome, refused } from './context.js';
import { checkWritable } from './guard.js';
import { entryDir, withLockedStore } from './store-access.js';
import { entryOfNode, readable, resolveTarget } from './target.js';

const now = () => new Date().toISOString();

/** A run that failed has nothing failed left after a reset: mark it interrupted, ready to resume. */
function statusAfterReset(checkpoint: Checkpoint, resetKeys: ReadonlySet<string>): Change[] {
  if (checkpoint.status !== 'failed') return [];
  const stillFailed = Object.entries(checkpoint.units).some(
    ([key, unit]) => unit.status === 'failed' && !resetKeys.has(key),
  );
  return stillFailed ? [] : [{ type: 'status', at: now(), status: 'interrupted' }];
}

function canonicalWithFailures(entry: CheckpointEntry): boolean {
  return (
    entry.files.kind === 'canonical' &&
    entry.state.kind === 'loaded' &&
    entry.state.value.summary.counts.failed > 0
  );
}

/** Reset Failed Units: every failed unit back to pending, keeping its cursor, so the next run retries it. */
export async function resetFailed(
  context: CommandContext,
  node?: unknown,
): Promise<Outcome | undefined> {
  const entry = await resolveTarget(context, node, 'reset failed units of', canonicalWithFailures);
  if (!entry) return undefined;
  const checked = checkWritable(context, entry, 'Reset Failed Units');
  if (!checked.ok) return checked.outcome;
  const outcome = await withLockedStore(entry, checked.id, async (store) => {
    const checkpoint = await store.load(checked.id);
    if (!checkpoint) return refused(`CheckpointKit: "${checked.id}" no longer exists.`);
    const keys = failedUnitKeys(checkpoint);
    if (keys.length === 0) return done(`CheckpointKit: "${checked.id}" has no failed units.`);
    const at = now();
    const changes: Change[] = keys.map((key) => ({
      type: 'unit.reset',
      at,
      key,
      keepCursor: true,
    }));
    changes.push(...statusAfterReset(checkpoint, new Set(keys)));
    await store.append(checked.id, changes);
    return done(
      `CheckpointKit: reset ${keys.length} failed unit${keys.length === 1 ? '' : 's'} of "${checked.id}"; the next run retries ${keys.length === 1 ? 'it' : 'them'} from ${keys.length === 1 ? 'its' : 'their'} cursor.`,
    );
  });
  await context.registry.readNow(entry);
  return outcome;
}

/** The unit key of a unit node, or of a group node that is a unit too. */
function unitKeyOf(node: unknown): string | null {
  const n = node as TreeNode | undefined;
  if (n?.type === 'unit') return n.key;
  if (n?.type === 'group') return n.group.unitKey;
  return null;
}

/**
 * Reset Unit (tree only): the unit back to pending. A failed or interrupted unit keeps its cursor
 * (retry where it stopped); a complete unit starts over.
 */
export async function resetUnit(
  context: CommandContext,
  node?: unknown,
): Promise<Outcome | undefined> {
  const entry = entryOfNode(context, node);
  const key = unitKeyOf(node);
  if (!entry || key === null)
    return refused('CheckpointKit: Reset Unit works on a unit in the CheckpointKit view.');
  const checked = checkWritable(context, entry, 'Reset Unit');
  if (!checked.ok) return checked.outcome;
  const outcome = await withLockedStore(entry, checked.id, async (store) => {
    const checkpoint = await store.load(checked.id);
    const unit = checkpoint?.units[key];
    if (!checkpoint || !unit)
      return refused(`CheckpointKit: unit "${key}" of "${checked.id}" no longer exists.`);
    if (unit.status === 'pending') return done(`CheckpointKit: unit "${key}" is pending already.`);
    const keepCursor = unit.status !== 'complete';
    const changes: Change[] = [{ type: 'unit.reset', at: now(), key, keepCursor }];
    changes.push(...statusAfterReset(checkpoint, new Set([key])));
    await store.append(checked.id, changes);
    return done(
      `CheckpointKit: reset unit "${key}" of "${checked.id}" (${keepCursor ? 'keeps its cursor' : 'starts over'}).`,
    );
  });
  await context.registry.readNow(entry);
  return outcome;
}

/** What an edit changed, for the registry at once (the watcher reports it a moment later). */
function fileEvents(dir: vscode.Uri, id: string, kind: 'created' | 'deleted') {
  const snapshot = checkpointFileName(id);
  const journal = journalFileName(id);
  // A delete takes what the store keeps beside them too; the entry goes with its last file.
  const kept =
    kind === 'deleted'
      ? [
          `${snapshot}${PREVIOUS_SUFFIX}`,
          `${journal}${PREVIOUS_SUFFIX}`,
          encodeCheckpointId(id) + ACK_SUFFIX,
        ]
      : [];
  return [...kept, snapshot, journal].map((name) => ({
    kind,
    uri: vscode.Uri.joinPath(dir, name),
  }));
}

/** Delete Checkpoint: after a modal confirmation, the snapshot and journal go, under the lock. */
export async function deleteCheckpoint(
  context: CommandContext,
  node?: unknown,
): Promise<Outcome | undefined> {
  const entry = await resolveTarget(context, node, 'delete', readable('canonical'));
  if (!entry) return undefined;
  const checked = checkWritable(context, entry, 'Delete Checkpoint');
  if (!checked.ok) return checked.outcome;
  const { summary } = checked.value;
  const unfinished =
    summary.remaining > 0
      ? ` It still has ${summary.remaining} unfinished units (${summary.percent.toFixed(1)}% done).`
      : '';
  const confirmed = await context
    .ui()
    .confirm(
      `Delete checkpoint "${checked.id}"?`,
      `${displayName(entry.folder, primaryFile(entry))} and its journal are deleted; a job started again starts from the beginning.${unfinished} This cannot be undone.`,
      'Delete',
    );
  if (!confirmed) return refused('CheckpointKit: nothing deleted.');
  const dir = entryDir(entry);
  const outcome = await withLockedStore(entry, checked.id, async (store) =>
    (await store.delete(checked.id))
      ? done(`CheckpointKit: deleted checkpoint "${checked.id}".`)
      : refused(`CheckpointKit: "${checked.id}" was already gone.`),
  );
  if (outcome.ok) context.registry.applyEvents(fileEvents(dir, checked.id, 'deleted'));
  return outcome;
}

/**
 * Migrate to Current Format: writes the seed file's checkpoint as a file store checkpoint beside
 * it (same folder, `<id>.checkpoint.json`), never over an existing one; the seed file stays as it is.
 */
export async function migrate(
  context: CommandContext,
  node?: unknown,
): Promise<Outcome | undefined> {
  const entry = await resolveTarget(context, node, 'migrate', readable('seed'));
  if (!entry) return undefined;
  const checked = checkWritable(context, entry, 'Migrate to Current Format', true);
  if (!checked.ok) return checked.outcome;
  if (entry.files.kind !== 'seed')
    return done(`CheckpointKit: "${checked.id}" is in the current format already.`);
  const { checkpoint, format } = checked.value;
  const dir = entryDir(entry);
  const target = displayName(
    entry.folder,
    vscode.Uri.joinPath(dir, checkpointFileName(checked.id)),
  );
  const outcome = await withLockedStore(entry, checked.id, async (store) => {
    if (await store.load(checked.id)) {
      return refused(
        `CheckpointKit: ${target} exists already; it was not overwritten. Delete it first to migrate again.`,
      );
    }
    await store.append(checked.id, checkpointToChanges(checkpoint));
    await store.compact(checked.id);
    return done(
      `CheckpointKit: migrated ${displayName(entry.folder, primaryFile(entry))} (${format}) to ${target}; the original file is unchanged.`,
    );
  });
  if (outcome.ok) context.registry.applyEvents(fileEvents(dir, checked.id, 'created'));
  return outcome;
}
