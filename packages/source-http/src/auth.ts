import { type CredentialKind, credentialFault } from '@checkpointkit/core';
import { headerName, headerSafe } from './checks.js';
import { HttpSourceConfigError } from './errors.js';
import { redactorOf } from './redact.js';
/**
 * How requests are authenticated. Secrets given here are applied to each request only: they are
 * never part of a cursor, the source's `config`, a log line or an error message. They are sent as
 * written, so they are checked as written: a bearer `token` is the token alone (no `Bearer `),
 * one word of printable ASCII; a `header` value printable ASCII; none blank or with surrounding
 * whitespace (a file's newline); a `basic` username or password without a control character.
 */
export type Auth =
  | { type: 'bearer'; token: string }
  | { type: 'basic'; username: string; password: string }
  | { type: 'header'; name: string; value: string }
  | { type: 'query'; name: string; value: string }
  | {
      type: 'custom';
      /** Adds credentials to a request (headers or URL) before it is sent. */
      apply: (request: { url: URL; headers: Headers }) => void | Promise<void>;
      /** The secrets it uses, so they can be removed from messages. */
      secrets?: readonly string[];
    };

/**
 * Refuses an `auth` whose credentials are not non-empty strings, naming the field: a
 * `token: process.env.API_TOKEN!` with the variable unset sent `Authorization: Bearer undefined`
 * with every request, and made "undefined" a secret to redact from every message. A credential
 * that cannot be sent as written (see {@link credentialFault}) is refused too, never quoted.
 */
export function checkAuth(auth: Auth | undefined): void {
  if (auth === undefined) return;
  const refuse = (field: string, what: string) =>
    new HttpSourceConfigError(`auth${field ? `.${field}` : ''}`, what);
  if (typeof auth !== 'object' || auth === null) throw refuse('', 'must be an object with a type');
  const text = (field: string) => {
    const value = (auth as unknown as Record<string, unknown>)[field];
    if (typeof value !== 'string' || value === '')
      throw refuse(
        field,
        `must be a non-empty string (got ${describe(value)}; an unset environment variable?)`,
      );
  };
  // A file's newline, a .env's "\r", a copy-paste's accent or a scheme in front went out as is:
  // a bare TypeError from undici on the first request, or a 401 after the retries, naming nothing.
  const written = (field: string, kind: CredentialKind) => {
    const fault = credentialFault(
      (auth as unknown as Record<string, string>)[field] as string,
      kind,
    );
    if (fault) throw refuse(field, fault);
  };
  switch (auth.type) {
    case 'bearer':
      text('token');
      written('token', 'token');
      headerSafe('auth.token', auth.token);
      return;
    case 'basic':
      text('username');
      text('password');
      written('username', 'password');
      written('password', 'password');
      return;
    case 'header':
      text('name');
      text('value');
      headerName('auth.name', auth.name);
      written('value', 'header');
      headerSafe('auth.value', auth.value);
      return;
    case 'query':
      text('name');
      text('value');
      written('value', 'query');
      return;
    case 'custom':
      if (typeof auth.apply !== 'function') throw refuse('apply', 'must be a function');
      (auth.secrets ?? []).forEach((secret, i) => {
        if (typeof secret !== 'string' || secret === '')
          throw refuse(`secrets[${i}]`, `must be a non-empty string (got ${describe(secret)})`);
      });
      return;
    default:
      throw refuse(
        'type',
        `must be "bearer", "basic", "header", "query" or "custom" (got ${describe((auth as { type?: unknown }).type)})`,
      );
  }
}

/** What a value is, never the value itself (it may be a secret). */
function describe(value: unknown): string {
  if (value === '') return 'an empty string';
  return value === null || value === undefined ? String(value) : `a ${typeof value}`;
}

/** Adds `auth`'s credentials to a request. */
export async function applyAuth(auth: Auth | undefined, url: URL, headers: Headers): Promise<void> {
  if (!auth) return;
  switch (auth.type) {
    case 'bearer':
      headers.set('authorization', `Bearer ${auth.token}`);
      return;
    case 'basic':
      headers.set(
        'authorization',
        `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`,
      );
      return;
    case 'header':
      headers.set(auth.name, auth.value);
      return;
    case 'query':
      url.searchParams.set(auth.name, auth.value);
      return;
    case 'custom':
      await auth.apply({ url, headers });
  }
}

/** Removes a query-parameter credential from a URL the API handed back (a Link, a next URL). */
export function stripAuth(auth: Auth | undefined, url: URL): URL {
  if (auth?.type === 'query') url.searchParams.delete(auth.name);
  return url;
}

/**
 * A next URL the API handed back, made fit to be saved as a cursor: APIs echo the request's
 * query in their Link headers and next URLs, credentials included. Every query parameter that
 * holds a secret is removed (auth adds its credentials to each request again). `null` when a
 * secret is left elsewhere in the URL (its path, its user info): such a URL cannot be saved.
 */
export function cursorUrl(
  auth: Auth | undefined,
  url: URL,
  redact: (text: string) => string,
): URL | null {
  stripAuth(auth, url);
  for (const [name, value] of [...url.searchParams])
    if (redact(name) !== name || redact(value) !== value) url.searchParams.delete(name);
  return redact(url.href) === url.href ? url : null;
}

/** The secrets of `auth` (a basic auth's also in their base64 form). */
export function secretsOf(auth: Auth | undefined): string[] {
  if (!auth) return [];
  const raw =
    auth.type === 'bearer'
      ? [auth.token]
      : auth.type === 'basic'
        ? // Some APIs take the key as the username (Stripe): both are secrets.
          [
            auth.username,
            auth.password,
            Buffer.from(`${auth.username}:${auth.password}`).toString('base64'),
          ]
        : auth.type === 'custom'
          ? [...(auth.secrets ?? [])]
          : [auth.value];
  return raw.filter(Boolean);
}

/**
 * A function that replaces every secret in a text with `***`, in whatever encoding the text
 * holds it (see redact.ts).
 */
export function redactor(auth: Auth | undefined): (text: string) => string {
  return redactorOf(secretsOf(auth));
}

/** The auth as it may appear in a config digest: its kind and names, never its values. */
export function describeAuth(auth: Auth | undefined): Record<string, string> | null {
  if (!auth) return null;
  if (auth.type === 'header' || auth.type === 'query') return { type: auth.type, name: auth.name };
  return { type: auth.type };
}
