import type * as vscode from 'vscode';
import { baseName, relativePath } from '../discovery/find.js';

/** How a file is named in messages: its path inside the workspace folder. */
export function displayName(folder: vscode.WorkspaceFolder, uri: vscode.Uri): string {
  return relativePath(folder, uri) ?? baseName(uri);
}
