/**
 * Read → write → read again loses nothing the file held: members the reader does not know (a
 * newer seed version's fields) come back in `meta.user.unknownFields`, and what the reader keeps
 * as it is (seed 002's `state` and `metadata`, seed 003's repo errors) comes back byte for byte,
 * in the file's order and with a `__proto__` member, as Python's json would write it again.
 */
import { describe, expect, it } from 'vitest';
import {
  type Checkpoint,
  checkpointToChanges,
  parseCheckpointJson,
  replay,
} from '../../src/index.js';
import { fixtureText } from '../fixtures/formats/load.js';

/** Reads `text`, writes it as the change log migrate writes, and reads the result again. */
function readWriteRead(text: string, file: string): Checkpoint {
  const { checkpoint } = parseCheckpointJson(text, { file });
  const written = replay(null, checkpointToChanges(checkpoint));
  expect(written).toEqual(checkpoint);
  return parseCheckpointJson(JSON.stringify(written, null, 2), { file: 'written.json' }).checkpoint;
}

/** `json.dumps(value, indent=4)` for the values these tests use (no floats, no escapes). */
const pythonDump = (value: unknown) => JSON.stringify(value, null, 4);

/** The member of a parsed JSON text, own `__proto__` members and order included. */
const member = (text: string, ...path: string[]) =>
  path.reduce<unknown>((value, key) => (value as Record<string, unknown>)[key], JSON.parse(text));

describe('what a reader keeps as it is comes back byte for byte', () => {
  it('seed 002 v2.0 metadata: its order, a __proto__ member and members of the job', () => {
    const text = fixtureText('seed-002/.checkpoint_fetch_prebid_Prebid.js_master.json').replace(
      '"total_items": 1000,',
      '"job": "scan", "__proto__": {"polluted": true}, "total_items": 1000,',
    );
    const user = readWriteRead(text, '.checkpoint_fetch.json').meta.user;
    expect(pythonDump(user['metadata'])).toBe(pythonDump(member(text, 'metadata')));
    expect(pythonDump(user['state'])).toBe(pythonDump(member(text, 'state')));
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('seed 002 v1.0 state: migrated files_data stays in its place, __proto__ kept', () => {
    const text = JSON.stringify({
      version: '1.0',
      operation_id: 'fetch_docs',
      state: JSON.parse(
        '{"branch": "main", "files_data": [["a.md", {"sha": "1"}]], "__proto__": {"x": 1}, "z": 0}',
      ),
      created_at: '2023-10-01T08:00:00',
    });
    const state = readWriteRead(text, 'legacy.json').meta.user['state'] as Record<string, unknown>;
    expect(Object.keys(state)).toEqual(['branch', 'files_data', '__proto__', 'z']);
    expect(state['files_data']).toEqual({ 'a.md': { sha: '1' } });
    expect(Object.getOwnPropertyDescriptor(state, '__proto__')?.value).toEqual({ x: 1 });
  });

  it('seed 003 repo error: its members in order, __proto__ and extra ones included', () => {
    const text = fixtureText('seed-003/target=sample-org/checkpoint.json').replace(
      '{"message": "403 Forbidden: Resource not accessible by integration", "retryable": false}',
      '{"status": 403, "message": "403 Forbidden", "__proto__": {"a": 1}, "retryable": false}',
    );
    const repos = readWriteRead(text, 'target=sample-org/checkpoint.json').meta.user[
      'repos'
    ] as Record<string, Record<string, unknown>>;
    const error = repos['sample-org/private-infra']?.['error'];
    expect(pythonDump(error)).toBe(
      pythonDump(member(text, 'repos', 'sample-org/private-infra', 'error')),
    );
  });
});

describe('members a reader does not know survive a write', () => {
  const unknownFields = (text: string, file: string) =>
    readWriteRead(text, file).meta.user['unknownFields'];

  it('seed 000 as a newer version writes it: top level, statistics and a page', () => {
    const text = fixtureText('seed-000/migration_checkpoint.json')
      .replace('"version": "1.0",', '"version": "1.0", "source_room": "!abc:matrix.org",')
      .replace('"failed_imports": 7', '"failed_imports": 7, "skipped": [1, 2]')
      .replace('"comment_count": 41,', '"comment_count": 41, "retry_count": 2,');
    expect(unknownFields(text, '.migration_checkpoint.json')).toEqual([
      { path: ['source_room'], value: '!abc:matrix.org' },
      { path: ['completed_pages', 'blog/2023/self-hosting-synapse', 'retry_count'], value: 2 },
      { path: ['statistics', 'skipped'], value: [1, 2] },
    ]);
  });

  it('seed 002 v2.0 and v1.0: a top-level member', () => {
    const v2 = fixtureText('seed-002/minimal-v2.json').replace(
      '"version": "2.0",',
      '"version": "2.0", "host": {"name": "ci-7"},',
    );
    expect(unknownFields(v2, 'v2.json')).toEqual([{ path: ['host'], value: { name: 'ci-7' } }]);
    const v1 = fixtureText('seed-002/legacy-v1.json').replace(
      '"total_items": 412,',
      '"total_items": 412, "__proto__": "kept",',
    );
    expect(unknownFields(v1, 'v1.json')).toEqual([{ path: ['__proto__'], value: 'kept' }]);
  });

  it('seed 003: top level (a version too), a repo, an endpoint and a phase object', () => {
    const text = fixtureText('seed-003/target=sample-org/checkpoint.json')
      .replace('"current_phase": "pulls",', '"current_phase": "pulls", "version": "1.1",')
      .replace('"discovery": "complete",', '"discovery": {"status": "complete", "took_s": 4},')
      .replace(
        '"last_page_written": 4}',
        '"last_page_written": 4, "etag": "W/\\"1\\""}, "issues": {"status": "pending", "pages_collected": 0, "records_collected": 0, "last_page_written": 0}',
      )
      .replace('"status": "pending",\n', '"status": "pending", "private": true,\n');
    expect(unknownFields(text, 'target=sample-org/checkpoint.json')).toEqual([
      { path: ['version'], value: '1.1' },
      { path: ['phases', 'discovery', 'took_s'], value: 4 },
      { path: ['repos', 'sample-org/api', 'endpoints', 'pulls', 'etag'], value: 'W/"1"' },
      { path: ['repos', 'sample-org/sdk', 'private'], value: true },
    ]);
  });

  it('records nothing when every member is known', () => {
    for (const name of [
      'seed-000/migration_checkpoint.json',
      'seed-002/legacy-v1.json',
      'seed-002/.checkpoint_fetch_prebid_Prebid.js_master.json',
      'seed-003/target=sample-org/checkpoint.json',
    ]) {
      expect(unknownFields(fixtureText(name), name), name).toBeUndefined();
    }
  });
});
