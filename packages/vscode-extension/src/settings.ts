/** The extension's settings (`checkpointkit.*`) and the `files.exclude` it honours, per folder. */
import * as vscode from 'vscode';
import { type DiscoveryPatterns, discoveryPatterns } from './discovery/globs.js';

export const SECTION = 'checkpointkit';

export interface Settings {
  /** Most files one workspace folder's search returns. */
  maxFiles: number;
  /** Children shown per page in a large group. */
  pageSize: number;
  /** Least time between two refreshes of one checkpoint while its files change. */
  liveUpdateMs: number;
}

function clamp(value: unknown, min: number, max: number, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value)
    ? Math.min(max, Math.max(min, Math.round(value)))
    : fallback;
}

export function readSettings(scope?: vscode.ConfigurationScope): Settings {
  const config = vscode.workspace.getConfiguration(SECTION, scope);
  return {
    maxFiles: clamp(config.get('maxFiles'), 1, 100_000, 2000),
    pageSize: clamp(config.get('pageSize'), 10, 10_000, 500),
    liveUpdateMs: clamp(config.get('liveUpdateInterval'), 100, 10_000, 300),
  };
}

/** Include and exclude patterns of one workspace folder. */
export function folderPatterns(folder: vscode.WorkspaceFolder): DiscoveryPatterns {
  const config = vscode.workspace.getConfiguration(SECTION, folder.uri);
  const strings = (value: unknown) =>
    Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  return discoveryPatterns({
    filesExclude: vscode.workspace.getConfiguration('files', folder.uri).get('exclude'),
    exclude: strings(config.get('exclude')),
    seedFiles: strings(config.get('seedFiles')),
  });
}

/** True when a configuration change touches what discovery finds. */
export function affectsDiscovery(event: vscode.ConfigurationChangeEvent): boolean {
  return event.affectsConfiguration(SECTION) || event.affectsConfiguration('files.exclude');
}
