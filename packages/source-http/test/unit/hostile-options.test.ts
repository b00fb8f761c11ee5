/**
 * Option values a caller gets wrong (plain JavaScript, `JSON.parse`d config, an `as any`): each
 * must be refused when the source is made, as an `HttpSourceConfigError` naming the field and
 * the cause, never a TypeError from deep inside the first request, nor silently taken.
 */
import { describe, expect, it } from 'vitest';
import {
  type Auth,
  HttpSourceConfigError,
  type HttpSourceOptions,
  httpSource,
} from '../../src/index.js';

const SECRET = 'tok_option-secret-0123456789';

/** Makes a source from a valid base with `over` applied, the types switched off. */
const make = (over: Record<string, unknown>) => () =>
  httpSource({
    baseUrl: 'http://127.0.0.1:9',
    resources: [{ name: 'posts', path: '/posts' }],
    ...over,
  } as unknown as HttpSourceOptions);

function refused(over: Record<string, unknown>, field: string): HttpSourceConfigError {
  let caught: unknown;
  try {
    make(over)();
  } catch (error) {
    caught = error;
  }
  expect(caught, JSON.stringify(over)).toBeInstanceOf(HttpSourceConfigError);
  const error = caught as HttpSourceConfigError;
  expect(error.field).toBe(field);
  expect(error.message).not.toContain(SECRET);
  return error;
}

describe('option values of the wrong type or range', () => {
  it('resources that are not a list of resources', () => {
    refused({ resources: undefined }, 'resources');
    refused({ resources: 'posts' }, 'resources');
    refused({ resources: [null] }, 'resources[0]');
    refused({ resources: [{ path: '/posts' }] }, 'resources[0].name');
    refused({ resources: [{ name: 42, path: '/posts' }] }, 'resources[0].name');
    refused({ resources: [{ name: 'posts' }] }, 'resources[0].path');
    refused({ resources: [{ name: 'posts', path: 42 }] }, 'resources[0].path');
    refused({ resources: [{ name: 'posts', path: '/p', children: 'x' }] }, 'resources[0].children');
  });

  it('query params whose values are not strings, finite numbers or booleans', () => {
    for (const value of [{}, [1], null, Number.NaN, Number.POSITIVE_INFINITY]) {
      const error = refused(
        { resources: [{ name: 'posts', path: '/posts', params: { status: value } }] },
        'resources[0].params.status',
      );
      expect(error.message).toContain('must be a string, a finite number or a boolean');
    }
  });

  it('headers that no request could carry', () => {
    refused({ headers: 'accept: json' }, 'headers');
    refused({ headers: { 'bad name': 'x' } }, 'headers.bad name');
    refused({ headers: { 'x-ok': 'line\r\nbreak' } }, 'headers.x-ok');
    refused({ headers: { 'x-ok': 42 } }, 'headers.x-ok');
  });

  it('an auth header whose name or value no request could carry, without echoing the value', () => {
    const auth = (a: unknown) => ({ auth: a as Auth });
    refused(auth({ type: 'header', name: 'x api key', value: SECRET }), 'auth.name');
    refused(auth({ type: 'header', name: 'x-api-key', value: `${SECRET}\n` }), 'auth.value');
    refused(auth({ type: 'bearer', token: `${SECRET}\r\nx-evil: 1` }), 'auth.token');
  });

  it('hooks that are not functions', () => {
    refused({ onRateLimit: 'log' }, 'onRateLimit');
    refused({ now: Date.now() }, 'now');
    refused({ cache: {} }, 'cache');
    refused({ cache: { get: () => undefined } }, 'cache');
    refused({ paginator: { describe: {} } }, 'paginator');
    refused(
      { resources: [{ name: 'posts', path: '/posts', paginator: { next: 1, describe: {} } }] },
      'resources[0].paginator',
    );
    refused({ dispatcher: {} }, 'dispatcher');
  });

  it('numbers: NaN, Infinity, negative, fractional, huge, strings', () => {
    for (const value of [Number.NaN, Number.NEGATIVE_INFINITY, -1, 0.5, '4', 2 ** 60])
      refused({ retries: value }, 'retries');
    for (const value of [Number.NaN, 2 ** 31, '1000', -1])
      refused({ maxRetryDelay: value }, 'maxRetryDelay');
    for (const value of [Number.NaN, 0, 1e300, '1'])
      refused({ maxPageBytes: value }, 'maxPageBytes');
  });

  it('values at the edges of their range are taken', () => {
    expect(make({ retries: 0, maxRetryDelay: 0, maxPageBytes: 1 })).not.toThrow();
    expect(
      make({ maxRetryDelay: 2 ** 31 - 1, maxPageBytes: Number.MAX_SAFE_INTEGER }),
    ).not.toThrow();
    expect(
      make({
        headers: { 'x-trace': '' },
        resources: [{ name: 'p', path: '/p', params: { a: false, b: 0 } }],
      }),
    ).not.toThrow();
  });
});
