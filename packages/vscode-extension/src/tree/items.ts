/** Tree elements as VS Code TreeItems: labels, descriptions, icons, tooltips and context values. */
import * as vscode from 'vscode';
import { relativePath } from '../discovery/find.js';
import {
  checkpointDescription,
  checkpointIcon,
  checkpointTooltip,
  groupDescription,
  groupIcon,
  type IconSpec,
  unitDescription,
  unitIcon,
  unitTooltip,
} from '../model/present.js';
import { displayPath } from '../model/unit-tree.js';
import { type CheckpointEntry, primaryFile } from '../state/entry.js';
import { displayName } from '../state/read-entry.js';
import type { GroupNode, MessageNode, MoreNode, TreeNode, UnitNode } from './nodes.js';

function icon(spec: IconSpec): vscode.ThemeIcon {
  return new vscode.ThemeIcon(spec.id, spec.color ? new vscode.ThemeColor(spec.color) : undefined);
}

/** Whether edits are possible: a trusted workspace and a local file. */
export interface EditContext {
  trusted: boolean;
}

/**
 * Context value of a checkpoint: space-separated flags that menus test with `viewItem =~ /\bflag\b/`.
 * `editable`: a file store checkpoint no job holds, in a trusted workspace, on disk.
 * `migratable`: a seed-format checkpoint that Migrate can write beside itself.
 */
export function checkpointContext(entry: CheckpointEntry, edit: EditContext): string {
  const flags = ['checkpoint', entry.files.kind, entry.state.kind];
  const local = primaryFile(entry).scheme === 'file';
  if (entry.state.kind === 'loaded') {
    const value = entry.state.value;
    if (value.summary.counts.failed > 0) flags.push('hasFailed');
    if (value.lockOwner) flags.push('locked');
    if (edit.trusted && local && !value.lockOwner) {
      flags.push(entry.files.kind === 'canonical' ? 'editable' : 'migratable');
    }
  }
  return flags.join(' ');
}

function relativeDir(entry: CheckpointEntry): string {
  const path = relativePath(entry.folder, primaryFile(entry)) ?? '';
  const cut = path.lastIndexOf('/');
  return cut < 0 ? '' : path.slice(0, cut);
}

export function checkpointItem(
  entry: CheckpointEntry,
  edit: EditContext,
  now: number,
): vscode.TreeItem {
  const file = primaryFile(entry);
  const name = displayName(entry.folder, file);
  const state = entry.state;
  let item: vscode.TreeItem;
  if (state.kind === 'loaded') {
    const { checkpoint, summary, format, lockOwner, tornTail, lost } = state.value;
    item = new vscode.TreeItem(checkpoint.id, vscode.TreeItemCollapsibleState.Collapsed);
    const dir = relativeDir(entry);
    item.description =
      checkpointDescription(summary, { now, format, locked: lockOwner !== null }) +
      (dir ? ` · ${dir}` : '');
    item.iconPath = lockOwner
      ? new vscode.ThemeIcon('lock', new vscode.ThemeColor('charts.blue'))
      : icon(checkpointIcon(summary.status, summary.counts.failed));
    const tooltip = new vscode.MarkdownString(
      checkpointTooltip(summary, { file: name, format, lockOwner, tornTail, lost }),
      true,
    );
    item.tooltip = tooltip;
  } else if (state.kind === 'damaged') {
    item = new vscode.TreeItem(name, vscode.TreeItemCollapsibleState.None);
    item.description = `cannot be read: ${state.message}`;
    item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'));
    item.tooltip = new vscode.MarkdownString().appendText(
      `${state.message}\n\nThe file is left as it is.`,
    );
  } else {
    item = new vscode.TreeItem(name, vscode.TreeItemCollapsibleState.None);
    item.description = 'reading…';
    item.iconPath = new vscode.ThemeIcon('loading~spin');
  }
  item.id = entry.key;
  item.resourceUri = file;
  item.contextValue = checkpointContext(entry, edit);
  return item;
}

function unitContext(
  status: string,
  entry: CheckpointEntry | undefined,
  edit: EditContext,
  extra: string[] = [],
): string {
  const flags = ['unit', status, ...extra];
  const value = entry?.state.kind === 'loaded' ? entry.state.value : null;
  if (
    value &&
    entry?.files.kind === 'canonical' &&
    edit.trusted &&
    !value.lockOwner &&
    primaryFile(entry).scheme === 'file'
  ) {
    flags.push('editable');
  }
  return flags.join(' ');
}

