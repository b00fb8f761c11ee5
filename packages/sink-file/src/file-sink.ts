import { CheckpointError, type Run, type Sink, type SinkResult } from '@checkpointkit/core';
import { DurableFile } from './durable-file.js';
import { DEFAULT_SINK_ID, fileState, recordedFiles, sinkStateKey } from './state.js';

/** Options every file sink takes. */
export interface FileSinkOptions {
  /**
   * The output file, or a function of the unit key that names one (a file per unit, or per
   * group of units). Relative paths resolve against the working directory. Several units may
   * share a file: their pages are written one at a time.
   */
  path: string | ((unit: string) => string);
  /**
   * Names this sink's entries in the checkpoint's meta (`<id>:<path>`). Two file sinks that
   * write through one run need different ids. Default `sink-file`.
   */
  id?: string;
}

/** Where a page goes: its unit, its file, and whether that file is empty (a CSV header goes first). */
export interface PageTarget {
  unit: string;
  path: string;
  fresh: boolean;
}

/** Turns a page into the text to append. */
export type PageEncoder<Item> = (items: readonly Item[], target: PageTarget) => string;

/**
 * The exactly-once protocol shared by the JSON Lines and CSV sinks:
 *
 * - `write` appends the page at the end the sink knows the file has, fdatasyncs it, and returns
 *   the new size as meta (`<id>:<path>` = `{ bytes }`), which `pipeline()` records with the
 *   page's cursor in the same flush.
 * - `open` (and the first touch of a file) cuts each file back to the size the checkpoint
 *   recorded, or empties a file the checkpoint never recorded: what is left is exactly the pages
 *   whose cursors the store acknowledged.
 * - Pages to one file are written one at a time, each recorded before the next one's write can
 *   finish (a write resolves only after its own I/O), so the sizes a flush holds only grow with
 *   the pages it holds.
 */
export function fileSink<Item>(options: FileSinkOptions, encode: PageEncoder<Item>): Sink<Item> {
  const id = options.id ?? DEFAULT_SINK_ID;
  const pathOf = typeof options.path === 'string' ? () => options.path as string : options.path;
  let recorded = new Map<string, number>();
  let files = new Map<string, Promise<DurableFile>>();
  let chains = new Map<string, Promise<unknown>>();
  let opened: Promise<void> | null = null;

  const fileFor = (path: string): Promise<DurableFile> => {
    let file = files.get(path);
    if (!file) {
      // Never recorded: no acknowledged page is in it, so it starts empty.
      file = DurableFile.open(path, recorded.get(path) ?? 0);
      files.set(path, file);
      // A file that failed to open is tried again by the next page.
      file.catch(() => files.delete(path));
    }
    return file;
  };

  const closeAll = async () => {
    await Promise.allSettled(chains.values());
    const open = await Promise.allSettled(files.values());
    files = new Map();
    chains = new Map();
    for (const file of open) if (file.status === 'fulfilled') await file.value.close();
  };

  const openFor = (run: Run): Promise<void> => {
    opened ??= (async () => {
      if (run.worker) {
        throw new CheckpointError(
          `file sink "${id}": worker mode shares a checkpoint between processes, and a local file cannot be cut back safely there; use one process, or a transactional sink`,
        );
      }
      await closeAll();
      recorded = recordedFiles(run.checkpoint, id);
      // Cut every known file back now (the recorded ones, and a fixed path even when nothing of
      // it was recorded yet): one whose units never write again keeps no tail. A file a path
      // function names, never recorded, is emptied when its first page comes.
      const known = new Set(recorded.keys());
      if (typeof options.path === 'string') known.add(options.path);
      await Promise.all([...known].map(fileFor));
    })();
    opened.catch(() => {
      opened = null;
    });
    return opened;
  };

  return {
    open: ({ run }) => {
      opened = null;
      return openFor(run);
    },
    async write(items, context): Promise<SinkResult> {
      // Used outside pipeline(): open on the first page.
      await openFor(context.run);
      if (items.length === 0) return undefined;
      const path = pathOf(context.unit);
      const previous = chains.get(path) ?? Promise.resolve();
      const page = previous.then(async () => {
        const file = await fileFor(path);
        const text = encode(items, { unit: context.unit, path, fresh: file.size === 0 });
        const bytes = await file.append(Buffer.from(text, 'utf8'));
        return { meta: { [sinkStateKey(id, path)]: fileState(bytes) } };
      });
      chains.set(
        path,
        page.catch(() => {}),
      );
      return page;
    },
    async close() {
      await closeAll();
      opened = null;
    },
  };
}
