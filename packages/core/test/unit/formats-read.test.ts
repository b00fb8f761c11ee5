import { describe, expect, it } from 'vitest';
import {
  CheckpointSchema,
  migrateSeed002V1,
  normaliseTimestamp,
  parseCheckpointJson,
  readCheckpointDocument,
  Seed002V1Schema,
  summarize,
} from '../../src/index.js';
import { allFixtures, fixtureJson, fixtureText } from '../fixtures/formats/load.js';

const read = (name: string, id?: string) =>
  parseCheckpointJson(fixtureText(name), { file: name, ...(id ? { id } : {}) });

describe('seed format recognition', () => {
  it('recognises every fixture by content, whatever the file is called', () => {
    const formats = Object.fromEntries(
      allFixtures().map(({ name, text }) => [name, parseCheckpointJson(text).format]),
    );
    expect(formats).toEqual({
      'canonical/acme-pulls.checkpoint.json': 'checkpointkit/1',
      'canonical/retried.checkpoint.json': 'checkpointkit/1',
      'seed-000/all-pages-done.json': 'seed-000/1.0',
      'seed-000/migration_checkpoint.json': 'seed-000/1.0',
      'seed-000/not-started.json': 'seed-000/1.0',
      'seed-002/.checkpoint_fetch_prebid_Prebid.js_master.json': 'seed-002/2.0',
      'seed-002/legacy-v1-pairs.json': 'seed-002/1.0',
      'seed-002/legacy-v1.json': 'seed-002/1.0',
      'seed-002/minimal-v2.json': 'seed-002/2.0',
      'seed-003/fresh/checkpoint.json': 'seed-003',
      'seed-003/target=sample-org/checkpoint.json': 'seed-003',
    });
    for (const { text } of allFixtures()) {
      const { checkpoint } = parseCheckpointJson(text);
      expect(CheckpointSchema.parse(checkpoint)).toEqual(checkpoint);
    }
  });

  it('reads a parsed document the same as its text', () => {
    const name = 'seed-003/target=sample-org/checkpoint.json';
    expect(readCheckpointDocument(fixtureJson(name), { file: name })).toEqual(read(name));
  });

  it('gives back a canonical checkpoint as it is', () => {
    const { checkpoint } = read('canonical/retried.checkpoint.json');
    expect(checkpoint).toEqual(fixtureJson('canonical/retried.checkpoint.json'));
  });
});

