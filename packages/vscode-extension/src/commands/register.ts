/**
 * Registers every command. Outcomes are shown (errors and refusals as warnings) and returned, so
 * `executeCommand` callers see what happened.
 */
import * as vscode from 'vscode';
import type { CommandContext, Outcome } from './context.js';
import { deleteCheckpoint, migrate, resetFailed, resetUnit } from './edit.js';
import { SummaryPanels } from './summary-panel.js';
import { copySummary, openRaw, refresh, revealInExplorer, showMore, showSummary } from './view.js';

/** Command ids, as contributed in package.json. */
export const COMMANDS = {
  refresh: 'checkpointkit.refresh',
  openRaw: 'checkpointkit.openRaw',
  showSummary: 'checkpointkit.showSummary',
  resetFailed: 'checkpointkit.resetFailed',
  resetUnit: 'checkpointkit.resetUnit',
  delete: 'checkpointkit.delete',
  migrate: 'checkpointkit.migrate',
  copySummary: 'checkpointkit.copySummary',
  revealInExplorer: 'checkpointkit.revealInExplorer',
  showMore: 'checkpointkit.showMore',
} as const;

/** Commands whose success message is worth a notification (the others show their effect). */
const ANNOUNCED = new Set<string>([
  COMMANDS.resetFailed,
  COMMANDS.resetUnit,
  COMMANDS.delete,
  COMMANDS.migrate,
  COMMANDS.copySummary,
]);

export function registerCommands(context: CommandContext): vscode.Disposable {
  const panels = new SummaryPanels(context.registry);
  const report = (id: string) => (outcome: Outcome | undefined) => {
    if (!outcome) return outcome;
    if (!outcome.ok) context.ui().warn(outcome.message);
    else if (ANNOUNCED.has(id)) context.ui().info(outcome.message);
    return outcome;
  };
  const guarded =
    <A extends unknown[], R>(id: string, handler: (...args: A) => Promise<R> | R) =>
    async (...args: A): Promise<R | undefined> => {
      try {
        return await handler(...args);
      } catch (error) {
        context
          .ui()
          .error(
            `CheckpointKit: ${id.replace('checkpointkit.', '')} failed: ${error instanceof Error ? error.message : String(error)}`,
          );
        return undefined;
      }
    };
  const withReport = (
    id: string,
    handler: (node?: unknown) => Promise<Outcome | undefined> | Outcome,
  ) =>
    vscode.commands.registerCommand(
      id,
      guarded(id, async (node?: unknown) => report(id)(await handler(node))),
    );
  return vscode.Disposable.from(
    panels,
    withReport(COMMANDS.refresh, () => refresh(context)),
    withReport(COMMANDS.openRaw, (node) => openRaw(context, node)),
    vscode.commands.registerCommand(
      COMMANDS.showSummary,
      guarded(COMMANDS.showSummary, (node?: unknown) => showSummary(context, panels, node)),
    ),
    withReport(COMMANDS.resetFailed, (node) => resetFailed(context, node)),
    withReport(COMMANDS.resetUnit, (node) => resetUnit(context, node)),
    withReport(COMMANDS.delete, (node) => deleteCheckpoint(context, node)),
    withReport(COMMANDS.migrate, (node) => migrate(context, node)),
    withReport(COMMANDS.copySummary, (node) => copySummary(context, node)),
    withReport(COMMANDS.revealInExplorer, (node) => revealInExplorer(context, node)),
    withReport(COMMANDS.showMore, (node) => showMore(context, node as never)),
  );
}
