/** The elements of the checkpoint tree. Commands get them as arguments from context menus. */
import type { Unit } from '@checkpointkit/core';
import type * as vscode from 'vscode';
import type { UnitGroup } from '../model/unit-tree.js';

export interface FolderNode {
  type: 'folder';
  folder: vscode.WorkspaceFolder;
}

export interface CheckpointNode {
  type: 'checkpoint';
  entryKey: string;
}

/** Counters or id maps of a checkpoint. */
export interface SectionNode {
  type: 'section';
  entryKey: string;
  section: 'counters' | 'idMaps';
}

/** One counter or id map size. */
export interface ValueNode {
  type: 'value';
  id: string;
  label: string;
  description: string;
  icon: string;
}

export interface GroupNode {
  type: 'group';
  entryKey: string;
  group: UnitGroup;
}

export interface UnitNode {
  type: 'unit';
  entryKey: string;
  key: string;
  label: string;
  unit: Unit;
}

/** "Show 500 more" at the end of a page. */
export interface MoreNode {
  type: 'more';
  entryKey: string;
  /** The group path whose children are paged ('' for the checkpoint's first level). */
  path: string;
  remaining: number;
  pageSize: number;
}

/** A line of text: reading, locked, search stopped at the cap. */
export interface MessageNode {
  type: 'message';
  id: string;
  label: string;
  icon: string;
  color?: string;
  tooltip?: string;
}

export type TreeNode =
  | FolderNode
  | CheckpointNode
  | SectionNode
  | ValueNode
  | GroupNode
  | UnitNode
  | MoreNode
  | MessageNode;