describe('seed 000 (migration checkpoint 1.0)', () => {
  const { checkpoint } = read('seed-000/migration_checkpoint.json');

  it('maps pages to units with their counts, times and errors', () => {
    expect(checkpoint.id).toBe('migration_checkpoint');
    expect(checkpoint.units['pages/blog/2023/self-hosting-synapse']).toEqual({
      status: 'complete',
      attempts: 1,
      cursor: null,
      done: 41,
      total: null,
      startedAt: null,
      completedAt: '2024-03-10T14:19:03.550Z',
      error: null,
    });
    expect(checkpoint.units['pages/about']).toMatchObject({ status: 'complete', done: 0 });
    expect(checkpoint.units['pages/blog/2024/cloudflare-d1']).toEqual({
      status: 'failed',
      attempts: 1,
      cursor: null,
      done: 7,
      total: null,
      startedAt: null,
      completedAt: null,
      error: {
        message: 'wrangler d1 execute failed: 429 Too Many Requests',
        retryable: true,
        at: '2024-03-10T14:37:52.001Z',
      },
    });
    expect(Object.keys(checkpoint.units)).toHaveLength(4);
  });

  it('keeps section ids, statistics, id mappings and times', () => {
    expect(checkpoint.meta.user['sections']).toEqual({
      'blog/2023/hello-matrix': 'hello-matrix-comments',
      'blog/2023/self-hosting-synapse': 'synapse',
      about: 'about-page',
      'blog/2024/cloudflare-d1': 'd1-notes',
    });
    expect(checkpoint.meta.user['migratedFrom']).toBe('seed-000/1.0');
    expect(checkpoint.stats).toEqual({
      extracted: 60,
      imported: 53,
      failedImports: 7,
      totalPages: 9,
    });
    expect(
      checkpoint.idMaps['matrix-event']?.['$WLGTSEFSEF6U0eLuaU_p4Wa-cd_bBZG1ExFDvwLvAAo'],
    ).toBe(102);
    expect(Object.keys(checkpoint.idMaps['matrix-event'] ?? {})).toHaveLength(4);
    expect(checkpoint.createdAt).toBe('2024-03-10T14:02:11.482Z');
    expect(checkpoint.updatedAt).toBe('2024-03-10T14:37:52.007Z');
    expect(checkpoint.status).toBe('running');
    expect(checkpoint.configDigest).toBeNull();
  });

  it('takes the id from options, and the status from the pages against total_pages', () => {
    const done = read('seed-000/all-pages-done.json', 'blog-comments').checkpoint;
    expect(done.id).toBe('blog-comments');
    expect(done.status).toBe('completed');
    expect(done.createdAt).toBe('2024-03-11T08:00:00.000Z');
    expect(summarize(done)).toMatchObject({
      total: 2,
      percent: 100,
      items: { done: 4, total: null },
    });

    const doc = fixtureJson('seed-000/all-pages-done.json') as {
      failed_pages: object;
      completed_pages: Record<string, unknown>;
    };
    doc.failed_pages = { contact: doc.completed_pages['contact'] };
    delete doc.completed_pages['contact'];
    expect(readCheckpointDocument(doc).checkpoint.status).toBe('failed');
  });

  it('reads a checkpoint saved before start_migration, with nothing in it', () => {
    const { checkpoint: fresh } = read('seed-000/not-started.json');
    expect(fresh).toMatchObject({
      id: 'not-started',
      createdAt: '2024-03-09T08:00:00.000Z',
      updatedAt: '2024-03-09T08:00:00.000Z',
      units: {},
      idMaps: {},
      status: 'running',
    });
  });
});

