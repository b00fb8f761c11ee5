import { describe, expect, it } from 'vitest';
import { type Auth, redactor } from '../../src/auth.js';
import {
  HttpSourceConfigError,
  httpSource,
  offsetLimit,
  pageNumber,
  rateLimitFromHeaders,
} from '../../src/index.js';
import { LinkHeaderError, parseLink } from '../../src/paginators.js';
import { isMissing, resolvePointer } from '../../src/pointer.js';

const now = new Date('2026-01-01T00:00:00Z');

describe('rate-limit headers', () => {
  it('reads the IETF RateLimit and RateLimit-Policy structured fields', () => {
    const headers = new Headers({
      ratelimit: '"burst";r=7;t=30',
      'ratelimit-policy': '"day";q=1000;w=86400, "burst";q=10;w=60',
    });
    expect(rateLimitFromHeaders(headers, now)).toEqual({
      remaining: 7,
      limit: 10,
      resetAt: '2026-01-01T00:00:30.000Z',
      resource: 'burst',
    });
  });
  it('reads the older RateLimit-Remaining/-Limit/-Reset trio (reset in seconds from now)', () => {
    const headers = new Headers({
      'ratelimit-remaining': '3',
      'ratelimit-limit': '50',
      'ratelimit-reset': '10',
    });
    expect(rateLimitFromHeaders(headers, now)).toEqual({
      remaining: 3,
      limit: 50,
      resetAt: '2026-01-01T00:00:10.000Z',
    });
  });
  it('reads X-RateLimit-* with an epoch reset', () => {
    const headers = new Headers({
      'x-ratelimit-remaining': '0',
      'x-ratelimit-limit': '5000',
      'x-ratelimit-reset': '1767225600',
    });
    expect(rateLimitFromHeaders(headers, now)).toEqual({
      remaining: 0,
      limit: 5000,
      resetAt: '2026-01-01T00:00:00.000Z',
    });
  });
  it('gives undefined without such headers or with garbage', () => {
    expect(rateLimitFromHeaders(new Headers(), now)).toBeUndefined();
    expect(
      rateLimitFromHeaders(new Headers({ 'x-ratelimit-remaining': 'lots' }), now),
    ).toBeUndefined();
  });
});

describe('Link headers, pointers, paginators', () => {
  it('parses several links and rel lists', () => {
    expect(
      parseLink('<https://a/x?page=2>; rel="next", <https://a/x?page=9>; rel="last prev"'),
    ).toEqual({
      next: 'https://a/x?page=2',
      last: 'https://a/x?page=9',
      prev: 'https://a/x?page=9',
    });
    expect(parseLink(null)).toEqual({});
  });
  it('refuses a Link header that is none, rather than taking it for the last page', () => {
    expect(() => parseLink('https://a/x?page=2; rel=next')).toThrow(LinkHeaderError);
    // The first of two rels of one link counts (RFC 8288 3.3), whatever its case.
    expect(parseLink('<https://a/x?page=2>; REL=Next; rel=prev')).toEqual({
      next: 'https://a/x?page=2',
    });
  });
  it('resolves RFC 6901 pointers, escapes included', () => {
    const doc = { 'a/b': { '~c': [10, 20] } };
    expect(resolvePointer(doc, '/a~1b/~0c/1')).toBe(20);
    expect(isMissing(resolvePointer(doc, '/a~1b/~0c/2'))).toBe(true);
    expect(resolvePointer(doc, '')).toBe(doc);
  });
  it('offsets stop on a short page and at the total', () => {
    const paginator = offsetLimit({ limit: 2, total: { pointer: '/total' } });
    const url = new URL('http://h/x');
    paginator.first?.(url);
    expect(url.search).toBe('?offset=0&limit=2');
    const page = (body: unknown, records: unknown[]) => ({
      url,
      headers: new Headers(),
      body,
      records,
    });
    expect(paginator.next(page({ total: 5 }, [1, 2]))?.search).toBe('?offset=2&limit=2');
    expect(paginator.next(page({ total: 2 }, [1, 2]))).toBeNull();
    // Short of the limit but not of the total: an API that caps the limit; read on.
    expect(paginator.next(page({ total: 9 }, [1]))?.search).toBe('?offset=1&limit=2');
    expect(paginator.next(page({ total: 9 }, []))).toBeNull();
    expect(offsetLimit({ limit: 2 }).next(page({}, [1]))).toBeNull();
    expect(() => paginator.next(page({ total: '5' }, [1, 2]))).toThrow(
      'expected a number, found a string',
    );
  });
  it('page numbers stop at a total of pages', () => {
    const paginator = pageNumber({ total: { pointer: '/pages' }, totalIs: 'pages' });
    const page = (n: number) => ({
      url: new URL(`http://h/x?page=${n}`),
      headers: new Headers(),
      body: { pages: 3 },
      records: [1],
    });
    expect(paginator.next(page(2))?.search).toBe('?page=3');
    expect(paginator.next(page(3))).toBeNull();
  });
});

