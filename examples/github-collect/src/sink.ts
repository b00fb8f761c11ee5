import { appendFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Sink } from '@checkpointkit/core';
import type { GithubRecord } from '@checkpointkit/source-github';

/**
 * Appends records as JSON Lines: `<dir>/repositories.jsonl` for the repositories, and
 * `<dir>/<owner>/<name>/<endpoint>.jsonl` for the rest. The page in flight when a process dies is
 * written again on resume (at-least-once), so readers keep one line per `id` (`sha` for commits).
 */
export function jsonlSink(dir: string): Sink<GithubRecord> & { written: number } {
  const made = new Set<string>();
  const sink = {
    written: 0,
    async write(records: readonly GithubRecord[]) {
      const files = new Map<string, string[]>();
      for (const record of records) {
        const file =
          record.endpoint === 'repository'
            ? join(dir, 'repositories.jsonl')
            : join(dir, record.repository, `${record.endpoint}.jsonl`);
        const line = JSON.stringify(
          record.pullNumber === undefined
            ? record.data
            : { pull_number: record.pullNumber, ...record.data },
        );
        files.set(file, [...(files.get(file) ?? []), `${line}\n`]);
      }
      for (const [file, lines] of files) {
        if (!made.has(dirname(file))) {
          await mkdir(dirname(file), { recursive: true });
          made.add(dirname(file));
        }
        await appendFile(file, lines.join(''));
      }
      sink.written += records.length;
      return undefined;
    },
  };
  return sink;
}
