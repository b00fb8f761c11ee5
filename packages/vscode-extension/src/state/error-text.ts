/**
 * What a read error says in the view: files named by their path inside the workspace folder, as
 * the extension's own reads name them. storage-file's readers name files by the absolute paths
 * they were given, and Node's errors (ELOOP, EACCES) name them after a comma in their own way.
 */
import { isAbsolute, sep } from 'node:path';
import { CheckpointFormatError } from '@checkpointkit/core';
import * as vscode from 'vscode';
import { displayName } from './display-name.js';

export function errorText(folder: vscode.WorkspaceFolder, error: unknown): string {
  const name = (path: string) => displayName(folder, vscode.Uri.file(path));
  if (error instanceof CheckpointFormatError && error.file && isAbsolute(error.file)) {
    // The cause may name other files of the checkpoint (`... is there (<path>.prev)`).
    const cause =
      folder.uri.scheme === 'file'
        ? error.cause_.split(folder.uri.fsPath + sep).join('')
        : error.cause_;
    return `${name(error.file)}${error.line !== undefined ? `:${error.line}` : ''}: ${cause}`;
  }
  const errno = error as NodeJS.ErrnoException | null;
  if (errno instanceof Error && typeof errno.code === 'string' && typeof errno.path === 'string') {
    // "ELOOP: too many symbolic links encountered, open '/abs/x.checkpoint.json'"
    return `${name(errno.path)}: ${errno.message.split(', ')[0]}`;
  }
  return error instanceof Error ? error.message : String(error);
}
