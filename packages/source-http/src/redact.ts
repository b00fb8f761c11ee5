/**
 * Secrets out of texts a server or the user's code hands back, in every form they take there.
 * Listing forms (the raw secret, `encodeURIComponent`'s) missed the others: percent-encoding in
 * lowercase (`%2f`, which RFC 3986 allows and Go, PHP and some proxies write), a form's encoding
 * (`~` as `%7E`, a space as `+`), a secret encoded twice (`%252F`, a URL inside a URL), JSON's
 * escapes (`\/` as PHP writes every slash, `\\`, `\u002f`), XML's and HTML's character
 * references (`&#x2F;`, `&#47;`, `&amp;`). So each character of a secret matches any of its
 * forms, mixed as they come: one regular expression for all the secrets, longest first. About
 * 20 ms a MB of text, against 1 ms for a plain search: paid on error messages, URLs, and the
 * pages a page cache keeps.
 */

/** A function that replaces every secret of `secrets`, in any of its encodings, with `***`. */
export function redactorOf(secrets: readonly string[]): (text: string) => string {
  const sorted = [...new Set(secrets.filter(Boolean))].sort((a, b) => b.length - a.length);
  if (sorted.length === 0) return (text) => text;
  const any = new RegExp(sorted.map(pattern).join('|'), 'g');
  return (text) => text.replace(any, '***');
}

/** Characters JSON writes as a backslash and a letter. */
const JSON_ESCAPES = new Map([
  ['"', '\\"'],
  ['\\', '\\\\'],
  ['/', '\\/'],
  ['\b', '\\b'],
  ['\f', '\\f'],
  ['\n', '\\n'],
  ['\r', '\\r'],
  ['\t', '\\t'],
]);

/** Characters XML (and HTML) write as a named reference. */
const ENTITIES = new Map([
  ['&', '&amp;'],
  ['<', '&lt;'],
  ['>', '&gt;'],
  ['"', '&quot;'],
  ["'", '&apos;'],
]);

/** The pattern of one secret: each character as itself or any of its encoded forms. */
function pattern(secret: string): string {
  return Array.from(secret, (char) => {
    const forms = [units(char)];
    // Percent-encoded (each UTF-8 byte), in either case, once or twice (`%2F`, `%2f`, `%252F`).
    forms.push([...Buffer.from(char)].map((byte) => `%(?:25)?${hex(byte, 2)}`).join(''));
    if (char === ' ') forms.push('\\+');
    // JSON's escapes: `\"`, `\\`, `\/`, `\n`…, and `\uXXXX`.
    const short = JSON_ESCAPES.get(char);
    if (short) forms.push(units(short));
    if (char.length === 1) forms.push(`\\\\u${hex(char.charCodeAt(0), 4)}`);
    // Character references, as XML and HTML encoders write them in error bodies that are no HTML
    // page (an XML error, a JSON message escaped for a web page): `&#x2F;`, `&#47;`, `&amp;`.
    const code = char.codePointAt(0) ?? 0;
    forms.push(`&#[xX]0*${hex(code, 1)};`, `&#0*${code};`);
    const named = ENTITIES.get(char);
    if (named) forms.push(units(named));
    return `(?:${forms.join('|')})`;
  }).join('');
}

/** Text as `\uXXXX` escapes of its UTF-16 units: never a regular expression's syntax. */
function units(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++)
    out += `\\u${text.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return out;
}

/** A number in hex digits that match either case: 0x2f as `2[fF]`. */
function hex(value: number, width: number): string {
  return value
    .toString(16)
    .padStart(width, '0')
    .replace(/[a-f]/g, (digit) => `[${digit}${digit.toUpperCase()}]`);
}
