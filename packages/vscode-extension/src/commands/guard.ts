/**
 * Checks every writing command makes in code before it touches a file (menus hide what does not
 * apply, but a command can be run from the palette, a keybinding or another extension): a
 * trusted workspace, a readable file store checkpoint on the local disk, no job holding it.
 */
import { describeOwner } from '@checkpointkit/core';
import { encodeCheckpointId } from '@checkpointkit/storage-file';
import {
  type CheckpointEntry,
  entryId,
  type LoadedCheckpoint,
  primaryFile,
} from '../state/entry.js';
import { displayName } from '../state/read-entry.js';
import { type CommandContext, type Outcome, refused } from './context.js';

export type Checked =
  | { ok: true; value: LoadedCheckpoint; id: string }
  | { ok: false; outcome: Outcome };

export function untrusted(action: string): Outcome {
  return refused(
    `CheckpointKit: ${action} needs a trusted workspace. In restricted mode checkpoints are shown, never changed.`,
  );
}

export function lockedMessage(
  id: string,
  owner: Parameters<typeof describeOwner>[0] | null,
): string {
  const who = owner ? `a job (${describeOwner(owner)})` : 'another process';
  return `CheckpointKit: "${id}" is read-only while ${who} holds its lock. Nothing was changed; try again when the job has ended.`;
}

/** Why `entry` cannot be written by `action`, or its loaded state. `seedAllowed` for Migrate. */
export function checkWritable(
  context: CommandContext,
  entry: CheckpointEntry,
  action: string,
  seedAllowed = false,
): Checked {
  const fail = (message: string): Checked => ({ ok: false, outcome: refused(message) });
  if (!context.trusted()) return { ok: false, outcome: untrusted(action) };
  const name = displayName(entry.folder, primaryFile(entry));
  const state = entry.state;
  if (state.kind === 'damaged')
    return fail(`CheckpointKit: ${name} cannot be read (${state.message}); it is left as it is.`);
  if (state.kind !== 'loaded')
    return fail(`CheckpointKit: ${name} is not read yet; try again in a moment.`);
  const id = entryId(entry)!;
  if (entry.files.kind === 'seed' && !seedAllowed) {
    return fail(
      `CheckpointKit: ${name} is a ${state.value.format} file, which is read-only. Migrate it to the current format to edit it.`,
    );
  }
  // The store finds a checkpoint's files by its id. A snapshot copied or renamed by hand
  // (`cp job.checkpoint.json backup.checkpoint.json`) holds an id whose files are others: an
  // edit of the copy would change, or delete, the original.
  if (entry.files.kind === 'canonical' && encodeCheckpointId(id) !== entry.files.stem) {
    return fail(
      `CheckpointKit: ${name} holds checkpoint "${id}", which the file store keeps under another name (a copy, or a renamed file), so an edit would change that checkpoint instead. Nothing was changed.`,
    );
  }
  if (primaryFile(entry).scheme !== 'file') {
    return fail(
      `CheckpointKit: ${name} is on "${primaryFile(entry).scheme}:", and edits need a checkpoint on the local disk.`,
    );
  }
  if (state.value.lockOwner) return fail(lockedMessage(id, state.value.lockOwner));
  return { ok: true, value: state.value, id };
}
