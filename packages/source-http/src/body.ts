import { constants } from 'node:buffer';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Dispatcher } from 'undici';

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const brotli = promisify(zlib.brotliDecompress);

/** The encodings we offer in `accept-encoding`, and how to undo each. A Map: no inherited keys. */
const DECODERS = new Map([
  ['gzip', gunzip],
  ['x-gzip', gunzip],
  ['deflate', inflate],
  ['br', brotli],
]);

/**
 * A body as text, decoded from the content encoding we offered (fetch does this on its own), and
 * never more than `limit` bytes of it: a larger one is {@link PageTooLarge}, read no further.
 */
export async function decoded(
  encoding: string | string[] | undefined,
  body: Dispatcher.ResponseData['body'],
  limit: number,
): Promise<string> {
  const bytes = await readAtMost(body, limit);
  // Codings are case-insensitive (RFC 9110 §8.4.1): servers send "Identity", or an empty header.
  const name = encoding === undefined ? '' : String(encoding).trim().toLowerCase();
  if (name === '' || name === 'identity') return text(bytes);
  const decode = DECODERS.get(name);
  if (!decode) throw new UndecodableBody(`content-encoding "${name}" was not asked for`);
  try {
    // zlib refuses a bound above the largest buffer (4 GiB on Node 20): a larger limit is that.
    const maxOutputLength = Math.min(limit, constants.MAX_LENGTH);
    return text(await decode(bytes, { maxOutputLength }));
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE')
      throw new PageTooLarge(limit);
    throw new UndecodableBody(`${name} body: ${(error as Error).message}`);
  }
}

/**
 * Bytes as UTF-8 text, a leading byte order mark dropped: fetch's decoder drops it, and
 * JSON.parse fails on it (APIs on .NET and some proxies send one).
 */
function text(bytes: Buffer): string {
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  return bytes.toString('utf8', start);
}

/** The whole body, or {@link PageTooLarge} as soon as it passes `limit` (the connection is dropped). */
async function readAtMost(body: Dispatcher.ResponseData['body'], limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      throw new PageTooLarge(limit);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** A page's body passed `maxPageBytes`: reported as the page's body error, not retried. */
export class PageTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`the body is larger than ${limit} bytes`);
  }
}

/** A body whose encoding we cannot undo: reported as the page's body error, not retried. */
export class UndecodableBody extends Error {}
