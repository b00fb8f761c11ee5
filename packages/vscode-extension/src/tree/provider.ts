/**
 * The checkpoint tree: workspace folder (multi-root only) > checkpoint > counters, id maps and
 * unit groups by key path > units. Children are computed when a node is expanded; large levels
 * come in pages with a "Show N more" node. Registry changes are coalesced, so a scan that reads
 * 200 checkpoints refreshes the view a few times, not 200.
 */
import { describeOwner } from '@checkpointkit/core';
import * as vscode from 'vscode';
import { ROOT_PATH, type UnitTreeChild } from '../model/unit-tree.js';
import { type CheckpointEntry, loaded } from '../state/entry.js';
import type { CheckpointRegistry, RegistryChange } from '../state/registry.js';
import { type EditContext, treeItem } from './items.js';
import type { CheckpointNode, FolderNode, MoreNode, TreeNode } from './nodes.js';

/** Wait this long after a change for more before refreshing the view. */
const COALESCE_MS = 30;
/** More changed checkpoints than this refresh the whole view. */
const MANY = 20;

export class CheckpointTreeProvider
  implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable
{
  readonly #onDidChangeTreeData = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.#onDidChangeTreeData.event;
  readonly #checkpointNodes = new Map<string, CheckpointNode>();
  readonly #folderNodes = new Map<string, FolderNode>();
  /** Nodes whose children are paged, by `entryKey \0 path`, to refresh after "Show more". */
  readonly #pagedParents = new Map<string, TreeNode>();
  /** How many children of a paged level are shown, by `entryKey \0 path`. */
  readonly #shown = new Map<string, number>();
  readonly #pending = new Set<string>();
  #pendingAll = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #subscription: vscode.Disposable;

  constructor(
    private readonly registry: CheckpointRegistry,
    private readonly edit: () => EditContext,
    private readonly pageSize: () => number,
  ) {
    this.#subscription = registry.onDidChange((change) => this.#schedule(change));
  }

