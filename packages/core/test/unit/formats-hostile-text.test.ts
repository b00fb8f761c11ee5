/**
 * Seed files in every state their programs (or the disk under them) can leave: cut at any byte,
 * with a BOM or Windows line ends, garbage or zero bytes after a crash, what Python's json writes
 * that JSON has not (NaN, integers of any size), keys of any kind, nesting, size. Each is read as
 * exactly what it says or refused with a CheckpointFormatError that names the file and the cause.
 */
import { describe, expect, it } from 'vitest';
import {
  CheckpointFormatError,
  checkpointToChanges,
  parseCheckpointJson,
  readCheckpointDocument,
  replay,
} from '../../src/index.js';
import { allFixtures, fixtureText } from '../fixtures/formats/load.js';

/** The error `run` throws, which must be the package's typed one. */
function refusal(run: () => unknown): CheckpointFormatError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CheckpointFormatError);
    return error as CheckpointFormatError;
  }
  throw new Error('expected a CheckpointFormatError, but the text was read');
}

const SEED_000 = 'seed-000/migration_checkpoint.json';
const withIdMapping = (value: string) =>
  fixtureText(SEED_000).replace('"$Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3rInGGAk": 101', value);

describe('damaged text', () => {
  it('refuses every fixture cut at every byte, with a BOM and CRLF too', () => {
    const encoder = new TextEncoder();
    // ignoreBOM keeps the BOM in the text, as a reader of the file's bytes may.
    const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    for (const { name, text } of allFixtures()) {
      for (const variant of [text, `\uFEFF${text.replace(/\n/g, '\r\n')}`]) {
        const bytes = encoder.encode(variant);
        const whole = parseCheckpointJson(decoder.decode(bytes), { file: name });
        expect(whole).toEqual(parseCheckpointJson(text, { file: name }));
        const end = decoder.decode(bytes).trimEnd().length;
        for (let cut = 0; cut < bytes.length; cut++) {
          const part = decoder.decode(bytes.subarray(0, cut));
          if (part.length >= end) continue; // only whitespace is missing: the whole document
          const error = refusal(() => parseCheckpointJson(part, { file: name }));
          expect(error.message, `${name} cut at byte ${cut}`).toMatch(
            new RegExp(
              `^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(:\\d+)?: (empty file|not JSON: ends early \\(truncated\\?\\))`,
            ),
          );
        }
      }
    }
  });

  it('names garbage after the document with its line', () => {
    const text = `${fixtureText(SEED_000)}\n{"version": "1.0"}`;
    const error = refusal(() => parseCheckpointJson(text, { file: 'c.json' }));
    expect(error.line).toBe(text.split('\n').length);
    expect(error.message).toMatch(/^c\.json:\d+: not JSON: unexpected character at column 1$/);
  });

  it('says a file of zero bytes (a write that never reached the disk) is one', () => {
    for (const text of ['\0'.repeat(512), `\0\0\n\0`]) {
      const error = refusal(() => parseCheckpointJson(text, { file: 'zero.json' }));
      expect(error.message).toBe('zero.json: empty file (only zero bytes: it was never written)');
    }
  });
});

describe('what Python writes that JSON does not have', () => {
  it('names NaN and Infinity, which json.dump writes for float("nan") and float("inf")', () => {
    const v2 = fixtureText('seed-002/.checkpoint_fetch_prebid_Prebid.js_master.json');
    for (const token of ['NaN', 'Infinity', '-Infinity']) {
      const text = v2.replace('"rate_limit_remaining": 800', `"rate_limit_remaining": ${token}`);
      const error = refusal(() => parseCheckpointJson(text, { file: 'v2.json' }));
      expect(error.message).toBe(
        `v2.json:19: not JSON: ${token} at column 33 (Python writes it for a float JSON cannot hold)`,
      );
    }
  });

  it('reads a Python int exactly or refuses it, naming the field', () => {
    const exact = parseCheckpointJson(withIdMapping('"$big": 9007199254740992'), { file: 'c' });
    expect(exact.checkpoint.idMaps['matrix-event']?.['$big']).toBe(2 ** 53);
    for (const digits of [
      '9007199254740993',
      '123456789012345678901234567890',
      '-9007199254740995',
    ]) {
      const error = refusal(() =>
        parseCheckpointJson(withIdMapping(`"$big": ${digits}`), { file: 'c.json' }),
      );
      expect(error.message).toBe(
        'c.json:44: id_mapping.$big: an integer with more digits than a JavaScript number holds exactly',
      );
      expect(error.message).not.toContain(digits);
    }
  });

  it('refuses a number out of range (1e400, which Python reads as inf), naming the field', () => {
    const error = refusal(() => parseCheckpointJson(withIdMapping('"$x": -1e400'), { file: 'c' }));
    expect(error.message).toBe('c:44: id_mapping.$x: a number out of range (beyond ±1.8e308)');
    // Below the smallest double, Python and JavaScript both read 0.
    const tiny = parseCheckpointJson(withIdMapping('"$x": 1e-400'), { file: 'c' });
    expect(tiny.checkpoint.idMaps['matrix-event']?.['$x']).toBe(0);
  });

  it('reads -0 counts as 0, and a duplicate key as its last value, as json.load does', () => {
    const text = fixtureText(SEED_000)
      .replace('"total_pages": 9', '"total_pages": -0')
      .replace('"failed_imports": 7', '"failed_imports": 1, "failed_imports": 7');
    const { checkpoint } = parseCheckpointJson(text, { file: 'c' });
    expect(Object.is(checkpoint.stats['totalPages'], 0)).toBe(true);
    expect(checkpoint.stats['failedImports']).toBe(7);
  });
});

