/**
 * Credentials passed the way people really pass them: read from a file with its newline, from a
 * .env saved with CRLF, copy-pasted with an accent or an invisible space, an unset variable, or a
 * bearer token with its scheme in front. Each is refused when the source is made, with an
 * `HttpSourceConfigError` naming the field and the cause, never quoting the secret.
 */

import { errorTexts, type PastedToken, pastedTokens, thrownBy } from '@checkpointkit/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type Auth, HttpSourceConfigError, httpSource } from '../../src/index.js';
import { collect } from '../helpers.js';
import { type Scripted, startScripted } from '../servers/scripted.js';

const SECRET = 'tok_SECRETS0CANARY0hygiene0source0http0';
/** The secret as people paste it; the rows each package adds are its own options' cases. */
const PASTED = pastedTokens(SECRET);

const make = (auth: Auth) => () =>
  httpSource({
    baseUrl: 'http://127.0.0.1:9',
    resources: [{ name: 'posts', path: '/posts' }],
    auth,
  });

function expectRefused(auth: Auth, field: string, cause: RegExp): void {
  const error = thrownBy(make(auth));
  expect(error).toBeInstanceOf(HttpSourceConfigError);
  expect(error.name).toBe('HttpSourceConfigError');
  expect((error as HttpSourceConfigError).field).toBe(field);
  expect(error.message).toContain(`option "${field}"`);
  expect(error.message).toMatch(cause);
  for (const text of errorTexts(error)) {
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(SECRET.slice(4, 20));
  }
}

const bearer = (token: string): Auth => ({ type: 'bearer', token });
const header = (value: string): Auth => ({ type: 'header', name: 'x-api-key', value });
const query = (value: string): Auth => ({ type: 'query', name: 'api_key', value });
const basic = (password: string): Auth => ({ type: 'basic', username: 'me', password });

describe('case 1: a credential with surrounding whitespace', () => {
  it.each(PASTED.padded)(
    '%s: refused in a bearer token, a header, a query value',
    (_what, secret, cause) => {
      expectRefused(bearer(secret), 'auth.token', cause);
      expectRefused(header(secret), 'auth.value', cause);
      expectRefused(query(secret), 'auth.value', cause);
    },
  );

  it('a password read with its newline is refused; a space in a password is taken', () => {
    expectRefused(basic(`${SECRET}\n`), 'auth.password', /control character/);
    expectRefused(basic(`${SECRET}\r`), 'auth.password', /control character/);
    expect(make(basic(`correct horse ${SECRET} `))).not.toThrow();
  });
});

describe('case 2: a credential with a character a header cannot carry', () => {
  it.each<PastedToken>([
    ...PASTED.unsendable,
    ['an escape', `${SECRET}\u001b`, /control character/],
  ])('%s: refused in a bearer token and a header value', (_what, secret, cause) => {
    expectRefused(bearer(secret), 'auth.token', cause);
    expectRefused(header(secret), 'auth.value', cause);
  });

  it('a control character is refused in a query value; any other character is percent-encoded', () => {
    expectRefused(query(`${SECRET}\u0000x`), 'auth.value', /control character/);
    expect(make(query(`${SECRET}é`))).not.toThrow();
  });

  it('a space inside: refused in a bearer token, taken in a header value ("Token abc")', () => {
    expectRefused(bearer(`${SECRET} x`), 'auth.token', /must not contain whitespace/);
    expect(make(header(`Token ${SECRET}`))).not.toThrow();
  });
});

describe('case 3: an empty or blank credential (an unset variable)', () => {
  it.each([
    ['empty', '', /must be a non-empty string/],
    ['whitespace only', '   ', /only whitespace/],
    ['a lone newline', '\n', /only whitespace/],
  ])('%s: refused', (_what, secret, cause) => {
    expectRefused(bearer(secret), 'auth.token', cause);
    expectRefused(header(secret), 'auth.value', cause);
    expectRefused(query(secret), 'auth.value', cause);
  });
});

describe('case 4: a bearer token with its scheme in front', () => {
  it.each([
    ['"Bearer "', `Bearer ${SECRET}`, /starts with the scheme "Bearer": pass the token alone/],
    ['"bearer " and a newline', `bearer ${SECRET}\n`, /starts with the scheme "bearer"/],
    ['"token "', `token ${SECRET}`, /starts with the scheme "token"/],
    ['a whole header line pasted', `Authorization: Bearer ${SECRET}`, /starts with the scheme/],
  ])('%s: refused, saying to pass the token alone', (_what, token, cause) => {
    expectRefused(bearer(token), 'auth.token', cause);
  });
});

describe('what is accepted is sent as given', () => {
  let api: Scripted | undefined;
  afterEach(() => api?.close());

  it('a bearer token, and a header value with its own scheme', async () => {
    api = await startScripted((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end('[]');
    });
    const resources = [{ name: 'posts', path: '/posts' }];
    await collect({ baseUrl: api.url, resources, auth: bearer(SECRET) });
    await collect({
      baseUrl: api.url,
      resources,
      auth: { type: 'header', name: 'authorization', value: `Token token=${SECRET}` },
    });
    expect(api.seen.map((s) => s.headers.authorization)).toEqual([
      `Bearer ${SECRET}`,
      `Token token=${SECRET}`,
    ]);
  });
});
