import { describe, expect, it } from 'vitest';
import {
  createGithubClient,
  GithubSourceConfigError,
  githubSource,
  parseUnitKey,
} from '../../src/index.js';

/** Options nobody meant: refused at creation, naming the option, instead of failing every request. */

const base = { auth: 'x', repos: ['acme/api'], endpoints: ['pulls' as const] };

describe('hostile options', () => {
  it.each([
    // `.` and `..` are path steps: /repos/acme/.. is /repos/ to the URL parser.
    [{ ...base, repos: ['acme/..'] }, 'repos'],
    [{ ...base, repos: ['../api'] }, 'repos'],
    [{ ...base, repos: ['./.'] }, 'repos'],
    [{ ...base, repos: ['acme/api?x=1'] }, 'repos'],
    [{ ...base, repos: ['acme/api#x'] }, 'repos'],
    [{ ...base, repos: ['acme/a/b'] }, 'repos'],
    [{ ...base, repos: undefined, org: '..' }, 'org'],
    [{ ...base, repos: undefined, org: '.' }, 'org'],
    [{ ...base, endpoints: undefined }, 'endpoints'],
    [{ ...base, endpoints: 'pulls' }, 'endpoints'],
    [{ ...base, perPage: 0 }, 'perPage'],
    [{ ...base, perPage: -1 }, 'perPage'],
    [{ ...base, perPage: 1.5 }, 'perPage'],
    [{ ...base, perPage: 1000 }, 'perPage'],
    [{ ...base, perPage: Number.NaN }, 'perPage'],
    // Node fires a timer past 2^31-1 ms after 1 ms: every attempt was aborted at once.
    [{ ...base, timeout: 2 ** 31 }, 'timeout'],
    [{ ...base, timeout: Number.POSITIVE_INFINITY }, 'timeout'],
    [{ ...base, timeout: 0 }, 'timeout'],
    [{ ...base, timeout: -1 }, 'timeout'],
    [{ ...base, timeout: 1.5 }, 'timeout'],
    [{ ...base, maxResetWait: -1 }, 'maxResetWait'],
    [{ ...base, maxResetWait: Number.NaN }, 'maxResetWait'],
    [{ ...base, maxResetWait: Number.POSITIVE_INFINITY }, 'maxResetWait'],
    [{ ...base, maxResetWait: 30 * 86400 }, 'maxResetWait'],
    [{ ...base, retries: Number.POSITIVE_INFINITY }, 'retries'],
    [{ ...base, retries: -1 }, 'retries'],
    [{ ...base, secondaryRetries: 1.5 }, 'secondaryRetries'],
    [{ ...base, retryAfterBaseMs: -1 }, 'retryAfterBaseMs'],
    [{ ...base, retryAfterBaseMs: Number.NaN }, 'retryAfterBaseMs'],
  ])('refuses %j, naming "%s"', (options, field) => {
    expect(() => githubSource(options as never)).toThrow(GithubSourceConfigError);
    expect(() => githubSource(options as never)).toThrow(`option "${field}"`);
  });

  it('createGithubClient checks the same numbers', () => {
    expect(() => createGithubClient({ auth: 'x', timeout: 2 ** 31 })).toThrow('option "timeout"');
    expect(createGithubClient({ auth: 'x', maxResetWait: 86400 * 24 })).toBeDefined();
  });

  it('takes no unit key with a path step for a name (a discovered "acme/.." is not planned)', () => {
    expect(parseUnitKey('repos/acme/../issues')).toBeNull();
    expect(parseUnitKey('discover/..')).toBeNull();
    expect(parseUnitKey('discover/acme/.')).toBeNull();
    expect(parseUnitKey('repos/acme/.github/issues')).toMatchObject({ repo: 'acme/.github' });
  });
});
