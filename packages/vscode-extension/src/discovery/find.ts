/**
 * Searches each workspace folder for checkpoint files: a walk with Node's fs in `file:` folders
 * (walk.ts), `workspace.findFiles` in others (a RelativePattern per folder, an explicit exclude:
 * dependencies, `files.exclude`, `checkpointkit.exclude`). Both cap their results.
 */
import * as vscode from 'vscode';
import { type Log, silentLog } from '../log.js';
import { folderPatterns } from '../settings.js';
import { combineGlobs, type DiscoveryPatterns, isLeftover, LEFTOVER_GLOB } from './globs.js';
import { walkFiles } from './walk.js';

/** What one search found. */
interface Found {
  files: vscode.Uri[];
  /** The search stopped at the cap: some files may be missing. */
  truncated: boolean;
  /**
   * How it searched, logged so that a report says it: a walk with Node's fs (`file:` folders) or
   * `workspace.findFiles`.
   */
  by: 'walked' | 'findFiles';
}

export interface FolderFiles extends Found {
  folder: vscode.WorkspaceFolder;
}

export async function findCheckpointFiles(
  folder: vscode.WorkspaceFolder,
  maxFiles: number,
  log: Log = silentLog,
  token?: vscode.CancellationToken,
): Promise<FolderFiles> {
  return {
    folder,
    ...(await searchFiles(folder, folder.uri, folderPatterns(folder), maxFiles, log, token)),
  };
}

/**
 * Checkpoint files below `base` (the workspace `folder` or a folder in it), with the files a
 * checkpoint leaves beside them (see LEFTOVER_GLOB). One search, not two: a second search of a
 * 20,000-file workspace measured seconds more to a listed tree on 2 cores. Up to 3 of those per
 * checkpoint, so they get room of their own in the limit; `truncated` says whether the checkpoint
 * files reached `maxFiles`. In a `file:` folder a walk with Node's fs (see walk.ts), elsewhere,
 * or when the walk fails, `workspace.findFiles`.
 */
export async function searchFiles(
  folder: vscode.WorkspaceFolder,
  base: vscode.Uri,
  patterns: DiscoveryPatterns,
  maxFiles: number,
  log: Log = silentLog,
  token?: vscode.CancellationToken,
): Promise<Found> {
  const limit = maxFiles * 4;
  const start = folder.uri.scheme === 'file' ? folderRelative(folder, base) : null;
  if (start !== null) {
    try {
      const walked = await walkFiles(folder.uri.fsPath, start, patterns, limit, { token });
      const found = walked.paths.map((path) => vscode.Uri.joinPath(folder.uri, path));
      return split(found, maxFiles, walked.truncated, 'walked');
    } catch (error) {
      log.warn(`walking ${folder.name} failed, searching with findFiles instead: ${error}`);
    }
  }
  const found = await vscode.workspace.findFiles(
    new vscode.RelativePattern(base, combineGlobs([patterns.include, LEFTOVER_GLOB])!),
    patterns.exclude ?? null,
    limit,
    token,
  );
  return split(found, maxFiles, found.length >= limit, 'findFiles');
}

/** Checkpoint files first (at most `maxFiles`), then the leftovers beside them. */
function split(found: vscode.Uri[], maxFiles: number, stopped: boolean, by: Found['by']): Found {
  const leftovers = found.filter((uri) => isLeftover(uri.path));
  const files = found.filter((uri) => !isLeftover(uri.path)).slice(0, maxFiles);
  return { files: [...files, ...leftovers], truncated: files.length >= maxFiles || stopped, by };
}

/** `base` relative to `folder` (`''` for the folder itself), or null when it is not inside. */
function folderRelative(folder: vscode.WorkspaceFolder, base: vscode.Uri): string | null {
  return base.toString() === folder.uri.toString() ? '' : relativePath(folder, base);
}

/** The path of `uri` inside `folder`, `/` separated, or null when it is not inside. */
export function relativePath(folder: vscode.WorkspaceFolder, uri: vscode.Uri): string | null {
  if (uri.scheme !== folder.uri.scheme || uri.authority !== folder.uri.authority) return null;
  const base = folder.uri.path.endsWith('/') ? folder.uri.path : `${folder.uri.path}/`;
  return uri.path.startsWith(base) ? uri.path.slice(base.length) : null;
}

/** The folder a URI's file lives in, as a stable string key. */
export function dirKey(uri: vscode.Uri): string {
  return vscode.Uri.joinPath(uri, '..').toString();
}

export function baseName(uri: vscode.Uri): string {
  return uri.path.slice(uri.path.lastIndexOf('/') + 1);
}
