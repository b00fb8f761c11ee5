/** The default of `maxResponseBytes`: a page of 100 of GitHub's largest objects is a few MiB. */
export const DEFAULT_MAX_RESPONSE_BYTES = 100 * 1024 * 1024;

/** A body went past `maxResponseBytes`; it was read no further. */
export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
  constructor(readonly limit: number) {
    super(
      `the body is larger than maxResponseBytes (${limit} bytes): lower perPage, or raise maxResponseBytes`,
    );
  }
}

const NULL_BODY = new Set([101, 204, 205, 304]);

/**
 * The response with its body read here, never more than `limit` bytes (counted as fetch hands
 * them over, after it undid gzip). Octokit reads a body whole into memory, one that never ends
 * until the process dies; and it turns a body that fails midway into an empty string, a 200 whose
 * items were lost. Read here, both fail the attempt as a network error (retried, then retryable).
 */
export async function readWithin(response: Response, limit: number): Promise<Response> {
  if (response.body === null || NULL_BODY.has(response.status)) return response;
  const declared = Number(response.headers.get('content-length'));
  const reader = response.body.getReader();
  const cancel = (error: Error) => {
    // Not awaited: a server that keeps sending must not hold us here either.
    reader.cancel().catch(() => {});
    return error;
  };
  if (declared > limit) throw cancel(new BodyTooLargeError(limit));
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) throw cancel(new BodyTooLargeError(limit));
    chunks.push(value);
  }
  const body = Buffer.concat(chunks, size);
  const copy = new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  // Where the response came from after redirects: a constructed Response has none of its own.
  Object.defineProperty(copy, 'url', { value: response.url });
  return copy;
}