describe('seed 002 (v2.0 and v1.0)', () => {
  it('maps v2.0: operation id, one items unit, state and metadata kept, saves counted', () => {
    const name = 'seed-002/.checkpoint_fetch_prebid_Prebid.js_master.json';
    const { checkpoint } = read(name);
    expect(checkpoint).toMatchObject({
      id: 'fetch_prebid_Prebid.js_master',
      status: 'running',
      createdAt: '2024-01-15T10:30:00.000Z',
      updatedAt: '2024-01-15T10:45:30.000Z',
      configDigest: null,
      idMaps: {},
      stats: {},
    });
    expect(checkpoint.units).toEqual({
      items: {
        status: 'in_progress',
        attempts: 1,
        cursor: null,
        done: 750,
        total: 1000,
        startedAt: '2024-01-15T10:30:00.000Z',
        completedAt: null,
        error: null,
      },
    });
    const doc = fixtureJson(name);
    expect(checkpoint.meta).toEqual({
      saveCount: 3,
      lastSaveReason: 'Rate-limit: 800/5000 (16.0% remaining <= 20.0% threshold)',
      user: { migratedFrom: 'seed-002/2.0', state: doc['state'], metadata: doc['metadata'] },
    });
  });

  it('maps a minimal v2.0 with no progress numbers', () => {
    const { checkpoint } = read('seed-002/minimal-v2.json');
    expect(checkpoint.units['items']).toMatchObject({ done: 0, total: null });
    expect(checkpoint.meta).toMatchObject({ saveCount: 0, lastSaveReason: null });
    expect(checkpoint.createdAt).toBe('2024-02-01T12:00:00.250Z');
  });

  it('records saves counted without a reason as "not recorded"', () => {
    const doc = fixtureJson('seed-002/minimal-v2.json');
    doc['metadata'] = { save_count: 4 };
    expect(readCheckpointDocument(doc).checkpoint.meta).toMatchObject({
      saveCount: 4,
      lastSaveReason: 'not recorded',
    });
  });

  it('migrates v1.0 the way seed 002 describes: file arrays to dictionaries, metadata added', () => {
    const { checkpoint, format } = read('seed-002/legacy-v1.json');
    expect(format).toBe('seed-002/1.0');
    expect(checkpoint.id).toBe('fetch_prebid_master_modules');
    expect(checkpoint.meta.user['migratedFrom']).toBe('seed-002/1.0');
    expect(checkpoint.meta.user['state']).toEqual({
      files_data: {
        'modules/appnexusBidAdapter.js': {
          path: 'modules/appnexusBidAdapter.js',
          sha: '3f2a9c1e',
          size: 48213,
        },
        'modules/rubiconBidAdapter.js': {
          path: 'modules/rubiconBidAdapter.js',
          sha: 'b71e04d2',
          size: 39877,
        },
      },
      processed_files: ['modules/appnexusBidAdapter.js', 'modules/rubiconBidAdapter.js'],
      branch: 'master',
    });
    expect(checkpoint.meta.user['metadata']).toEqual({
      save_count: 0,
      last_save_reason: null,
      processed_items: 2,
      total_items: 412,
    });
    expect(checkpoint.units['items']).toMatchObject({ done: 2, total: 412, status: 'in_progress' });
    expect(checkpoint.updatedAt).toBe('2023-11-02T16:41:07.903Z');
  });

  it('migrates v1.0 [path, data] pairs, a later entry for a file winning', () => {
    const doc = Seed002V1Schema.parse(fixtureJson('seed-002/legacy-v1-pairs.json'));
    expect(migrateSeed002V1(doc)).toEqual({
      version: '2.0',
      operation_id: 'fetch_docs',
      state: {
        files_data: {
          'docs/intro.md': { sha: '91ac', size: 1210 },
          'docs/setup.md': { sha: '77cd', size: 3400 },
        },
      },
      metadata: { save_count: 0, last_save_reason: null },
      created_at: '2023-10-01T08:00:00.000Z',
      last_updated: '2023-10-01T08:05:00.000Z',
    });
  });
});

