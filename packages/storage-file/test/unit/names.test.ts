import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ODD_IDS } from '@checkpointkit/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkpointFileName,
  checkpointFilesOf,
  checkpointIdFromFileName,
  encodeCheckpointId,
  JOURNAL_SUFFIX,
  journalFileName,
  lockFileName,
  MAX_ENCODED_STEM,
  SNAPSHOT_SUFFIX,
} from '../../src/index.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

const IDS = [
  ...new Set([
    ...ODD_IDS,
    '../x',
    '../../etc/passwd',
    '/',
    '\\',
    '..',
    'a/../../b',
    'C:\\Windows\\system32',
    'con',
    'Con.txt',
    'aux',
    'lpt1',
    '%41',
    '^a',
    '~hash',
    'trailing. ',
    'tab\tnew\nline',
    'Job',
    'job',
    'JOB',
    'e\u0301', // e + combining accent
    '\u00e9', // precomposed é
    '\u{1F680}'.repeat(200),
    'é'.repeat(500),
    'x'.repeat(500),
    'x'.repeat(499),
  ]),
];

describe('checkpoint file names', () => {
  it('gives every id its own name, and gives the id back from it', () => {
    const names = new Set<string>();
    for (const id of IDS) {
      const name = checkpointFileName(id);
      expect(name.endsWith(SNAPSHOT_SUFFIX)).toBe(true);
      expect(names.has(name.toLowerCase())).toBe(false);
      names.add(name.toLowerCase());
      if (!encodeCheckpointId(id).includes('~')) {
        expect(checkpointIdFromFileName(name)).toBe(id);
        expect(checkpointIdFromFileName(journalFileName(id))).toBe(id);
      }
    }
  });

  it('makes names that stay in the directory on every file system', () => {
    for (const id of IDS) {
      for (const name of [checkpointFileName(id), journalFileName(id), lockFileName(id)]) {
        expect(name).toMatch(/^[a-z0-9%^~_.-]+$/); // lower case ASCII: no separators, NUL, case or unicode clashes
        expect(name.startsWith('.')).toBe(false);
        expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_ENCODED_STEM + 50);
        expect(name.split('.')[0]).not.toMatch(/^(con|prn|aux|nul|com\d|lpt\d)$/);
      }
    }
  });

  it('shortens a long id with a hash and keeps long ids apart', () => {
    const long = 'x'.repeat(500);
    const other = `${'x'.repeat(499)}y`;
    expect(encodeCheckpointId(long)).toMatch(/~[0-9a-f]{32}$/);
    expect(encodeCheckpointId(long)).not.toBe(encodeCheckpointId(other));
    // A shortened name is ours (it pairs with its journal) but its id lives in the content.
    expect(checkpointFilesOf(checkpointFileName(long))?.journal).toBe(journalFileName(long));
    expect(checkpointIdFromFileName(checkpointFileName(long))).toBeNull();
  });

  it('recognizes only names of ours', () => {
    for (const name of [
      'notes.json',
      'x.checkpoint.json.123456',
      'x.checkpoint.json.corrupt-2026',
      'X.checkpoint.json', // not canonical: upper case is written ^x
      '%41.checkpoint.json', // not canonical: A is written ^a
      '%ff.checkpoint.json', // not UTF-8
      '.checkpoint.json',
      'a b.checkpoint.json',
      'x~nothex.checkpoint.json',
    ]) {
      expect(checkpointIdFromFileName(name), name).toBeNull();
    }
    expect(checkpointIdFromFileName(`dir/sub/${checkpointFileName('job:1')}`)).toBe('job:1');
    expect(checkpointFilesOf(`job%3a1${JOURNAL_SUFFIX}`)).toEqual({
      snapshot: `job%3a1${SNAPSHOT_SUFFIX}`,
      journal: `job%3a1${JOURNAL_SUFFIX}`,
      lock: 'job%3a1.checkpoint.lock',
      ack: 'job%3a1.checkpoint.ack',
    });
  });

  it('refuses an empty id', () => {
    expect(() => checkpointFileName('')).toThrow(/non-empty/);
  });

  describe('on disk', () => {
    let dir: string;
    afterEach(() => removeDir(dir));

    it('creates every file inside the directory, each under its own name', async () => {
      dir = await tempDir();
      const inner = join(dir, 'inner');
      await mkdir(inner);
      for (const id of IDS) await writeFile(join(inner, checkpointFileName(id)), id);
      expect(await readdir(dir)).toEqual(['inner']);
      expect((await readdir(inner)).length).toBe(IDS.length);
    });
  });
});
