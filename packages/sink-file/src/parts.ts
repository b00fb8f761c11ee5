import { rm } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { DurableFile } from './durable-file.js';
import { SinkFileError } from './errors.js';

/**
 * The file of part `part` of an output: the path itself for part 0, then the part number before
 * the extension (`out.jsonl`, `out.1.jsonl`, `out.2.jsonl`, ...).
 */
export function partPath(path: string, part: number): string {
  if (part === 0) return path;
  const extension = extname(path);
  return join(dirname(path), `${basename(path, extension)}.${part}${extension}`);
}

/** The part an output is writing, and its file. */
export interface OpenPart {
  part: number;
  file: DurableFile;
}

/**
 * Opens part `part` of an output cut back to `bytes`, and removes the parts after it: a crash
 * after a rotation that no flush acknowledged leaves them, and their pages will be written again.
 */
export async function openPart(path: string, part: number, bytes: number): Promise<OpenPart> {
  const file = await DurableFile.open(partPath(path, part), bytes);
  for (let next = part + 1; ; next++) {
    const later = partPath(path, next);
    try {
      await rm(later);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') break;
      await file.close();
      throw new SinkFileError(later, 'remove', error);
    }
  }
  return { part, file };
}
