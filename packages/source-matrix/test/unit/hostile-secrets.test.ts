import { errorTexts, type PastedToken, pastedTokens, thrownBy } from '@checkpointkit/core/testing';
import { describe, expect, it } from 'vitest';
import { MatrixConfigError, matrixSource } from '../../src/index.js';

/**
 * Access tokens passed the way people really pass them: read from a file with its newline, from a
 * .env saved with CRLF, copy-pasted with an accent or an invisible space, an unset variable, or
 * with the scheme in front. Each is refused when the source is made, with a `MatrixConfigError`
 * naming `accessToken` and the cause, never quoting the token.
 */

const SECRET = 'syt_c2VjcmV0cw_SeCrEtHyGiEnE4242_0a1b2c';
/** The secret as people paste it; the rows each package adds are its own options' cases. */
const PASTED = pastedTokens(SECRET);

function make(accessToken: string) {
  return matrixSource({ homeserverUrl: 'http://127.0.0.1:1', accessToken, rooms: ['#a:b'] });
}

function expectRefused(accessToken: string, cause: RegExp): void {
  const error = thrownBy(() => make(accessToken));
  expect(error).toBeInstanceOf(MatrixConfigError);
  expect(error.name).toBe('MatrixConfigError');
  expect(error.message).toContain('option "accessToken"');
  expect(error.message).toMatch(cause);
  for (const text of errorTexts(error)) {
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(SECRET.slice(4, 20));
  }
}

describe('case 1: a token with surrounding whitespace', () => {
  it.each(PASTED.padded)('%s: refused, naming the cause', (_what, token, cause) => {
    expectRefused(token, cause);
  });
});

describe('case 2: a token with a character a header cannot carry', () => {
  it.each<PastedToken>([
    ...PASTED.unsendable,
    ['an escape', `${SECRET}\u001b`, /control character/],
    ['a space inside', `${SECRET.slice(0, 10)} ${SECRET.slice(10)}`, /must not contain whitespace/],
  ])('%s: refused, naming the cause', (_what, token, cause) => {
    expectRefused(token, cause);
  });
});

describe('case 3: an empty or blank token (an unset variable)', () => {
  it.each([
    ['empty', '', /must be a non-empty string/],
    ['whitespace only', '   ', /must be a non-empty string/],
    ['a lone newline', '\n', /must be a non-empty string/],
  ])('%s: refused', (_what, token, cause) => {
    expectRefused(token, cause);
  });
});

describe('case 4: a token with its scheme in front', () => {
  it.each([
    ['"Bearer "', `Bearer ${SECRET}`, /starts with the scheme "Bearer": pass the token alone/],
    ['"bearer " and a newline', `bearer ${SECRET}\n`, /starts with the scheme "bearer"/],
    ['a whole header line pasted', `Authorization: Bearer ${SECRET}`, /starts with the scheme/],
  ])('%s: refused, saying to pass the token alone', (_what, token, cause) => {
    expectRefused(token, cause);
  });
});

it('tokens as homeservers issue them are accepted', () => {
  for (const token of [
    SECRET,
    'MDAxOGxvY2F0aW9uIGxvY2FsaG9zdAowMDEzaWRlbnRpZmllciBrZXkKMDAxMGNpZCBnZW4gPSAxCjAwMmZzaWduYXR1cmUg/+=',
    'mat_abcDEF0123456789_xyz', // MAS
    'QGV4YW1wbGU6bG9jYWxob3N0.AbC-dEf_123', // appservice-ish
  ]) {
    expect(() => make(token)).not.toThrow();
  }
});
