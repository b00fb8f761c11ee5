/**
 * What commands show the user: messages, a modal confirmation, a quick pick. The extension uses
 * VS Code's windows; the extension-host tests put a recorder in its place (through the API that
 * `activate` returns), since a modal dialog would wait for a click.
 */
import * as vscode from 'vscode';

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

export const windowUi: Ui = {
  info: (message) => void vscode.window.showInformationMessage(message),
  warn: (message) => void vscode.window.showWarningMessage(message),
  error: (message) => void vscode.window.showErrorMessage(message),
  async confirm(message, detail, action) {
    return (
      (await vscode.window.showWarningMessage(message, { modal: true, detail }, action)) === action
    );
  },
  async pick(items, placeHolder) {
    const chosen = await vscode.window.showQuickPick(items, {
      placeHolder,
      matchOnDescription: true,
    });
    return chosen?.value;
  },
};
