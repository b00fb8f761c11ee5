import { errorTexts, type PastedToken, pastedTokens, thrownBy } from '@checkpointkit/core/testing';
import { describe, expect, it } from 'vitest';
import { createGithubClient, GithubSourceConfigError, githubSource } from '../../src/index.js';
import { hostileServers, issue, REPOSITORY, reply } from '../hostile.js';

/**
 * Tokens passed the way people really pass them: read from a file with its newline, from a .env
 * saved with CRLF, copy-pasted with an accent or an invisible space, an unset variable, or with
 * the scheme in front. Each is refused when the source is made, naming `auth` and the cause,
 * never quoting the token; octokit's own `token `/`bearer ` prefix is taken as octokit takes it.
 */

const SECRET = 'ghp_SECRETS0CANARY0hygiene0source0github0';
/** The secret as people paste it; the rows each package adds are its own options' cases. */
const PASTED = pastedTokens(SECRET);
const start = hostileServers();

/** The refusal as a user gets it: typed, naming `auth`, the cause in words, the token nowhere. */
function expectRefused(auth: string, cause: RegExp): void {
  const options = { auth, repos: ['acme/api'], endpoints: ['issues' as const] };
  for (const make of [() => githubSource(options), () => createGithubClient({ auth })]) {
    const error = thrownBy(make);
    expect(error).toBeInstanceOf(GithubSourceConfigError);
    expect(error.name).toBe('GithubSourceConfigError');
    expect(error.message).toContain('option "auth"');
    expect(error.message).toMatch(cause);
    // The secret, and what is left of it once trimmed, in no text of the error.
    for (const text of errorTexts(error)) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(SECRET.slice(4, 20));
    }
  }
}

describe('case 1: a token with surrounding whitespace', () => {
  it.each<PastedToken>([
    ...PASTED.padded,
    ['a leading newline', `\n${SECRET}`, /starts with a line break/],
    ["octokit's prefix, then a newline", `token ${SECRET}\n`, /ends with a line break/],
  ])('%s: refused, naming the cause', (_what, auth, cause) => {
    expectRefused(auth, cause);
  });
});

describe('case 2: a token with a character a header cannot carry', () => {
  it.each<PastedToken>([
    ...PASTED.unsendable,
    ['a tab inside', `${SECRET.slice(0, 10)}\t${SECRET.slice(10)}`, /control character/],
    ['a space inside', `${SECRET.slice(0, 10)} ${SECRET.slice(10)}`, /must not contain whitespace/],
  ])('%s: refused, naming the cause', (_what, auth, cause) => {
    expectRefused(auth, cause);
  });
});

describe('case 3: an empty or blank token (an unset variable)', () => {
  it.each([
    ['whitespace only', '   ', /only whitespace/],
    ['a lone newline', '\n', /only whitespace/],
    ["octokit's prefix alone", 'token ', /only the "token " prefix/],
    ['"Bearer" and spaces', 'Bearer   ', /only the "Bearer " prefix/],
  ])('%s: refused', (_what, auth, cause) => {
    expectRefused(auth, cause);
  });

  it('undefined (`auth: process.env.GITHUB_TOKEN!`, the variable unset): refused, saying so', () => {
    const auth = process.env['CHECKPOINTKIT_TEST_UNSET_TOKEN'] as string;
    for (const make of [
      () => githubSource({ auth, repos: ['acme/api'], endpoints: ['issues'] }),
      () => createGithubClient({ auth }),
    ]) {
      const error = thrownBy(make);
      expect(error).toBeInstanceOf(GithubSourceConfigError);
      // It said: option "auth" or "octokit": give exactly one of them; the user had given auth.
      expect(error.message).toContain(
        'option "auth" must be a non-empty token string (got undefined; an unset environment variable?)',
      );
    }
    // Neither given at all: the message still names both.
    expect(() => githubSource({ repos: ['acme/api'], endpoints: ['issues'] })).toThrow(
      'option "auth" or "octokit": give exactly one of them',
    );
  });

  it('an empty string: refused (already)', () => {
    expect(() => githubSource({ auth: '', repos: ['acme/api'], endpoints: ['issues'] })).toThrow(
      GithubSourceConfigError,
    );
  });
});

describe('case 4: a token with its scheme in front', () => {
  it.each([
    ['a scheme twice', `Bearer Bearer ${SECRET}`, /starts with the scheme "Bearer"/],
    ['"token" then "bearer"', `token bearer ${SECRET}`, /starts with the scheme "bearer"/],
    ['a whole header line pasted', `Authorization: Bearer ${SECRET}`, /starts with the scheme/],
    ['"Basic"', `Basic ${SECRET}`, /starts with the scheme "Basic"/],
  ])('%s: refused, saying to pass the token alone', (_what, auth, cause) => {
    expectRefused(auth, cause);
  });

  // @octokit/auth-token strips one leading `token ` or `bearer ` (any case): octokit's convention
  // for its `auth` option, kept so that what works with octokit works here.
  it.each([
    ['token ', `token ${SECRET}`],
    ['Bearer ', `Bearer ${SECRET}`],
    ['BEARER and two spaces', `BEARER  ${SECRET}`],
  ])("octokit's prefix %j: accepted, the bare token sent", async (_what, auth) => {
    const api = await start((_request, response, path) => {
      if (path === '/repos/acme/api') return reply(response, REPOSITORY);
      reply(response, [issue(1)]);
    });
    const source = githubSource({
      auth,
      baseUrl: api.url,
      repos: ['acme/api'],
      endpoints: ['issues'],
      retryAfterBaseMs: 1,
    });
    expect(source).toBeDefined();
    const client = createGithubClient({ auth, baseUrl: api.url });
    await client.request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'api' });
    expect(api.received.map((r) => r.authorization)).toEqual([`token ${SECRET}`]);
  });
});

it('a well-formed token of every kind GitHub issues is accepted', () => {
  for (const auth of [
    SECRET,
    `github_pat_11ABCDEFG0${'a'.repeat(20)}_${'B'.repeat(59)}`,
    'ghs_16C7e42F292c6912E7710c838347Ae178B4a',
    'v1.1f699f1069f60xxx',
    'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOjEyM30.c2lnbmF0dXJl', // an app's JWT
    'a3f1c9e0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a1',
  ]) {
    expect(() => githubSource({ auth, repos: ['acme/api'], endpoints: ['issues'] })).not.toThrow();
  }
});
