import { holdsSecret, redact } from './errors.js';

/** A body went past `maxResponseBytes`; it was read no further. */
export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`the body is larger than ${limit} bytes`);
  }
}

/**
 * The body as text, never more than `limit` bytes of it, counted as fetch hands them over (after
 * it undid gzip or brotli). `response.text()` holds a body that does not end, or a small gzip body
 * that inflates to gigabytes, whole in memory until the process dies; past the limit this cancels
 * the body instead, which drops the connection.
 */
export async function readAtMost(response: Response, limit: number): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let size = 0;
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    size += value.byteLength;
    if (size > limit) {
      // Not awaited: a server that keeps sending must not hold us here either.
      reader.cancel().catch(() => {});
      throw new BodyTooLarge(limit);
    }
    text += decoder.decode(value, { stream: true });
  }
}

/**
 * The body as JSON with `secret` replaced in every string it holds (event ids, message bodies,
 * pagination tokens, error texts), or undefined when it is not JSON. A server that echoes the
 * access token anywhere thus cannot carry it into a message, a held reply in the cursor, a warning
 * or an error. A token that carried it is refused where tokens are read (api.ts).
 */
export function parseJson(text: string, secret: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text, (_key, value: unknown) =>
      typeof value === 'string' && holdsSecret(value, secret) ? redact(value, secret) : value,
    ) as unknown;
  } catch {
    return undefined;
  }
}