export function groupItem(
  node: GroupNode,
  entry: CheckpointEntry | undefined,
  edit: EditContext,
): vscode.TreeItem {
  const { group } = node;
  const item = new vscode.TreeItem(
    group.label || '(empty)',
    vscode.TreeItemCollapsibleState.Collapsed,
  );
  item.id = `${node.entryKey}#g:${group.path}`;
  item.description = groupDescription(group.counts, group.total);
  item.iconPath = icon(groupIcon(group.counts));
  const unit =
    group.unitKey !== null && entry?.state.kind === 'loaded'
      ? entry.state.value.tree.unit(group.unitKey)
      : undefined;
  if (unit && group.unitKey !== null) {
    item.tooltip = new vscode.MarkdownString(unitTooltip(group.unitKey, unit));
    item.contextValue = unitContext(unit.status, entry, edit, ['group']);
  } else {
    item.tooltip = `${displayPath(group.path)}: ${group.counts.complete} complete, ${group.counts.in_progress} in progress, ${group.counts.pending} pending, ${group.counts.failed} failed`;
    item.contextValue = 'group';
  }
  return item;
}

export function unitItem(
  node: UnitNode,
  entry: CheckpointEntry | undefined,
  edit: EditContext,
): vscode.TreeItem {
  const item = new vscode.TreeItem(node.label || '(empty)', vscode.TreeItemCollapsibleState.None);
  item.id = `${node.entryKey}#u:${node.key}`;
  item.description = unitDescription(node.unit);
  item.iconPath = icon(unitIcon(node.unit.status));
  item.tooltip = new vscode.MarkdownString(unitTooltip(node.key, node.unit));
  item.contextValue = unitContext(node.unit.status, entry, edit);
  return item;
}

export function moreItem(node: MoreNode): vscode.TreeItem {
  const count = Math.min(node.pageSize, node.remaining);
  const item = new vscode.TreeItem(`Show ${count} more`, vscode.TreeItemCollapsibleState.None);
  item.id = `${node.entryKey}#more:${node.path}`;
  item.description = `${node.remaining} not shown`;
  item.iconPath = new vscode.ThemeIcon('ellipsis');
  item.contextValue = 'more';
  item.command = { command: 'checkpointkit.showMore', title: 'Show More', arguments: [node] };
  return item;
}

export function messageItem(node: MessageNode): vscode.TreeItem {
  const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
  item.id = node.id;
  item.iconPath = new vscode.ThemeIcon(
    node.icon,
    node.color ? new vscode.ThemeColor(node.color) : undefined,
  );
  if (node.tooltip) item.tooltip = node.tooltip;
  item.contextValue = 'message';
  return item;
}

export function treeItem(
  node: TreeNode,
  entry: CheckpointEntry | undefined,
  edit: EditContext,
  now: number,
): vscode.TreeItem {
  switch (node.type) {
    case 'folder': {
      const item = new vscode.TreeItem(node.folder.name, vscode.TreeItemCollapsibleState.Expanded);
      item.id = `folder:${node.folder.uri.toString()}`;
      item.iconPath = vscode.ThemeIcon.Folder;
      item.resourceUri = node.folder.uri;
      item.contextValue = 'folder';
      return item;
    }
    case 'checkpoint':
      return entry ? checkpointItem(entry, edit, now) : new vscode.TreeItem('(gone)');
    case 'section': {
      const label = node.section === 'counters' ? 'Counters' : 'Id maps';
      const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.Collapsed);
      item.id = `${node.entryKey}#s:${node.section}`;
      item.iconPath = new vscode.ThemeIcon(node.section === 'counters' ? 'graph' : 'references');
      item.contextValue = 'section';
      const value = entry?.state.kind === 'loaded' ? entry.state.value.summary : null;
      if (value)
        item.description = String(
          Object.keys(node.section === 'counters' ? value.stats : value.idMaps).length,
        );
      return item;
    }
    case 'value': {
      const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
      item.id = node.id;
      item.description = node.description;
      item.iconPath = new vscode.ThemeIcon(node.icon);
      item.contextValue = 'value';
      return item;
    }
    case 'group':
      return groupItem(node, entry, edit);
    case 'unit':
      return unitItem(node, entry, edit);
    case 'more':
      return moreItem(node);
    case 'message':
      return messageItem(node);
  }
}
