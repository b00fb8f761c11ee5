/**
 * How a credential may be written, checked by a source when it is made (source-github,
 * source-http and source-matrix use it). People pass secrets as they
 * find them: read from a file with its newline, from a `.env` saved with CRLF, copy-pasted with an
 * accent, a curly quote or an invisible space, or with the scheme already in front. Sent as is,
 * such a secret failed every request with undici's bare TypeError (`invalid authorization header`,
 * `Cannot convert argument to a ByteString`; for a NUL or an inner line break, `Headers.append:
 * "Bearer <the token>" is an invalid header value`, the secret in the message), or went out changed
 * (fetch trims a header value; a URL encodes a newline) and came back as a 401, saying nothing.
 */

/**
 * - `token`: a bearer token: one word of printable ASCII, without a scheme in front.
 * - `header`: a header value: printable ASCII, spaces inside it allowed (`Token abc`).
 * - `query`: a query parameter value: no surrounding whitespace or control character; any other
 *   character is percent-encoded.
 * - `password`: no control character (a line break, NUL); spaces and other characters allowed.
 */
export type CredentialKind = 'token' | 'header' | 'query' | 'password';

/** Whether `value` holds a C0 control character (a line break, a tab, NUL), DEL or a C1 one. */
function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}
const NOT_PRINTABLE_ASCII = /[^\u0021-\u007e]/;
/** A scheme already in front (`Bearer abc`, `token abc`), or a whole header line pasted. */
const SCHEME = /^(?:authorization:\s*)?(bearer|token|basic)\s/i;

/**
 * Why `value` cannot be sent as a credential of `kind`, or `null` when it can. The reason
 * describes the fault and never quotes the value: it goes into an error message.
 */
export function credentialFault(value: string, kind: CredentialKind): string | null {
  if (kind === 'password') {
    return hasControl(value)
      ? 'holds a control character (a line break, a "\\r" from a CRLF file, NUL): was it read with its newline?'
      : null;
  }
  if (value.trim() === '') return 'is only whitespace (an unset or empty variable?)';
  const scheme = kind === 'token' ? SCHEME.exec(value) : null;
  if (scheme) {
    return `starts with the scheme "${scheme[1]}": pass the token alone, the scheme is added for you`;
  }
  const edge = /[\r\n]$/.test(value)
    ? 'ends with a line break (a file\'s last newline, a .env line\'s "\\r\\n"?)'
    : /^[\r\n]/.test(value)
      ? 'starts with a line break'
      : /[ \t\f\v]$/.test(value)
        ? 'ends with whitespace'
        : /^[ \t\f\v]/.test(value)
          ? 'starts with whitespace'
          : null;
  if (edge) return `${edge}: pass it without, e.g. trimmed`;
  if (hasControl(value)) {
    return 'holds a control character (a line break, a tab, NUL, an invisible byte), which cannot be sent as typed';
  }
  if (kind === 'query') return null;
  // Only spaces are left of the whitespace: a token is one word, a header value may hold some.
  if (kind === 'token' && value.includes(' ')) return 'must not contain whitespace';
  if (NOT_PRINTABLE_ASCII.test(kind === 'header' ? value.replaceAll(' ', '') : value)) {
    return 'holds a character outside printable ASCII (an accent, an emoji, a curly quote or an invisible space from a copy-paste?), which an HTTP header cannot carry as typed';
  }
  return null;
}
