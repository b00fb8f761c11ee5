import { describe, expect, it } from 'vitest';
import { CheckpointFileError, parseCheckpointFiles } from '../../src/index.js';

describe('files that are not JSON', () => {
  it('are reported by kind and position, never with the text the JSON parser quotes', () => {
    const journal = Buffer.from('}secret-token-1234\u001b[31m\u0007 and more text\n');
    let error: unknown;
    try {
      parseCheckpointFiles({ snapshot: null, journal, file: 'x.checkpoint.json' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(CheckpointFileError);
    const message = (error as Error).message;
    expect(message).toBe(
      'x.checkpoint.jsonl:1: the journal header is not JSON (unexpected character)',
    );
    expect(message).not.toContain('secret');
    expect(message).toMatch(/^[\x20-\x7e]+$/);
  });
});
