import { type Dispatcher, request } from 'undici';
import { headerText } from './header-text.js';

/** The URL as it may be shown: without its `user:password@`. */
export function withoutUserInfo(url: URL): string {
  const shown = new URL(url);
  shown.username = '';
  shown.password = '';
  return shown.href;
}

/** Redirect statuses followed (all for a GET: 303 too). */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Hops after which a chain of redirects is given up on. */
const MAX_REDIRECTS = 5;

/** A redirect the source will not follow: reported as the page's failure, not retried. */
export class RedirectRefused extends Error {
  constructor(
    readonly status: number,
    reason: string,
  ) {
    super(reason);
  }
}

/** How to send one page's request, hop by hop. */
export interface Hops {
  dispatcher: Dispatcher;
  signal: AbortSignal;
  /** The request's headers with the credentials, for the API's own origin. */
  authed: Record<string, string>;
  /** The same without them, once a redirect has left the API's origin. */
  plain: Record<string, string>;
  /** The URL made fit for another origin (credentials out of its query), or null when it cannot be. */
  forOtherOrigin(url: URL): URL | null;
  /** Secrets out of a URL, for the error message. */
  redact(text: string): string;
}

/**
 * GETs `target`, following redirects itself. undici's redirect interceptor drops only
 * `authorization`, `cookie` and `proxy-authorization` on a redirect to another origin, so an
 * API-key header (`x-api-key`), a custom auth's signing header or a query key echoed in the
 * `Location` went along. Here, once a redirect leaves the API's origin, the request goes on
 * without any credential (as fetch does, even if a later hop comes back), and only to http(s).
 */
export async function requestFollowing(target: URL, hops: Hops): Promise<Dispatcher.ResponseData> {
  let url = target;
  let headers = hops.authed;
  for (let hop = 0; ; hop++) {
    const response = await request(url, {
      method: 'GET',
      headers,
      signal: hops.signal,
      dispatcher: hops.dispatcher,
    });
    const status = response.statusCode;
    const raw = REDIRECTS.has(status) ? [response.headers.location].flat()[0] : undefined;
    if (raw === undefined) return response;
    const location = headerText(raw);
    // Free the connection for the next hop.
    await response.body.dump();
    if (hop === MAX_REDIRECTS)
      throw new RedirectRefused(status, `more than ${MAX_REDIRECTS} redirects in a row`);
    let next: URL | null = URL.canParse(location, url.href) ? new URL(location, url) : null;
    const shown = hops.redact(next?.href ?? location);
    if (!next || (next.protocol !== 'http:' && next.protocol !== 'https:'))
      throw new RedirectRefused(status, `redirected to ${shown}, not an http(s) URL`);
    // Credentials in a Location are none of ours to send (fetch refuses such URLs), nor to show.
    if (next.username || next.password)
      throw new RedirectRefused(
        status,
        `redirected to a URL with user info (${hops.redact(withoutUserInfo(next))}), not followed`,
      );
    if (next.origin !== target.origin || headers === hops.plain) {
      headers = hops.plain;
      next = hops.forOtherOrigin(next);
      if (!next)
        throw new RedirectRefused(
          status,
          `redirected to another origin with a credential in the URL (${shown})`,
        );
    }
    url = next;
  }
}
