/**
 * The checkpoint a command acts on: the tree node it was invoked on (context menus pass it), or,
 * from the command palette, one the user picks from those the command applies to.
 */
import { type CheckpointEntry, entryId, loaded, primaryFile } from '../state/entry.js';
import { displayName } from '../state/read-entry.js';
import type { TreeNode } from '../tree/nodes.js';
import type { CommandContext } from './context.js';

/** The entry of a checkpoint, group or unit node. */
export function entryOfNode(context: CommandContext, node: unknown): CheckpointEntry | undefined {
  if (!node || typeof node !== 'object' || !('entryKey' in node)) return undefined;
  return context.registry.get((node as Extract<TreeNode, { entryKey: string }>).entryKey);
}

/** How a checkpoint is listed in a quick pick. */
function pickItem(entry: CheckpointEntry) {
  const value = loaded(entry);
  const file = displayName(entry.folder, primaryFile(entry));
  return {
    label: entryId(entry) ?? file,
    description: value
      ? `${value.summary.percent.toFixed(1)}%${value.summary.counts.failed > 0 ? ` · ${value.summary.counts.failed} failed` : ''}`
      : entry.state.kind,
    detail: `${entry.folder.name}: ${file}`,
    value: entry,
  };
}

/**
 * A {@link resolveTarget} filter: checkpoints that were read, and of the given file kind when one
 * is named.
 */
export function readable(
  kind?: CheckpointEntry['files']['kind'],
): (entry: CheckpointEntry) => boolean {
  return (entry) =>
    entry.state.kind === 'loaded' && (kind === undefined || entry.files.kind === kind);
}

/**
 * The entry to act on. With no node, asks with a quick pick among the shown checkpoints that
 * `applies` accepts; undefined when there are none (after saying so) or the pick was dismissed.
 */
export async function resolveTarget(
  context: CommandContext,
  node: unknown,
  what: string,
  applies: (entry: CheckpointEntry) => boolean = () => true,
): Promise<CheckpointEntry | undefined> {
  if (node !== undefined) return entryOfNode(context, node);
  const candidates = context.provider.visibleEntries().filter(applies);
  if (candidates.length === 0) {
    context.ui().info(`CheckpointKit: no checkpoint to ${what}.`);
    return undefined;
  }
  return context.ui().pick(candidates.map(pickItem), `Checkpoint to ${what}`);
}
