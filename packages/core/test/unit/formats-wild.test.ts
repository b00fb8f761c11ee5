import { describe, expect, it } from 'vitest';
import {
  CheckpointFormatError,
  checkpointToChanges,
  parseCheckpointJson,
  readCheckpointDocument,
  replay,
  summarize,
} from '../../src/index.js';
import { type Expected, GENERATORS, prng, type WildFile } from '../../src/testing/seed-files.js';

/** Files per format: enough to meet every combination of the generators' variants. */
const FILES = 300;

function check(file: WildFile, summary: ReturnType<typeof summarize>, expected: Expected) {
  expect({
    total: summary.total,
    complete: summary.counts.complete,
    failed: summary.counts.failed,
    items: summary.items,
    basis: summary.basis,
  }).toEqual({
    total: expected.total,
    complete: expected.complete,
    failed: expected.failed,
    items: expected.items,
    basis: expected.basis,
  });
  for (const [name, value] of Object.entries(expected.stats ?? {})) {
    expect(summary.stats[name], `${file.name}: stats.${name}`).toBe(value);
  }
  const percent =
    expected.basis === 'items'
      ? Math.min(100, (expected.items.done / expected.items.total!) * 100)
      : expected.total === 0
        ? summary.status === 'completed'
          ? 100
          : 0 // nothing planned yet: see measureProgress
        : (expected.complete / expected.total) * 100;
  expect(Math.abs(summary.percent - percent)).toBeLessThan(0.1 + 1e-9);
}

describe.each(Object.entries(GENERATORS))('%s files as found in the wild', (format, generate) => {
  it(`reads ${FILES} generated files with the counts their writer knows`, () => {
    const rng = prng(format.length * 7919 + 14);
    for (let i = 0; i < FILES; i++) {
      const file = generate(rng);
      const text = JSON.stringify(file.doc, null, i % 2 === 0 ? 4 : undefined);
      let read: ReturnType<typeof readCheckpointDocument>;
      try {
        read = readCheckpointDocument(JSON.parse(text), { file: file.name });
      } catch (error) {
        throw new Error(`file ${i} (${file.name}) refused: ${(error as Error).message}\n${text}`);
      }
      expect(read.format, text).toBe(file.expected.format);
      check(file, summarize(read.checkpoint), file.expected);
      // What migrate writes: the checkpoint as changes, replayed, keeps every count.
      const migrated = replay(null, checkpointToChanges(read.checkpoint))!;
      expect(summarize(migrated)).toEqual(summarize(read.checkpoint));
      expect(parseCheckpointJson(JSON.stringify(migrated)).checkpoint).toEqual(migrated);
    }
  });
});

describe('the shapes of the issue', () => {
  it('reads a seed 003 file with phases as objects and a version "1.0"', () => {
    const { checkpoint, format } = readCheckpointDocument(
      {
        version: '1.0',
        created_at: '2025-01-02T03:04:05',
        updated_at: '2025-01-02T04:04:05+00:00',
        config_digest: 'abc',
        current_phase: 'pulls',
        phases: { discovery: { status: 'complete' }, pulls: { status: 'in_progress' } },
        repos: {},
      },
      { file: 'checkpoint.json' },
    );
    expect(format).toBe('seed-003');
    expect(summarize(checkpoint).counts).toEqual({
      pending: 0,
      in_progress: 1,
      complete: 1,
      failed: 0,
    });
  });

  it('reads a seed 002 v1.0 file with top-level files_data and a timestamp', () => {
    const { checkpoint, format } = readCheckpointDocument(
      {
        version: '1.0',
        operation_id: 'old_run',
        files_data: [['a.js', { size: 1 }], { path: 'b.js' }],
        timestamp: '2024-01-15T10:30:00',
      },
      { file: '.checkpoint_old_run.json' },
    );
    expect(format).toBe('seed-002/1.0');
    expect(checkpoint.id).toBe('old_run');
    const user = checkpoint.meta.user as { state: { files_data: Record<string, unknown> } };
    expect(Object.keys(user.state.files_data)).toEqual(['a.js', 'b.js']);
  });

  it('measures seed 000 against total_pages: 117 complete, 3 failed of 150 is 78%', () => {
    const page = (id: string, error: string | null) => ({
      page_id: id,
      section_id: 's',
      comment_count: 1,
      completed_at: '2024-01-15T10:30:00',
      error,
    });
    const doc = {
      version: '1.0',
      started_at: '2024-01-15T10:00:00',
      last_updated: '2024-01-15T11:00:00',
      completed_pages: Object.fromEntries(
        Array.from({ length: 117 }, (_, i) => [`p${i}`, page(`p${i}`, null)]),
      ),
      failed_pages: Object.fromEntries(
        Array.from({ length: 3 }, (_, i) => [`f${i}`, page(`f${i}`, 'HTTP 500')]),
      ),
      statistics: {
        total_pages: 150,
        total_comments_extracted: 117,
        total_comments_imported: 117,
        failed_imports: 0,
      },
      id_mapping: {},
    };
    const summary = summarize(readCheckpointDocument(doc).checkpoint);
    expect([
      summary.total,
      summary.counts.complete,
      summary.counts.pending,
      summary.percent,
    ]).toEqual([150, 117, 30, 78]);
  });

  it('names the fields that did not fit when a file is close to a format', () => {
    const read = () =>
      readCheckpointDocument(
        { version: '1.0', operation_id: 'x', files_data: [['a', 1]] },
        { file: '.checkpoint_x.json' },
      );
    expect(read).toThrow(CheckpointFormatError);
    expect(read).toThrow(
      /seed 002 v1\.0 but created_at: missing \(expected created_at, last_updated or timestamp\)/,
    );
    expect(() =>
      readCheckpointDocument({
        created_at: '2025-01-02T03:04:05',
        updated_at: '2025-01-02T03:04:05',
        config_digest: null,
        phases: { discovery: 7 },
        repos: {},
      }),
    ).toThrow(/seed 003 checkpoint\.json but phases/);
  });
});
