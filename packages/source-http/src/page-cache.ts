/**
 * Conditional requests: pages kept with their ETag, so that the next request for the same URL
 * sends `If-None-Match` and a `304 Not Modified` reuses the kept page. Every request still asks
 * the API (a kept page is never served without its say-so), so no freshness rules apply and an
 * HTTP cache library (http-cache-semantics, undici's cache interceptor) would add nothing but its
 * freshness model; undici's only persistent store also needs node:sqlite, which Node 20 lacks.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A page as the API last sent it with a validator. */
export interface CachedPage {
  /** The `ETag` it came with (weak or strong, sent back as is). */
  etag: string;
  /** Its response headers, `set-cookie` left out. A 304's own headers override them. */
  headers: [string, string][];
  /** Its body, as text. */
  body: string;
}

/**
 * Where {@link httpSource} keeps pages between runs for conditional requests. Keys are page URLs
 * with credentials taken out, so one cache must not be shared by users who see different data.
 */
export interface PageCache {
  get(url: string): CachedPage | undefined | Promise<CachedPage | undefined>;
  set(url: string, page: CachedPage): void | Promise<void>;
}

/** A {@link PageCache} in memory: for one process that collects the same API again and again. */
export function memoryPageCache(): PageCache {
  const pages = new Map<string, CachedPage>();
  return {
    get: (url) => pages.get(url),
    set: (url, page) => void pages.set(url, page),
  };
}

/**
 * A {@link PageCache} in a folder, one JSON file per URL (named by its SHA-256, so no URL or
 * query parameter appears in a file name), written to a temp file and renamed into place. A
 * file that cannot be read or parsed counts as a miss and is replaced on the next 200: the cache
 * only saves requests, and losing an entry costs one full page.
 *
 * @example
 * const source = httpSource({ baseUrl, resources, cache: filePageCache('.cache/api-pages') });
 */
export function filePageCache(dir: string): PageCache {
  const file = (url: string) => join(dir, `${createHash('sha256').update(url).digest('hex')}.json`);
  return {
    async get(url) {
      let text: string;
      try {
        text = await readFile(file(url), 'utf8');
      } catch {
        return undefined;
      }
      return parseCachedPage(text);
    },
    async set(url, page) {
      await mkdir(dir, { recursive: true });
      const target = file(url);
      const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        await writeFile(temp, JSON.stringify(page));
        await rename(temp, target);
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
    },
  };
}

function parseCachedPage(text: string): CachedPage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { etag, headers, body } = value as Record<string, unknown>;
  const pairs =
    Array.isArray(headers) &&
    headers.every(
      (pair) =>
        Array.isArray(pair) &&
        pair.length === 2 &&
        typeof pair[0] === 'string' &&
        typeof pair[1] === 'string',
    );
  if (typeof etag !== 'string' || typeof body !== 'string' || !pairs) return undefined;
  return { etag, headers: headers as [string, string][], body };
}

/** The kept page's headers updated with a 304's (RFC 9111 §4.3.4). */
export function revalidatedHeaders(kept: CachedPage, fresh: Headers): Headers {
  const headers = new Headers(kept.headers);
  for (const [name, value] of fresh) if (name !== 'set-cookie') headers.set(name, value);
  return headers;
}

/** What of a 200 is kept: its headers without cookies. */
export function keptHeaders(headers: Headers): [string, string][] {
  return [...headers].filter(([name]) => name !== 'set-cookie');
}