describe('seed 003 (gh_year_end checkpoint.json)', () => {
  const name = 'seed-003/target=sample-org/checkpoint.json';
  const { checkpoint } = read(name);

  it('maps phases to units, the current phase kept', () => {
    expect(checkpoint.units['phases/discovery']).toMatchObject({
      status: 'complete',
      attempts: 1,
      completedAt: '2025-01-06T09:12:44.918Z',
    });
    expect(checkpoint.units['phases/pulls']).toMatchObject({ status: 'in_progress', attempts: 1 });
    expect(checkpoint.units['phases/issues']).toMatchObject({ status: 'pending', attempts: 0 });
    expect(checkpoint.meta.user['currentPhase']).toBe('pulls');
  });

  it('maps endpoints to units with the resume page as cursor and records as done', () => {
    expect(checkpoint.units['repos/sample-org/web/pulls']).toEqual({
      status: 'in_progress',
      attempts: 1,
      cursor: { page: 4 },
      done: 300,
      total: null,
      startedAt: '2025-01-06T08:20:32.100Z',
      completedAt: null,
      error: null,
    });
    expect(checkpoint.units['repos/sample-org/api/pulls']).toMatchObject({
      status: 'complete',
      cursor: { page: 5 },
      done: 371,
      completedAt: '2025-01-06T08:20:31.554Z',
    });
  });

  it('puts repo errors on the failed endpoints, retryable kept', () => {
    expect(checkpoint.units['repos/sample-org/private-infra/pulls']).toMatchObject({
      status: 'failed',
      cursor: null,
      error: {
        message: '403 Forbidden: Resource not accessible by integration',
        retryable: false,
        at: '2025-01-06T08:40:01.000Z',
      },
    });
    expect(checkpoint.units['repos/sample-org/docs/pulls']).toMatchObject({
      status: 'failed',
      cursor: { page: 3 },
      done: 200,
      error: {
        message: 'API rate limit exceeded for installation ID 4412',
        retryable: true,
        at: '2025-01-06T09:12:44.918Z',
      },
    });
  });

  it('keeps a repo without endpoints as a unit of its own, and every repo record in meta', () => {
    expect(checkpoint.units['repos/sample-org/sdk']).toMatchObject({
      status: 'pending',
      attempts: 0,
      startedAt: null,
    });
    expect(Object.keys(checkpoint.units)).toHaveLength(8);
    expect((checkpoint.meta.user['repos'] as Record<string, unknown>)['sample-org/docs']).toEqual({
      status: 'failed',
      started_at: '2025-01-06T09:00:00.000Z',
      completed_at: null,
      error: { message: 'API rate limit exceeded for installation ID 4412', retryable: true },
    });
  });

  it('keeps the config digest, counts pages and records, takes the id from the folder', () => {
    expect(checkpoint).toMatchObject({
      id: 'gh_year_end:target=sample-org',
      status: 'running',
      configDigest: '4f1c2b8a9d0e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a',
      createdAt: '2025-01-06T08:00:00.412Z',
      updatedAt: '2025-01-06T09:12:44.918Z',
      stats: { pages: 9, records: 871 },
    });
    expect(summarize(checkpoint).counts).toEqual({
      pending: 2,
      in_progress: 2,
      complete: 2,
      failed: 2,
    });
  });

  it('reads a fresh checkpoint and says completed or failed once nothing is left', () => {
    expect(read('seed-003/fresh/checkpoint.json').checkpoint).toMatchObject({
      id: 'gh_year_end:fresh',
      units: {},
      status: 'running',
      createdAt: '2025-01-05T09:00:00.000Z',
    });
    const doc = fixtureJson(name) as {
      phases: Record<string, string>;
      repos: Record<string, unknown>;
      current_phase: string;
    };
    const { 'sample-org/api': api, 'sample-org/docs': docs } = doc.repos;
    doc.phases = { discovery: 'complete' };
    doc.repos = { 'sample-org/api': api };
    // A current phase missing from `phases` counts as in progress.
    expect(readCheckpointDocument(doc).checkpoint.units['phases/pulls']?.status).toBe(
      'in_progress',
    );
    doc.current_phase = 'discovery';
    expect(readCheckpointDocument(doc).checkpoint.status).toBe('completed');
    doc.repos['sample-org/docs'] = docs;
    expect(readCheckpointDocument(doc).checkpoint.status).toBe('failed');
  });
});

describe('seed timestamps', () => {
  it('takes naive times as UTC and normalises every form to ...Z', () => {
    expect(normaliseTimestamp('2024-01-15T10:30:00')).toBe('2024-01-15T10:30:00.000Z');
    expect(normaliseTimestamp('2024-01-15 10:30:00.123456')).toBe('2024-01-15T10:30:00.123Z');
    expect(normaliseTimestamp('2024-01-15T10:30:00+02:00')).toBe('2024-01-15T08:30:00.000Z');
    expect(normaliseTimestamp('2024-01-15T00:30:00-0130')).toBe('2024-01-15T02:00:00.000Z');
    expect(normaliseTimestamp('2024-01-15T10:30Z')).toBe('2024-01-15T10:30:00.000Z');
  });

  it('refuses what is not a date-time, or a date that does not exist', () => {
    for (const bad of [
      '2024-02-30T00:00:00',
      '2024-01-15T24:00:00',
      '2024-01-15',
      'yesterday',
      '2024-01-15T10:30:00+25:00',
      '0000-01-01T00:00:00+01:00',
    ]) {
      expect(normaliseTimestamp(bad), bad).toBeNull();
    }
  });
});
