/**
 * Page caches that do not grow without end: the memory cache keeps the pages used last, the file
 * cache deletes entries nobody used for `maxAgeDays`, and never a file that is not its own.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CachedPage, filePageCache, memoryPageCache } from '../../src/index.js';

const page = (n: number): CachedPage => ({ etag: `"v${n}"`, headers: [], body: `[${n}]` });
const DAY_MS = 24 * 60 * 60 * 1000;
const entryName = (url: string) => `${createHash('sha256').update(url).digest('hex')}.json`;

describe('memoryPageCache', () => {
  it('keeps the pages used last, up to maxPages', async () => {
    const cache = memoryPageCache({ maxPages: 3 });
    for (const n of [1, 2, 3]) await cache.set(`https://api.test/p/${n}`, page(n));
    expect(await cache.get('https://api.test/p/1')).toEqual(page(1)); // used: now the newest
    await cache.set('https://api.test/p/4', page(4));
    expect(await cache.get('https://api.test/p/2')).toBeUndefined();
    for (const n of [1, 3, 4]) expect(await cache.get(`https://api.test/p/${n}`)).toEqual(page(n));
  });

  it('holds 1,000 pages by default, not every page of a long crawl', async () => {
    const cache = memoryPageCache();
    for (let n = 0; n < 1_500; n++) await cache.set(`https://api.test/p/${n}`, page(n));
    expect(await cache.get('https://api.test/p/499')).toBeUndefined();
    expect(await cache.get('https://api.test/p/500')).toEqual(page(500));
    expect(await cache.get('https://api.test/p/1499')).toEqual(page(1499));
  });

  it('refuses a bound that is not a whole number of at least 1', () => {
    expect(() => memoryPageCache({ maxPages: 0 })).toThrow(/maxPages/);
    expect(() => memoryPageCache({ maxPages: 2.5 })).toThrow(/maxPages/);
  });
});

describe('filePageCache', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'checkpointkit-page-cache-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Writes a file and sets its modification time `days` ago. */
  const aged = (name: string, days: number, text = '{}') => {
    const path = join(dir, name);
    writeFileSync(path, text);
    const at = new Date(Date.now() - days * DAY_MS);
    utimesSync(path, at, at);
    return path;
  };

  it('deletes its entries and temp files unused for maxAgeDays, and nothing else', async () => {
    const old = aged(entryName('https://api.test/old'), 40, JSON.stringify(page(1)));
    const recent = aged(entryName('https://api.test/recent'), 2, JSON.stringify(page(2)));
    const crashed = aged(`${entryName('https://api.test/x')}.a1b2c3d4e5f6.tmp`, 40);
    // Not the cache's: a folder pointed at the wrong place keeps everything that was there.
    const foreign = [
      aged('notes.txt', 400),
      aged('data.json', 400),
      aged(`${'0'.repeat(64)}.txt`, 400),
    ];
    mkdirSync(join(dir, 'sub'));

    const cache = filePageCache(dir, { maxAgeDays: 30 });
    await cache.set('https://api.test/new', page(3));

    expect(existsSync(old)).toBe(false);
    expect(existsSync(crashed)).toBe(false);
    expect(existsSync(recent)).toBe(true);
    for (const path of foreign) expect(existsSync(path)).toBe(true);
    expect(existsSync(join(dir, 'sub'))).toBe(true);
    expect(await cache.get('https://api.test/recent')).toEqual(page(2));
    expect(await cache.get('https://api.test/new')).toEqual(page(3));
  });

  it('counts a page as used when it is read: a hit renews its age', async () => {
    const path = aged(entryName('https://api.test/used'), 40, JSON.stringify(page(1)));
    expect(await filePageCache(dir, { maxAgeDays: 30 }).get('https://api.test/used')).toEqual(
      page(1),
    );
    expect(Date.now() - statSync(path).mtimeMs).toBeLessThan(DAY_MS);
    await filePageCache(dir, { maxAgeDays: 30 }).set('https://api.test/other', page(2));
    expect(existsSync(path)).toBe(true);
  });

  it('expires after 30 days by default', async () => {
    const old = aged(entryName('https://api.test/a'), 31, JSON.stringify(page(1)));
    const young = aged(entryName('https://api.test/b'), 29, JSON.stringify(page(2)));
    await filePageCache(dir).set('https://api.test/c', page(3));
    expect(existsSync(old)).toBe(false);
    expect(existsSync(young)).toBe(true);
  });

  it('survives several caches pruning the same folder at once, as several processes would', async () => {
    for (let n = 0; n < 300; n++)
      aged(entryName(`https://api.test/old/${n}`), 60, JSON.stringify(page(n)));
    const caches = Array.from({ length: 6 }, () => filePageCache(dir, { maxAgeDays: 30 }));
    await Promise.all(caches.map((cache, n) => cache.set(`https://api.test/new/${n}`, page(n))));
    expect(readdirSync(dir).sort()).toEqual(
      Array.from({ length: 6 }, (_, n) => entryName(`https://api.test/new/${n}`)).sort(),
    );
  });

  it('refuses an age that is not a positive number of days', () => {
    expect(() => filePageCache(dir, { maxAgeDays: 0 })).toThrow(/maxAgeDays/);
    expect(() => filePageCache(dir, { maxAgeDays: Number.NaN })).toThrow(/maxAgeDays/);
  });
});
