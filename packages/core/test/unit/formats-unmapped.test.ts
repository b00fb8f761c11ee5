/**
 * Members a reader knows but whose value the checkpoint does not hold: a `timestamp` beside
 * `created_at` and `last_updated`, a top-level list that `state` shadows, a page listed as both
 * completed and failed, a time that another one overrules. Each was dropped without a word; now
 * each goes, as the file has it, to `meta.user.unknownFields` with the members the reader does not
 * know, and survives a write. The canonical format (ours, versioned by its `format` tag) refuses
 * a member it does not know instead.
 */
import { describe, expect, it } from 'vitest';
import {
  type Checkpoint,
  checkpointToChanges,
  parseCheckpointJson,
  readCheckpointDocument,
  replay,
  UnknownMemberError,
} from '../../src/index.js';
import { fixtureJson } from '../fixtures/formats/load.js';

type Doc = Record<string, unknown>;

/** Reads `doc`, writes it as the change log migrate writes, and reads the result again. */
function readWriteRead(doc: Doc, file: string, id?: string): Checkpoint {
  const { checkpoint } = readCheckpointDocument(doc, { file, ...(id ? { id } : {}) });
  const written = replay(null, checkpointToChanges(checkpoint));
  expect(written).toEqual(checkpoint);
  return parseCheckpointJson(JSON.stringify(written), { file: 'written.json' }).checkpoint;
}

const unknownFields = (doc: Doc, file = 'progress.json', id?: string) =>
  readWriteRead(doc, file, id).meta.user['unknownFields'];

/** A seed 002 v1.0 document with the given top-level members. */
const v1 = (members: Doc): Doc => ({
  version: '1.0',
  operation_id: 'fetch_docs',
  state: { files_data: [] },
  ...members,
});

describe('seed 002 v1.0: every time member is kept', () => {
  it('keeps timestamp and saved_at beside created_at and last_updated', () => {
    const doc = v1({
      created_at: '2023-10-01T08:00:00',
      last_updated: '2023-10-01T08:05:00',
      timestamp: '2023-10-01T08:04:59.123456',
      saved_at: '2023-10-01T10:05:00+02:00',
    });
    const checkpoint = readWriteRead(doc, 'legacy.json');
    expect(checkpoint.createdAt).toBe('2023-10-01T08:00:00.000Z');
    expect(checkpoint.updatedAt).toBe('2023-10-01T08:05:00.000Z');
    expect(checkpoint.meta.user['unknownFields']).toEqual([
      { path: ['timestamp'], value: '2023-10-01T08:04:59.123456' },
      { path: ['saved_at'], value: '2023-10-01T10:05:00+02:00' },
    ]);
  });

  it('keeps whichever time member the migration does not take', () => {
    const t = (minute: number) => `2023-10-01T08:0${minute}:00`;
    const cases: [Doc, unknown][] = [
      // One time for both: the first of timestamp and saved_at.
      [{ timestamp: t(1), saved_at: t(2) }, [{ path: ['saved_at'], value: t(2) }]],
      // created_at, then the save time as last_updated: timestamp before saved_at.
      [
        { created_at: t(0), timestamp: t(1), saved_at: t(2) },
        [{ path: ['saved_at'], value: t(2) }],
      ],
      [
        { last_updated: t(3), timestamp: t(1), saved_at: t(2) },
        [{ path: ['saved_at'], value: t(2) }],
      ],
      // Each one taken: nothing to keep.
      [{ created_at: t(0), timestamp: t(1) }, undefined],
      [{ timestamp: t(1) }, undefined],
    ];
    for (const [times, expected] of cases) {
      expect(unknownFields(v1(times)), JSON.stringify(times)).toEqual(expected);
    }
  });

  it('keeps a last_updated earlier than created_at, which updatedAt cannot be', () => {
    const doc = v1({ created_at: '2023-10-01T08:05:00', last_updated: '2023-10-01T08:00:00' });
    const checkpoint = readWriteRead(doc, 'legacy.json');
    expect(checkpoint.updatedAt).toBe('2023-10-01T08:05:00.000Z');
    expect(checkpoint.meta.user['unknownFields']).toEqual([
      { path: ['last_updated'], value: '2023-10-01T08:00:00' },
    ]);
  });
});