describe('keys and strings of any kind', () => {
  it('keeps unicode and lone surrogates exactly, escaped or not, through a write', () => {
    const ids = ['\u00e9t\u00e9/\u6587\u7ae0', 'emoji/\ud83d\ude80', 'lone/\ud800', 'lone/\udfff'];
    const pages = Object.fromEntries(
      ids.map((id) => [
        id,
        {
          page_id: id,
          section_id: `s-${id}`,
          comment_count: 1,
          completed_at: '2024-01-01T00:00:00',
        },
      ]),
    );
    const doc = { ...JSON.parse(fixtureText(SEED_000)), completed_pages: pages, failed_pages: {} };
    // ensure_ascii (the default) escapes every non-ASCII character; without it they are raw.
    const escaped = JSON.stringify(doc).replace(
      /[^\x20-\x7e]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
    for (const text of [escaped, JSON.stringify(doc)]) {
      const { checkpoint } = parseCheckpointJson(text, { file: 'u.json' });
      expect(Object.keys(checkpoint.units)).toEqual(ids.map((id) => `pages/${id}`));
      expect(checkpoint.meta.user['sections']).toEqual(
        Object.fromEntries(ids.map((id) => [id, `s-${id}`])),
      );
      expect(replay(null, checkpointToChanges(checkpoint))).toEqual(checkpoint);
    }
  });

  it('reads and writes pages, phases and repositories named after Object.prototype', () => {
    const names = ['constructor', 'toString', 'hasOwnProperty', '__proto__'];
    const s3 = JSON.parse(fixtureText('seed-003/fresh/checkpoint.json'));
    const phases = {};
    for (const name of names) {
      Object.defineProperty(phases, name, { value: 'complete', enumerable: true });
    }
    const text = JSON.stringify({ ...s3, phases });
    const { checkpoint } = parseCheckpointJson(text, { file: 'c' });
    expect(Object.keys(checkpoint.units)).toEqual(names.map((name) => `phases/${name}`));
    expect(replay(null, checkpointToChanges(checkpoint))).toEqual(checkpoint);
  });
});

describe('shape and size', () => {
  const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

  it('refuses nesting deeper than Python can write, naming where, from text or parsed', () => {
    const v2 = fixtureText('seed-002/minimal-v2.json');
    expect(
      parseCheckpointJson(v2.replace('"state": {}', `"state": {"a": ${nested(900)}}`)).format,
    ).toBe('seed-002/2.0');
    for (const depth of [1001, 5000, 200_000]) {
      const text = v2.replace('"state": {}', `"state": {"a": ${nested(depth)}}`);
      const fromText = refusal(() => parseCheckpointJson(text, { file: 'deep.json' }));
      expect(fromText.message).toBe(
        'deep.json: state.a[0][0]...: nested more than 1000 levels deep',
      );
      const fromDoc = refusal(() =>
        readCheckpointDocument(JSON.parse(text), { file: 'deep.json' }),
      );
      expect(fromDoc.message).toBe(fromText.message);
    }
  });

  it('reads and writes a seed 000 file of 20 000 pages, every page kept', () => {
    const doc = JSON.parse(fixtureText(SEED_000));
    const completed: Record<string, unknown> = {};
    for (let i = 0; i < 20_000; i++) {
      completed[`page/${i}`] = {
        page_id: `page/${i}`,
        section_id: `s${i}`,
        comment_count: i % 50,
        completed_at: '2024-03-10T14:05:40.118202',
        error: null,
      };
    }
    doc.completed_pages = completed;
    doc.statistics.total_pages = 20_000;
    doc.failed_pages = {};
    const { checkpoint } = parseCheckpointJson(JSON.stringify(doc, null, 4), { file: 'big.json' });
    expect(Object.keys(checkpoint.units)).toHaveLength(20_000);
    expect(checkpoint.status).toBe('completed');
    expect(replay(null, checkpointToChanges(checkpoint))).toEqual(checkpoint);
  });
});

describe('times as Python writes them', () => {
  it('applies offsets with seconds (pytz LMT zones) and any other offset', () => {
    const at = (time: string) => {
      const text = fixtureText(SEED_000).replace('"2024-03-10T14:05:40.118202"', `"${time}"`);
      const page = parseCheckpointJson(text, { file: 'c' }).checkpoint.units[
        'pages/blog/2023/hello-matrix'
      ];
      return page?.completedAt;
    };
    expect(at('2024-03-10T14:05:40.118202+05:53:28')).toBe('2024-03-10T08:12:12.118Z');
    expect(at('2024-03-10T14:05:40-00:00:30.5')).toBe('2024-03-10T14:06:10.500Z');
    expect(at('2024-03-10T14:05:40.5+14:00')).toBe('2024-03-10T00:05:40.500Z');
    expect(at('2024-03-10T04:05:40.5-11:30')).toBe('2024-03-10T15:35:40.500Z');
  });
});
