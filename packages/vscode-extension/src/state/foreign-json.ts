/**
 * Files of other tools that happen to be named like a snapshot (`model.checkpoint.json` of a
 * training run): skipped quietly, as seed candidates whose content is no checkpoint are, instead
 * of a red "damaged" row for a file that was never ours.
 */
import { CheckpointFormatError, parseCheckpointJson } from '@checkpointkit/core';
import {
  ACK_SUFFIX,
  JOURNAL_SUFFIX,
  PREVIOUS_SUFFIX,
  SNAPSHOT_SUFFIX,
} from '@checkpointkit/storage-file';
import * as vscode from 'vscode';
import { exists, readBytes } from './read-file.js';

/** Larger files named like a snapshot stay damaged unread: no tool's settings are this large. */
const MAX_FOREIGN_BYTES = 16 * 1024 * 1024;

/** A candidate whose content belongs to no checkpoint format is not a checkpoint: skip it quietly. */
export function isNotACheckpoint(error: CheckpointFormatError): boolean {
  return /not a checkpoint: (none of its fields|expected a JSON object)/.test(error.message);
}

/**
 * True when the snapshot `uri` of `stem`, which failed to read, is another tool's JSON: alone
 * (no journal, ack mark or previous generation beside it, which only the store writes), a JSON
 * object of none of the checkpoint formats, without the `snapshot` and `crc32` keys of a
 * snapshot's first line (one damaged byte cannot take both).
 */
export async function isForeignJson(uri: vscode.Uri, stem: string, name: string): Promise<boolean> {
  const dir = vscode.Uri.joinPath(uri, '..');
  const store = [
    JOURNAL_SUFFIX,
    ACK_SUFFIX,
    `${SNAPSHOT_SUFFIX}${PREVIOUS_SUFFIX}`,
    `${JOURNAL_SUFFIX}${PREVIOUS_SUFFIX}`,
  ];
  for (const suffix of store)
    if (await exists(vscode.Uri.joinPath(dir, stem + suffix))) return false;
  let text: string;
  try {
    const bytes = await readBytes(uri, name, {
      bytes: 1,
      check: (head, size) => {
        // `{`: junk and large files are not read whole.
        if (size > MAX_FOREIGN_BYTES || head[0] !== 0x7b) throw new Error('not JSON');
      },
    });
    if (bytes === null) return false;
    text = new TextDecoder().decode(bytes);
  } catch {
    return false;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return false;
  }
  if (typeof data !== 'object' || data === null || 'snapshot' in data || 'crc32' in data)
    return false;
  try {
    parseCheckpointJson(text, { file: name });
    return false; // a seed-format checkpoint by the store's name: not the store's, but not foreign either
  } catch (error) {
    return error instanceof CheckpointFormatError && isNotACheckpoint(error);
  }
}
