import { describe, expect, it } from 'vitest';
import {
  CheckpointError,
  CheckpointFormatError,
  parseCheckpointJson,
  readCheckpointDocument,
} from '../../src/index.js';
import { fixtureJson, fixtureText } from '../fixtures/formats/load.js';

/** The CheckpointFormatError that reading `data` throws. */
function formatError(run: () => unknown): CheckpointFormatError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CheckpointFormatError);
    expect(error).toBeInstanceOf(CheckpointError);
    return error as CheckpointFormatError;
  }
  throw new Error('expected a CheckpointFormatError');
}

const readDoc = (data: unknown, file = 'progress.json') =>
  formatError(() => readCheckpointDocument(data, { file })).message;
const readText = (text: string, file = 'progress.json') =>
  formatError(() => parseCheckpointJson(text, { file }));

describe('unrecognised documents', () => {
  it('names the closest format and its first wrong field', () => {
    const doc = fixtureJson('seed-002/minimal-v2.json');
    (doc['metadata'] as Record<string, unknown>)['save_count'] = '3';
    expect(readDoc(doc)).toBe(
      'progress.json: not a checkpoint: looks like seed 002 v2.0 but metadata.save_count: expected number, received string',
    );

    const seed000 = fixtureJson('seed-000/migration_checkpoint.json');
    delete (seed000['statistics'] as Record<string, unknown>)['failed_imports'];
    expect(readDoc(seed000)).toBe(
      'progress.json: not a checkpoint: looks like seed 000 migration checkpoint 1.0 but statistics.failed_imports: missing (expected number)',
    );

    const seed003 = fixtureJson('seed-003/target=sample-org/checkpoint.json');
    const repos = seed003['repos'] as Record<
      string,
      { endpoints: Record<string, Record<string, unknown>> }
    >;
    repos['sample-org/web']!.endpoints['pulls']!['status'] = 'running';
    expect(readDoc(seed003, 'checkpoint.json')).toMatch(
      /^checkpoint\.json: not a checkpoint: looks like seed 003 checkpoint\.json but repos\["sample-org\/web"\]\.endpoints\.pulls\.status: expected one of "pending"\|"in_progress"\|"complete"\|"failed"$/,
    );

    const canonical = fixtureJson('canonical/retried.checkpoint.json');
    (canonical['units'] as Record<string, Record<string, unknown>>)['rooms/a']!['attempts'] = -1;
    expect(readDoc(canonical)).toMatch(
      /looks like CheckpointKit checkpoint \(checkpointkit\/1\) but units\["rooms\/a"\]\.attempts: expected number to be >=0/,
    );
  });

  it('tells seed 000 from seed 002 v1.0, both version 1.0, by their fields', () => {
    const v1 = fixtureJson('seed-002/legacy-v1.json');
    v1['created_at'] = 'last tuesday';
    expect(readDoc(v1)).toBe(
      'progress.json: not a checkpoint: looks like seed 002 v1.0 but created_at: expected an ISO 8601 date-time',
    );
    const files = fixtureJson('seed-002/legacy-v1.json');
    (files['state'] as { files_data: unknown[] }).files_data.push({ size: 3 });
    expect(readDoc(files)).toBe(
      'progress.json: not a checkpoint: looks like seed 002 v1.0 but state.files_data[2]: ' +
        'expected a [path, data] pair or an object with a path/filename/file/name string',
    );
    // The version alone decides nothing: with no field of either format, neither is named.
    expect(readDoc({ version: '1.0' })).toMatch(/none of its fields belongs to a known format/);
  });

  it('names an unknown version or format', () => {
    const doc = fixtureJson('seed-002/.checkpoint_fetch_prebid_Prebid.js_master.json');
    doc['version'] = '3.0';
    expect(readDoc(doc)).toBe('progress.json: unknown version "3.0" (known: "1.0", "2.0")');
    expect(readDoc({ ...doc, version: 2 })).toBe(
      'progress.json: unknown version 2 (known: "1.0", "2.0")',
    );
    const canonical = fixtureJson('canonical/acme-pulls.checkpoint.json');
    expect(readDoc({ ...canonical, format: 'checkpointkit/2' })).toBe(
      'progress.json: unknown format "checkpointkit/2" (known: "checkpointkit/1")',
    );
  });

  it('says when a document is not an object or has no known field', () => {
    expect(readDoc([1, 2])).toBe(
      'progress.json: not a checkpoint: expected a JSON object, found an array',
    );
    expect(readDoc('checkpoint')).toBe(
      'progress.json: not a checkpoint: expected a JSON object, found a string',
    );
    expect(readDoc(null)).toBe(
      'progress.json: not a checkpoint: expected a JSON object, found null',
    );
    expect(readDoc({ name: 'package', dependencies: {} })).toMatch(
      /^progress\.json: not a checkpoint: none of its fields belongs to a known format/,
    );
    expect(formatError(() => readCheckpointDocument({})).message).toMatch(
      /^checkpoint: not a checkpoint/,
    );
  });

  it('says when a seed document would map to no valid checkpoint', () => {
    const doc = fixtureJson('seed-000/not-started.json');
    expect(formatError(() => readCheckpointDocument(doc, { file: 'a.json', id: '' })).message).toBe(
      'a.json: not a checkpoint: a seed 000 migration checkpoint 1.0 that maps to no valid checkpoint: id: expected string to have >=1 characters',
    );
  });

  it('says "empty file" for an empty or blank text', () => {
    for (const text of ['', '   \n\t', '\uFEFF']) {
      const error = readText(text);
      expect(error.message).toBe('progress.json: empty file');
      expect(error.file).toBe('progress.json');
    }
  });

  it('says where text that is not JSON goes wrong, and when it is truncated', () => {
    const text = fixtureText('seed-000/migration_checkpoint.json');
    for (const cut of [1, 40, Math.floor(text.length / 2), text.length - 3]) {
      const error = readText(text.slice(0, cut), '.migration_checkpoint.json');
      expect(error.message).toMatch(
        /^\.migration_checkpoint\.json:\d+: not JSON: ends early \(truncated\?\) at column \d+$/,
      );
      expect(error.line).toBe(text.slice(0, cut).trimEnd().split('\n').length);
    }
    const broken = readText('{\n  "version": "1.0",\n  "started_at": oops\n}');
    expect(broken.message).toBe('progress.json:3: not JSON: unexpected character at column 17');
    expect(readText('{"a": 1,}').message).toMatch(
      /^progress\.json:1: not JSON: expected double-quoted property name at column 9$/,
    );
  });

  it('never puts the values it found into the message', () => {
    const secret = 'ghp_SECRETSECRETSECRETSECRETSECRET';
    const doc = fixtureJson('seed-002/minimal-v2.json');
    (doc['metadata'] as Record<string, unknown>)['save_count'] = secret;
    expect(readDoc(doc)).not.toContain(secret);
    expect(readText(`{"token": ${secret}}`).message).not.toContain(secret);
    expect(readText(secret).message).not.toContain(secret);
  });
});
