/**
 * What commands show the user: messages, a modal confirmation, a quick pick. The extension uses
 * VS Code's windows; the extension-host tests put a recorder in its place (through the API that
 * `activate` returns), since a modal dialog would wait for a click.
 */
import * as vscode from 'vscode';
import { escapeIcons, withoutLinks } from './model/widget-text.js';

export interface PickItem<T> {
  label: string;
  description?: string;
  detail?: string;
  value: T;
}

export interface Ui {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** A modal question; true when the user chose `action`. */
  confirm(message: string, detail: string, action: string): Promise<boolean>;
  pick<T>(items: PickItem<T>[], placeHolder: string): Promise<T | undefined>;
}

/**
 * Messages quote strings from the workspace's files, so links and icons in them are made inert
 * here, where every message passes (see model/widget-text.ts). A modal dialog shows plain text.
 */
export const windowUi: Ui = {
  info: (message) => void vscode.window.showInformationMessage(withoutLinks(message)),
  warn: (message) => void vscode.window.showWarningMessage(withoutLinks(message)),
  error: (message) => void vscode.window.showErrorMessage(withoutLinks(message)),
  async confirm(message, detail, action) {
    return (
      (await vscode.window.showWarningMessage(message, { modal: true, detail }, action)) === action
    );
  },
  async pick(items, placeHolder) {
    const shown = items.map((item) => ({
      ...item,
      label: escapeIcons(item.label),
      ...(item.description !== undefined && { description: escapeIcons(item.description) }),
      ...(item.detail !== undefined && { detail: escapeIcons(item.detail) }),
    }));
    const chosen = await vscode.window.showQuickPick(shown, {
      placeHolder,
      matchOnDescription: true,
    });
    return chosen?.value;
  },
};
