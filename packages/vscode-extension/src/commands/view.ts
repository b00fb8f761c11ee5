/** The commands that only read: Refresh, Open Raw, Show Summary, Copy Summary, Reveal in Explorer, Show More. */
import * as vscode from 'vscode';
import { summaryMarkdown } from '../model/summary-text.js';
import { loaded, primaryFile } from '../state/entry.js';
import { displayName } from '../state/read-entry.js';
import type { MoreNode } from '../tree/nodes.js';
import { type CommandContext, done, type Outcome, refused } from './context.js';
import type { SummaryPanels } from './summary-panel.js';
import { readable, resolveTarget } from './target.js';

/** Refresh: searches the workspace again and re-reads every checkpoint. */
export async function refresh(context: CommandContext): Promise<Outcome> {
  await context.registry.scan();
  await context.registry.whenIdle();
  const count = context.provider.visibleEntries().length;
  return done(`CheckpointKit: ${count} checkpoint${count === 1 ? '' : 's'} found.`);
}

/** Open Raw: the snapshot (or the journal, or the seed file) in a text editor. */
export async function openRaw(
  context: CommandContext,
  node?: unknown,
): Promise<Outcome | undefined> {
  const entry = await resolveTarget(context, node, 'open');
  if (!entry) return undefined;
  const file = primaryFile(entry);
  await vscode.window.showTextDocument(file, { preview: true });
  return done(file.toString());
}

/** Show Summary: a webview with a progress bar per phase. Returns the page's HTML. */
export async function showSummary(
  context: CommandContext,
  panels: SummaryPanels,
  node?: unknown,
): Promise<string | undefined> {
  const entry = await resolveTarget(context, node, 'summarize', readable());
  if (!entry) return undefined;
  if (!loaded(entry)) {
    context
      .ui()
      .warn(
        `CheckpointKit: ${displayName(entry.folder, primaryFile(entry))} cannot be read, so it has no summary.`,
      );
    return undefined;
  }
  return panels.show(entry);
}

/** Copy Summary: the summary as Markdown on the clipboard. */
export async function copySummary(
  context: CommandContext,
  node?: unknown,
): Promise<Outcome | undefined> {
  const entry = await resolveTarget(context, node, 'copy the summary of', readable());
  if (!entry) return undefined;
  const value = loaded(entry);
  if (!value)
    return refused(
      `CheckpointKit: ${displayName(entry.folder, primaryFile(entry))} cannot be read.`,
    );
  const text = summaryMarkdown(value.checkpoint, value.summary, {
    file: displayName(entry.folder, primaryFile(entry)),
    format: value.format,
  });
  await vscode.env.clipboard.writeText(text);
  return done(`CheckpointKit: copied the summary of "${value.checkpoint.id}".`);
}

/** Reveal in Explorer: selects the checkpoint's file in the Explorer view. */
export async function revealInExplorer(
  context: CommandContext,
  node?: unknown,
): Promise<Outcome | undefined> {
  const entry = await resolveTarget(context, node, 'reveal');
  if (!entry) return undefined;
  const file = primaryFile(entry);
  await vscode.commands.executeCommand('revealInExplorer', file);
  return done(file.toString());
}

/** Show More (tree only): the next page of a large level. */
export function showMore(context: CommandContext, node?: MoreNode): Outcome {
  if (node?.type !== 'more')
    return refused('CheckpointKit: Show More works on a "Show more" item of the view.');
  context.provider.showMore(node);
  return done(`showing ${Math.min(node.pageSize, node.remaining)} more`);
}
