/**
 * A job's config is kept as a digest, and a resumed run compares it to spot a changed config.
 * Two configs that differ must never share a digest: a Set or Map of repositories serialized as
 * `{}` whatever it held, and NaN as `null`, so a changed config resumed the old job silently.
 * What cannot be told apart is refused, naming the field; equal configs still agree however
 * their keys are ordered, and functions (callbacks kept in a config) are left out as before.
 */
import { describe, expect, it } from 'vitest';
import { configDigest, memoryStore, OptionsError, openRun } from '../../src/index.js';

describe('configDigest', () => {
  it('gives equal configs one digest, whatever the order of their keys', async () => {
    expect(await configDigest({ a: 1, b: { c: [1, 2], d: 'x' } })).toBe(
      await configDigest({ b: { d: 'x', c: [1, 2] }, a: 1 }),
    );
    // A Date is its ISO string; a function is no part of a config's identity.
    expect(await configDigest({ since: new Date(0), onPage: () => {} })).toBe(
      await configDigest({ since: '1970-01-01T00:00:00.000Z' }),
    );
  });

  const refused: [string, unknown, RegExp][] = [
    ['a Set', { repos: new Set(['acme/api']) }, /"config\.repos" is a Set/],
    ['a Map', { limits: new Map([['acme', 5]]) }, /"config\.limits" is a Map/],
    ['NaN', { rate: Number.NaN }, /"config\.rate" is NaN/],
    ['Infinity deep down', { retry: { max: [Infinity] } }, /"config\.retry\.max\[0\]" is Infinity/],
    ['a bigint', { since: 10n }, /"config\.since" is a bigint/],
  ];
  for (const [name, config, said] of refused) {
    it(`refuses ${name}, naming the field`, async () => {
      const error = await configDigest(config).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OptionsError);
      expect(String(error)).toMatch(said);
    });
  }

  it('openRun refuses such a config before it touches the store', async () => {
    const store = memoryStore();
    const error = await openRun({
      id: 'job',
      store,
      config: { repos: new Set(['acme/api']) },
      signals: false,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OptionsError);
    expect(String(error)).toContain('openRun: option "config.repos" is a Set');
    expect(await store.load('job')).toBeNull();
  });
});
