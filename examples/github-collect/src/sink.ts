import { join } from 'node:path';
import type { Sink } from '@checkpointkit/core';
import { jsonLinesSink } from '@checkpointkit/sink-file';
import type { GithubRecord } from '@checkpointkit/source-github';

/**
 * GitHub records as JSON Lines, exactly once: `<dir>/repositories.jsonl` for the repositories
 * (the discovery units), and `<dir>/<owner>/<name>/<endpoint>.jsonl` for the rest, one file per
 * unit (`repos/<owner>/<name>/<endpoint>`). Each page is fsynced and its byte offset saved with
 * its cursor; a resumed run cuts each file back to its saved offset before writing.
 */
export function githubJsonLines(dir: string): Sink<GithubRecord> {
  return jsonLinesSink<GithubRecord>({
    path: (unit) =>
      unit.startsWith('repos/')
        ? `${join(dir, unit.slice('repos/'.length))}.jsonl`
        : join(dir, 'repositories.jsonl'),
    // The object as GitHub returned it; reviews with the number of their pull request.
    toJson: (record) =>
      record.pullNumber === undefined
        ? record.data
        : { pull_number: record.pullNumber, ...record.data },
  });
}