describe('seed 002 v1.0: what state shadows is kept', () => {
  it('keeps a top-level processed_files when state has its own', () => {
    const doc = v1({
      state: { files_data: [], processed_files: ['a.js'] },
      processed_files: ['a.js', 'b.js'],
      created_at: '2023-10-01T08:00:00',
    });
    const checkpoint = readWriteRead(doc, 'legacy.json');
    expect((checkpoint.meta.user['state'] as Doc)['processed_files']).toEqual(['a.js']);
    expect(checkpoint.meta.user['unknownFields']).toEqual([
      { path: ['processed_files'], value: ['a.js', 'b.js'] },
    ]);
  });

  it('keeps a top-level files_data when state has its own', () => {
    const doc = v1({
      state: { files_data: [['a.js', { size: 1 }]] },
      files_data: [['b.js', { size: 2 }]],
      created_at: '2023-10-01T08:00:00',
    });
    const checkpoint = readWriteRead(doc, 'legacy.json');
    expect((checkpoint.meta.user['state'] as Doc)['files_data']).toEqual({ 'a.js': { size: 1 } });
    expect(checkpoint.meta.user['unknownFields']).toEqual([
      { path: ['files_data'], value: [['b.js', { size: 2 }]] },
    ]);
  });

  it('keeps the file entries a later entry for the same file replaces', () => {
    const doc = fixtureJson('seed-002/legacy-v1-pairs.json');
    expect(unknownFields(doc, 'legacy-v1-pairs.json')).toEqual([
      { path: ['state', 'files_data', 0], value: ['docs/intro.md', { sha: '91ab', size: 1200 }] },
    ]);
    const top = v1({
      state: undefined,
      files_data: [{ path: 'a.js', size: 1 }, ['b.js', {}], { name: 'a.js', size: 2 }],
      created_at: '2023-10-01T08:00:00',
    });
    expect(unknownFields(top)).toEqual([
      { path: ['files_data', 0], value: { path: 'a.js', size: 1 } },
    ]);
  });
});

describe('seed 002: the operation id', () => {
  it('keeps operation_id when options.id names the checkpoint', () => {
    const v2 = fixtureJson('seed-002/minimal-v2.json');
    expect(unknownFields(v2, 'v2.json', 'mine')).toEqual([
      { path: ['operation_id'], value: 'my_operation' },
    ]);
    expect(unknownFields(v2, 'v2.json', 'my_operation')).toBeUndefined();
    const legacy = fixtureJson('seed-002/legacy-v1.json');
    expect(unknownFields(legacy, 'v1.json', 'mine')).toEqual([
      { path: ['operation_id'], value: 'fetch_prebid_master_modules' },
    ]);
  });

  it('keeps a v2.0 last_updated earlier than created_at', () => {
    const v2 = { ...fixtureJson('seed-002/minimal-v2.json'), last_updated: '2024-02-01T11:00:00' };
    expect(unknownFields(v2)).toEqual([{ path: ['last_updated'], value: '2024-02-01T11:00:00' }]);
  });
});

describe('seed 000: every page record and time is kept', () => {
  const migration = () => fixtureJson('seed-000/migration_checkpoint.json');
  type Pages = Record<string, Doc>;

  it('keeps the failed record of a page that is also completed, once', () => {
    const doc = migration();
    const completed = doc['completed_pages'] as Pages;
    // Its unknown `retry_count` is kept with it, not listed again on its own.
    const failed = {
      ...completed['about'],
      error: 'HTTP 500',
      completed_at: '2024-03-10T14:10:00',
      retry_count: 3,
    };
    (doc['failed_pages'] as Pages)['about'] = failed;
    const checkpoint = readWriteRead(doc, '.migration_checkpoint.json');
    expect(checkpoint.units['pages/about']?.status).toBe('complete');
    expect(checkpoint.meta.user['unknownFields']).toEqual([
      { path: ['failed_pages', 'about'], value: failed },
    ]);
  });

  it('keeps a page_id that is not the key it is filed under', () => {
    const doc = migration();
    ((doc['completed_pages'] as Pages)['about'] as Doc)['page_id'] = 'about-us';
    expect(unknownFields(doc, '.migration_checkpoint.json')).toEqual([
      { path: ['completed_pages', 'about', 'page_id'], value: 'about-us' },
    ]);
  });

  it('keeps a last_updated that a later page time overrules', () => {
    const doc = { ...migration(), last_updated: '2024-03-10T14:30:00' };
    const checkpoint = readWriteRead(doc, '.migration_checkpoint.json');
    expect(checkpoint.updatedAt).toBe('2024-03-10T14:37:52.001Z');
    expect(checkpoint.meta.user['unknownFields']).toEqual([
      { path: ['last_updated'], value: '2024-03-10T14:30:00' },
    ]);
  });
});

