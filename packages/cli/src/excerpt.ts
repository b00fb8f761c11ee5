/**
 * Text from files and messages made safe to print on a terminal: control characters (which could
 * move the cursor, clear the screen or ring the bell), raw binary and replacement characters are
 * shown escaped, and excerpts are cut short.
 */

/** The first `max` bytes of `bytes` as printable ASCII in quotes: `"\x89PNG\r\n..."`. */
export function byteExcerpt(bytes: Uint8Array, max = 16): string {
  let text = '';
  for (const byte of bytes.subarray(0, max)) {
    text +=
      byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c
        ? String.fromCharCode(byte)
        : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `"${text}${bytes.length > max ? '...' : ''}"`;
}

/**
 * Escapes what a terminal would act on or could not show in one line of text: C0 and C1
 * controls, DEL, line and paragraph separators, bidirectional overrides and U+FFFD (what invalid
 * UTF-8 decodes to). Nothing is cut: for a checkpoint's own strings (ids, unit keys, error
 * messages) that `show`, `ls` and the other verbs print, which a job took from anywhere (an API's
 * error body, a folder name) and which must not clear the screen or retitle the window.
 */
export function printable(text: string): string {
  return text.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufffd]/g,
    (char) => {
      const code = char.charCodeAt(0);
      return code < 0x100
        ? `\\x${code.toString(16).padStart(2, '0')}`
        : `\\u${code.toString(16).padStart(4, '0')}`;
    },
  );
}

/** {@link printable}, and cut short when longer than `max` characters: for errors and warnings. */
export function safeLine(text: string, max = 2000): string {
  const escaped = printable(text);
  return escaped.length > max ? `${escaped.slice(0, max - 3)}...` : escaped;
}
