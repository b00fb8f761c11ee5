import { describe, expect, it } from 'vitest';
import {
  collectFrom,
  everythingStored,
  HOSTILE_TOKEN,
  hostileServers,
  issue,
  REPOSITORY,
  reply,
} from '../hostile.js';

/** Hostile Link headers: a server that sends the walk elsewhere, in circles, or nowhere. */

const start = hostileServers();

const unit = 'repos/acme/api/issues';
const isList = (path: string) => path.startsWith('/repos/acme/api/issues');

describe('a Link header', () => {
  it('to another host: the token is not sent there, the unit fails naming the Link', async () => {
    const elsewhere = await start((_request, response) => reply(response, [issue(9)]));
    const api = await start((_request, response, path) => {
      if (path === '/repos/acme/api') return reply(response, REPOSITORY);
      reply(response, [issue(1), issue(2)], {
        link: `<${elsewhere.url}/repos/acme/api/issues?page=2>; rel="next"`,
      });
    });
    const { result, run, log, storage } = await collectFrom(api.url, {});
    // Before: octokit sent `authorization: token <the token>` to the other host.
    expect(elsewhere.received).toEqual([]);
    expect(result).toMatchObject({ failed: 1 });
    const error = run.unit(unit)?.error;
    expect(error).toMatchObject({ retryable: false });
    expect(error?.message).toContain('rel="next"');
    expect(error?.message).toContain(elsewhere.url);
    for (const text of [everythingStored(storage), ...log.lines])
      expect(text).not.toContain(HOSTILE_TOKEN);
  });

  const FIRST = '/repos/acme/api/issues?state=all&sort=updated&direction=desc&per_page=2';
  it.each([
    ['the same page', (_served: number) => FIRST, 1],
    [
      'an earlier page',
      (served: number) => `/repositories/1/issues?page=${served === 2 ? 3 : 2}`,
      3,
    ],
  ])('back to %s: the walk stops, the unit fails', async (_what, next, pages) => {
    let served = 0;
    const api = await start((_request, response, path) => {
      if (path === '/repos/acme/api') return reply(response, REPOSITORY);
      served += 1;
      // The guard for the code before the fix, which followed the circle forever: after 50
      // pages the server ends the list.
      const link: Record<string, string> =
        served < 50 ? { link: `<${api.url}${next(served)}>; rel="next"` } : {};
      reply(response, served === 1 ? [issue(1), issue(2)] : [issue(3)], link);
    });
    const { result, run, sink } = await collectFrom(api.url, {});
    // Before: 50 pages (and without the guard, forever).
    expect(served).toBe(pages);
    expect(result).toMatchObject({ failed: 1 });
    expect(run.unit(unit)?.error?.message).toMatch(/rel="next".*already read/);
    // The page whose Link leads back is not delivered: the unit stands before it.
    expect(sink.records.filter((r) => r.endpoint === 'issues')).toHaveLength(pages === 1 ? 0 : 3);
  });

  it.each([
    ['empty', '<>; rel="next"'],
    ['relative', '<?page=2>; rel="next"'],
    ['not http', '<javascript:alert(1)>; rel="next"'],
    ['another endpoint', '<{base}/user/repos?page=2>; rel="next"'],
    ['another repository', '<{base}/repos/acme/secret/issues?page=2>; rel="next"'],
    ['above the API root', '<{base}/../other/repos/acme/api/issues?page=2>; rel="next"'],
  ])('%s: nothing is requested from it, the unit fails', async (_what, link) => {
    const api = await start((_request, response, full) => {
      const path = full.replace(/^\/api\/v3/, '');
      if (path === '/repos/acme/api') return reply(response, REPOSITORY);
      if (isList(path))
        return reply(response, [issue(1), issue(2)], {
          link: link.replace('{base}', api.url + '/api/v3'),
        });
      reply(response, { current_user_url: 'https://api.github.com/user' });
    });
    const { result, run } = await collectFrom(`${api.url}/api/v3`, {});
    expect(api.received.map((r) => r.path)).toEqual([
      '/api/v3/repos/acme/api',
      '/api/v3/repos/acme/api/issues?state=all&sort=updated&direction=desc&per_page=2',
    ]);
    expect(result).toMatchObject({ failed: 1 });
    expect(run.unit(unit)?.error).toMatchObject({ retryable: false });
  });
});

/** `baseUrl` as people write it: GitHub Enterprise's API root, often with a trailing slash. */

describe('a baseUrl with a trailing slash', () => {
  it('is the same API root: requests have no "//", and the Links of GitHub Enterprise are followed', async () => {
    const api = await start((_request, response, raw) => {
      // nginx in front of GitHub Enterprise merges slashes (merge_slashes on, its default).
      const path = raw.replace(/\/{2,}/g, '/').replace(/^\/api\/v3/, '');
      if (path === '/repos/acme/api') return reply(response, REPOSITORY);
      if (path.startsWith('/repos/acme/api/issues'))
        return reply(response, [issue(1), issue(2)], {
          link: `<${api.url}/api/v3/repositories/1/issues?per_page=2&page=2>; rel="next"`,
        });
      reply(response, [issue(3)]);
    });
    const { result, run, sink } = await collectFrom(`${api.url}/api/v3/`, {});
    // Before: "the rel="next" Link <…/api/v3/repositories/1/issues…> lists something else than
    // //repos/acme/api/issues; not followed", after GETs of /api/v3//repos/acme/api....
    expect(run.unit('repos/acme/api/issues')?.error).toBeNull();
    expect(result).toMatchObject({ completed: 2, failed: 0 });
    expect(sink.records.filter((r) => r.endpoint === 'issues').map((r) => r.data['id'])).toEqual([
      1, 2, 3,
    ]);
    expect(api.received.map((r) => r.path)).toEqual([
      '/api/v3/repos/acme/api',
      '/api/v3/repos/acme/api/issues?state=all&sort=updated&direction=desc&per_page=2',
      '/api/v3/repositories/1/issues?per_page=2&page=2',
    ]);
  });
});

describe('a baseUrl that redirects to another address', () => {
  it('(http to https, or another host): the unit fails naming the baseUrl to use, not the token', async () => {
    const https = await start((request, response, path) => {
      // GitHub without a token: 401 "Requires authentication".
      if (!request.headers.authorization)
        return reply(response, { message: 'Requires authentication' }, {}, 401);
      if (path === '/api/v3/repos/acme/api') return reply(response, REPOSITORY);
      reply(response, [issue(1)]);
    });
    const http = await start((request, response) => {
      response.writeHead(301, { location: `${https.url}${request.url}` }).end();
    });
    // Before: fetch followed the redirect, dropped the Authorization header on the way (another
    // origin), and the run stopped on "GitHub refused the credentials (401 ...): check the token".
    const { result, run } = await collectFrom(`${http.url}/api/v3`, {});
    expect(result).toMatchObject({ failed: 1 });
    expect(run.unit('discover/acme/api')?.error).toMatchObject({
      retryable: false,
      message: `GET /repos/acme/api: the server redirected it to ${https.url}/api/v3/repos/acme/api, another address, which the token is not sent to; set baseUrl to ${https.url}/api/v3 (not retryable)`,
    });
  });
});