describe('seed 003: every endpoint count, phase flag and time is kept', () => {
  const name = 'seed-003/target=sample-org/checkpoint.json';
  type Repos = Record<string, { endpoints: Record<string, Doc>; completed_at: string | null }>;

  it('keeps pages_collected when it is not last_page_written', () => {
    const doc = fixtureJson(name);
    const pulls = (doc['repos'] as Repos)['sample-org/web']!.endpoints['pulls']!;
    pulls['pages_collected'] = 5;
    expect(unknownFields(doc, name)).toEqual([
      { path: ['repos', 'sample-org/web', 'endpoints', 'pulls', 'pages_collected'], value: 5 },
    ]);
  });

  it('keeps the complete flags of a phase object that has a status', () => {
    const doc = fixtureJson(name);
    (doc['phases'] as Doc)['issues'] = { status: 'pending', completed: true };
    expect(unknownFields(doc, name)).toEqual([
      { path: ['phases', 'issues', 'completed'], value: true },
    ]);
  });

  it('keeps an updated_at that a later repo time overrules', () => {
    const doc = fixtureJson(name);
    (doc['repos'] as Repos)['sample-org/api']!.completed_at = '2025-01-06T10:00:00+00:00';
    expect(unknownFields(doc, name)).toEqual([
      { path: ['updated_at'], value: '2025-01-06T09:12:44.918004+00:00' },
    ]);
  });
});

describe('canonical checkpoints: a member checkpointkit/1 does not have is refused', () => {
  const acme = () => fixtureJson('canonical/acme-pulls.checkpoint.json');
  const refusal = (doc: Doc) => {
    try {
      readCheckpointDocument(doc, { file: 'acme.json' });
    } catch (error) {
      expect(error).toBeInstanceOf(UnknownMemberError);
      return error as UnknownMemberError;
    }
    throw new Error('read a document with an unknown member');
  };

  it('names the file and the member, at the top level', () => {
    const error = refusal({ ...acme(), retention: { days: 30 } });
    expect(error.file).toBe('acme.json');
    expect(error.path).toEqual(['retention']);
    expect(error.message).toBe(
      'acme.json: retention: not a member of checkpointkit/1 ' +
        '(written by a newer CheckpointKit? this version would drop it)',
    );
  });

  it('names members of a unit, its error and cause, and meta; never their values', () => {
    const doc = acme();
    const units = doc['units'] as Record<string, Doc>;
    units['collect/acme/api/pulls']!['priority'] = 'secret-1';
    const failed = units['collect/acme/web/pulls'] as { error: Doc };
    failed.error['trace'] = 'secret-2';
    failed.error['cause'] = { status: 451, region: 'secret-3' };
    (doc['meta'] as Doc)['owner'] = 'secret-4';
    const error = refusal(doc);
    expect(error.path).toEqual(['units', 'collect/acme/api/pulls', 'priority']);
    expect(error.message).toMatch(
      /^acme\.json: units\["collect\/acme\/api\/pulls"\]\.priority and 3 more: not members of checkpointkit\/1 /,
    );
    expect(error.message).not.toMatch(/secret/);
  });

  it('still reads what the job keeps freely: cursors and meta.user', () => {
    const doc = acme();
    const units = doc['units'] as Record<string, Doc>;
    units['collect/acme/api/pulls']!['cursor'] = { anything: { goes: [1] } };
    ((doc['meta'] as Doc)['user'] as Doc)['newer'] = { member: true };
    expect(() => readCheckpointDocument(doc)).not.toThrow();
  });
});