  #schedule(change: RegistryChange): void {
    if (change.kind === 'all') this.#pendingAll = true;
    else for (const entry of change.entries) this.#pending.add(entry.key);
    this.#timer ??= setTimeout(() => this.#flush(), COALESCE_MS);
  }

  #flush(): void {
    this.#timer = undefined;
    if (this.#pendingAll || this.#pending.size > MANY) {
      this.#pendingAll = false;
      this.#pending.clear();
      this.#onDidChangeTreeData.fire(undefined);
      return;
    }
    for (const key of this.#pending) {
      const node = this.#checkpointNodes.get(key);
      if (node) this.#onDidChangeTreeData.fire(node);
    }
    this.#pending.clear();
  }

  /** Redraws everything (trust granted, settings changed). */
  refreshAll(): void {
    this.#onDidChangeTreeData.fire(undefined);
  }

  /** Checkpoints shown: read or damaged or still reading, not ignored candidates; sorted by folder path then id. */
  visibleEntries(folder?: vscode.WorkspaceFolder): CheckpointEntry[] {
    return this.registry
      .entries()
      .filter(
        (entry) =>
          entry.state.kind !== 'ignored' &&
          (!folder || entry.folder.uri.toString() === folder.uri.toString()),
      )
      .sort((a, b) => a.key.localeCompare(b.key));
  }

  checkpointNode(entry: CheckpointEntry): CheckpointNode {
    let node = this.#checkpointNodes.get(entry.key);
    if (!node) {
      node = { type: 'checkpoint', entryKey: entry.key };
      this.#checkpointNodes.set(entry.key, node);
    }
    return node;
  }

  #folderNode(folder: vscode.WorkspaceFolder): FolderNode {
    const key = folder.uri.toString();
    let node = this.#folderNodes.get(key);
    if (!node) {
      node = { type: 'folder', folder };
      this.#folderNodes.set(key, node);
    }
    return node;
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    const entry = 'entryKey' in node ? this.registry.get(node.entryKey) : undefined;
    return treeItem(node, entry, this.edit(), Date.now());
  }

  getChildren(node?: TreeNode): TreeNode[] {
    if (!node) return this.#roots();
    switch (node.type) {
      case 'folder':
        return this.#checkpointsOf(node.folder);
      case 'checkpoint':
        return this.#checkpointChildren(node);
      case 'section':
        return this.#sectionChildren(node.entryKey, node.section);
      case 'group':
        return this.#page(node.entryKey, node.group.path, node);
      default:
        return [];
    }
  }

  #roots(): TreeNode[] {
    const folders = vscode.workspace.workspaceFolders ?? [];
    if (folders.length > 1) {
      const withEntries = new Set(
        this.visibleEntries().map((entry) => entry.folder.uri.toString()),
      );
      return folders
        .filter((folder) => withEntries.has(folder.uri.toString()))
        .map((folder) => this.#folderNode(folder));
    }
    return folders[0] ? this.#checkpointsOf(folders[0]) : [];
  }

  #checkpointsOf(folder: vscode.WorkspaceFolder): TreeNode[] {
    const nodes: TreeNode[] = this.visibleEntries(folder).map((entry) =>
      this.checkpointNode(entry),
    );
    if (nodes.length > 0 && this.registry.isTruncated(folder)) {
      nodes.push({
        type: 'message',
        id: `truncated:${folder.uri.toString()}`,
        label: 'Search stopped at checkpointkit.maxFiles',
        icon: 'warning',
        color: 'list.warningForeground',
        tooltip:
          'Some checkpoints may be missing: narrow the search with checkpointkit.exclude or raise checkpointkit.maxFiles.',
      });
    }
    return nodes;
  }

  #checkpointChildren(node: CheckpointNode): TreeNode[] {
    const entry = this.registry.get(node.entryKey);
    const value = loaded(entry);
    if (!entry || !value) return [];
    const nodes: TreeNode[] = [];
    if (value.lockOwner) {
      nodes.push({
        type: 'message',
        id: `${entry.key}#locked`,
        label: `Read-only: locked by ${describeOwner(value.lockOwner)}`,
        icon: 'lock',
        tooltip:
          'A job holds this checkpoint. It is shown live and cannot be edited until the job ends.',
      });
    }
    if (Object.keys(value.summary.stats).length > 0)
      nodes.push({ type: 'section', entryKey: entry.key, section: 'counters' });
    if (Object.keys(value.summary.idMaps).length > 0)
      nodes.push({ type: 'section', entryKey: entry.key, section: 'idMaps' });
    nodes.push(...this.#page(entry.key, ROOT_PATH, node));
    return nodes;
  }

  #sectionChildren(entryKey: string, section: 'counters' | 'idMaps'): TreeNode[] {
    const value = loaded(this.registry.get(entryKey));
    if (!value) return [];
    const values = section === 'counters' ? value.summary.stats : value.summary.idMaps;
    return Object.entries(values).map(([name, n]) => ({
      type: 'value',
      id: `${entryKey}#s:${section}:${name}`,
      label: name,
      description:
        section === 'counters' ? n.toLocaleString('en-US') : `${n.toLocaleString('en-US')} ids`,
      icon: section === 'counters' ? 'symbol-number' : 'arrow-swap',
    }));
  }

  #page(entryKey: string, path: string, parent: TreeNode): TreeNode[] {
    const value = loaded(this.registry.get(entryKey));
    if (!value) return [];
    const pageKey = `${entryKey}\0${path}`;
    const size = this.pageSize();
    const shown = this.#shown.get(pageKey) ?? size;
    const page = value.tree.page(path, 0, shown);
    const nodes: TreeNode[] = page.items.map((child) => toNode(entryKey, child));
    if (page.remaining > 0) {
      this.#pagedParents.set(pageKey, parent);
      nodes.push({ type: 'more', entryKey, path, remaining: page.remaining, pageSize: size });
    }
    return nodes;
  }

  /** Shows the next page of the level a "Show more" node ends. */
  showMore(node: MoreNode): void {
    const pageKey = `${node.entryKey}\0${node.path}`;
    this.#shown.set(pageKey, (this.#shown.get(pageKey) ?? node.pageSize) + node.pageSize);
    const parent = this.#pagedParents.get(pageKey);
    this.#onDidChangeTreeData.fire(parent);
  }

  dispose(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#subscription.dispose();
    this.#onDidChangeTreeData.dispose();
  }
}

function toNode(entryKey: string, child: UnitTreeChild): TreeNode {
  return child.kind === 'group'
    ? { type: 'group', entryKey, group: child }
    : { type: 'unit', entryKey, key: child.key, label: child.label, unit: child.unit };
}
