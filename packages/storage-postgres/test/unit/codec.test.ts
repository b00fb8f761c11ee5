import { describe, expect, it } from 'vitest';
import { decodeJson, decodeText, encodeJson, encodeText } from '../../src/codec.js';
import { quoteIdentifier, SchemaNameError, validateSchemaName } from '../../src/index.js';
import { isConnectionError, isDuplicateFlush, isTransient } from '../../src/retry.js';

describe('text and JSON codec', () => {
  it('keeps ordinary strings as they are', () => {
    for (const value of [
      '',
      'plain',
      "quote'; drop table x; --",
      'ünïcødé 🚀',
      '{"json":1}',
      'back\\slash',
    ]) {
      expect(encodeText(value)).toBe(value);
      expect(decodeText(value)).toBe(value);
    }
  });

  it('encodes what PostgreSQL text cannot hold, reversibly and without NUL', () => {
    for (const value of [
      'nul\u0000byte',
      '\u0000',
      'lone \uD800',
      'lone \uDC00 low',
      '\uE000marker',
      '\uE000',
    ]) {
      const stored = encodeText(value);
      expect(stored).not.toContain('\u0000');
      expect(stored).not.toMatch(/[\uD800-\uDFFF]/);
      expect(decodeText(stored)).toBe(value);
    }
    // A pair of surrogates is one character: kept as it is.
    expect(encodeText('🚀')).toBe('🚀');
  });

  it('encodes every string and key inside JSON, including __proto__', () => {
    const value = JSON.parse('{"__proto__":{"a\\u0000":["x\\u0000",1,null,true]},"n":-0.5}');
    const stored = encodeJson(value)!;
    // No string in the stored JSON holds a NUL (jsonb would refuse the \u0000 escape).
    const strings: string[] = [];
    JSON.parse(stored, (key, inner) => {
      strings.push(key);
      if (typeof inner === 'string') strings.push(inner);
      return inner;
    });
    expect(strings.some((text) => text.includes('\u0000'))).toBe(false);
    const back = decodeJson<Record<string, unknown>>(JSON.parse(stored));
    expect(back).toEqual(value);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.keys(back)).toContain('__proto__');
    expect(encodeJson(null)).toBeNull();
    expect(encodeJson(undefined)).toBeNull();
  });
});

describe('schema names', () => {
  it('accepts identifiers in any script and refuses everything else', () => {
    for (const name of ['checkpointkit', '_private', 'crawler2', 'données', 'スキーマ']) {
      expect(validateSchemaName(name)).toBe(name);
    }
    for (const name of [
      '',
      'a b',
      'a"b',
      'a;b',
      '1a',
      'pg_x',
      'PG_X',
      'a-b',
      'a'.repeat(64),
      'ü'.repeat(32),
      7,
    ]) {
      expect(() => validateSchemaName(name)).toThrow(SchemaNameError);
    }
  });

  it('quotes identifiers, doubling inner quotes', () => {
    expect(quoteIdentifier('a"b')).toBe('"a""b"');
    expect(() => quoteIdentifier('a\u0000')).toThrow(SchemaNameError);
  });
});

describe('retry classification', () => {
  it('retries broken connections, deadlocks and serialization failures, nothing else', () => {
    expect(isTransient({ code: '57P01' })).toBe(true);
    expect(isTransient({ code: '40P01' })).toBe(true);
    expect(isTransient({ code: '40001' })).toBe(true);
    expect(isTransient({ code: 'ECONNRESET' })).toBe(true);
    expect(isTransient(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isTransient({ code: '23505' })).toBe(false);
    expect(isTransient({ code: '42P01' })).toBe(false);
    expect(isConnectionError({ code: '40P01' })).toBe(false);
    expect(isDuplicateFlush({ code: '23505', constraint: 'flushes_pkey' })).toBe(true);
    expect(isDuplicateFlush({ code: '23505', constraint: 'units_pkey' })).toBe(false);
  });
});
