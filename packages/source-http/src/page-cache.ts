/**
 * Conditional requests: pages kept with their ETag, so that the next request for the same URL
 * sends `If-None-Match` and a `304 Not Modified` reuses the kept page. Every request still asks
 * the API (a kept page is never served without its say-so), so no freshness rules apply and an
 * HTTP cache library (http-cache-semantics, undici's cache interceptor) would add nothing but its
 * freshness model; undici's only persistent store also needs node:sqlite, which Node 20 lacks.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LRUCache } from 'lru-cache';

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

/**
 * A {@link PageCache} in memory: for one process that collects the same API again and again. It
 * keeps the `maxPages` pages used last (default 1,000), so a long crawl does not keep every page
 * it ever read.
 */
export function memoryPageCache(options: { maxPages?: number } = {}): PageCache {
  const maxPages = options.maxPages ?? 1_000;
  if (!(Number.isInteger(maxPages) && maxPages >= 1)) {
    throw new RangeError(`memoryPageCache: maxPages must be a whole number >= 1, got ${maxPages}`);
  }
  const pages = new LRUCache<string, CachedPage>({ max: maxPages });
  return {
    get: (url) => pages.get(url),
    set: (url, page) => void pages.set(url, page),
  };
}

/** The cache's own files: entries and the temp files they are written to (see filePageCache). */
const ENTRY = /^[0-9a-f]{64}\.json$/;
const TEMP = /^[0-9a-f]{64}\.json\.[0-9a-f]{12}\.tmp$/;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * A {@link PageCache} in a folder, one JSON file per URL (named by its SHA-256, so no URL or
 * query parameter appears in a file name), written to a temp file and renamed into place. A
 * file that cannot be read or parsed counts as a miss and is replaced on the next 200: the cache
 * only saves requests, and losing an entry costs one full page.
 *
 * Entries nobody read or wrote for `maxAgeDays` (default 30) are deleted, with temp files a crash
 * left, when the cache first writes in a process: a crawl whose page URLs change from run to run
 * (cursors, timestamps) would otherwise fill the folder for ever. Only the cache's own files are
 * touched, whatever else the folder holds.
 *
 * @example
 * const source = httpSource({ baseUrl, resources, cache: filePageCache('.cache/api-pages') });
 */
export function filePageCache(dir: string, options: { maxAgeDays?: number } = {}): PageCache {
  const maxAgeDays = options.maxAgeDays ?? 30;
  if (!(maxAgeDays > 0 && Number.isFinite(maxAgeDays))) {
    throw new RangeError(`filePageCache: maxAgeDays must be a positive number, got ${maxAgeDays}`);
  }
  const file = (url: string) => join(dir, `${createHash('sha256').update(url).digest('hex')}.json`);
  let pruned: Promise<void> | null = null;
  return {
    async get(url) {
      const path = file(url);
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch {
        return undefined;
      }
      const page = parseCachedPage(text);
      // A hit is a use: it renews the entry's age (its modification time).
      if (page) await touch(path);
      return page;
    },
    async set(url, page) {
      await mkdir(dir, { recursive: true });
      pruned ??= prune(dir, Date.now() - maxAgeDays * DAY_MS);
      await pruned;
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

/** Sets a file's times to now; a file deleted meanwhile is no matter. */
async function touch(path: string): Promise<void> {
  const now = new Date();
  await utimes(path, now, now).catch(() => {});
}

/**
 * Deletes the cache's entries and temp files last modified before `before`. Another process may
 * prune or write the same folder at once: a file gone between listing and deleting is skipped.
 */
async function prune(dir: string, before: number): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return; // the cache only saves requests: a folder it cannot list costs no write
  }
  for (const name of names) {
    if (!ENTRY.test(name) && !TEMP.test(name)) continue;
    const path = join(dir, name);
    try {
      if ((await stat(path)).mtimeMs < before) await rm(path, { force: true });
    } catch {
      // gone meanwhile
    }
  }
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