describe('secrets and config', () => {
  it('redacts a secret in its raw, URL-encoded and basic-auth forms', () => {
    const redact = redactor({ type: 'basic', username: 'me', password: 'p@ss word' });
    const basic = Buffer.from('me:p@ss word').toString('base64');
    expect(redact(`x p@ss word y p%40ss%20word z ${basic}`)).toBe('x *** y *** z ***');
  });
  it('redacts every encoding of a secret, and only the secret, whatever its characters', () => {
    const secret = 'a.b*c(d)[e]\\f$g é🔑';
    const redact = redactor({ type: 'bearer', token: secret });
    const forms = [
      secret,
      encodeURIComponent(secret),
      encodeURIComponent(secret).toLowerCase(),
      new URLSearchParams({ k: secret }).toString().slice(2),
      encodeURIComponent(encodeURIComponent(secret)),
      JSON.stringify(secret).slice(1, -1),
    ];
    for (const form of forms) expect(redact(`<${form}>`), form).toBe('<***>');
    // Regular-expression characters in a secret stand for themselves.
    expect(redact('aXb*c(d)[e]\\f$g é🔑')).toBe('aXb*c(d)[e]\\f$g é🔑');
    expect(redactor(undefined)('a%2Fb')).toBe('a%2Fb');
  });
  it('keeps every kind of secret out of the config digest input', () => {
    for (const auth of [
      { type: 'bearer', token: 'SECRET1' },
      { type: 'basic', username: 'SECRET1', password: 'SECRET2' },
      { type: 'header', name: 'x-api-key', value: 'SECRET1' },
      { type: 'query', name: 'key', value: 'SECRET1' },
    ] as const) {
      const source = httpSource({
        baseUrl: 'http://h/api', // a query in it is refused (hostile-origins.test.ts)
        auth,
        resources: [{ name: 'r', path: '/r' }],
      });
      expect(JSON.stringify(source.config)).not.toMatch(/SECRET/);
    }
  });
  it('names the option that cannot work', () => {
    const make = (resources: Parameters<typeof httpSource>[0]['resources']) => () =>
      httpSource({ baseUrl: 'http://h', resources });
    expect(make([{ name: 'a/b', path: '/x' }])).toThrow(HttpSourceConfigError);
    expect(make([{ name: 'a', path: '/x', records: 'data' }])).toThrow(
      'option "resources[0].records"',
    );
    expect(make([{ name: 'a', path: '/x/{id}' }])).toThrow('option "resources[0].path"');
    expect(make([{ name: 'a', path: '/x', children: [{ name: 'a', path: '/y/{id}' }] }])).toThrow(
      'names two resources',
    );
    expect(() => httpSource({ baseUrl: 'nope', resources: [{ name: 'a', path: '/a' }] })).toThrow(
      'option "baseUrl"',
    );
    for (const maxPageBytes of [0, -1, 1.5, Number.NaN])
      expect(() =>
        httpSource({ baseUrl: 'http://h', resources: [{ name: 'a', path: '/a' }], maxPageBytes }),
      ).toThrow('option "maxPageBytes" must be a whole number from 1 to');
    // Credentials in the base URL were sent nowhere, and every error message (kept in the
    // checkpoint) carried them in the page URL.
    const withPassword = () =>
      httpSource({ baseUrl: 'http://alice:s3cr3t-pw@h', resources: [{ name: 'a', path: '/a' }] });
    expect(withPassword).toThrow('option "baseUrl" must not carry credentials');
    expect(withPassword).not.toThrow('s3cr3t-pw');
    // A negative or fractional count of retries failed every request; an infinite delay made a
    // timer that Node fires at once, so a long Retry-After became a storm of requests.
    for (const [option, value] of [
      ['retries', -1],
      ['retries', 1.5],
      ['retries', Number.NaN],
      ['maxRetryDelay', Number.POSITIVE_INFINITY],
      ['maxRetryDelay', -5],
      ['maxRetryDelay', 2 ** 31],
    ] as const)
      expect(() =>
        httpSource({
          baseUrl: 'http://h',
          resources: [{ name: 'a', path: '/a' }],
          [option]: value,
        }),
      ).toThrow(`option "${option}" must be a whole number from 0 to`);
  });
  it('refuses credentials that are not strings, as an unset environment variable gives', () => {
    // `token: process.env.API_TOKEN!` with the variable unset sent `Authorization: Bearer
    // undefined` to the API (measured), and listed "undefined" as a secret to redact.
    const unset = process.env['CHECKPOINTKIT_SURELY_UNSET'] as string;
    for (const [auth, field] of [
      [{ type: 'bearer', token: unset }, 'auth.token'],
      [{ type: 'bearer', token: '' }, 'auth.token'],
      [{ type: 'basic', username: 'me', password: unset }, 'auth.password'],
      [{ type: 'basic', username: unset, password: 'pw' }, 'auth.username'],
      [{ type: 'header', name: 'x-api-key', value: unset }, 'auth.value'],
      [{ type: 'query', name: '', value: 'k' }, 'auth.name'],
      [{ type: 'custom', apply: 'nope' }, 'auth.apply'],
      [{ type: 'custom', apply: () => {}, secrets: [unset] }, 'auth.secrets[0]'],
      [{ type: 'oauth' }, 'auth.type'],
    ] as const) {
      expect(() =>
        httpSource({
          baseUrl: 'http://h',
          resources: [{ name: 'a', path: '/a' }],
          auth: auth as unknown as Auth,
        }),
      ).toThrow(`option "${field}"`);
    }
  });
});
