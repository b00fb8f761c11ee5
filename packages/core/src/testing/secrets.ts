/**
 * What `make` threw, to look at an error a constructor or an option check throws synchronously;
 * throws itself when `make` threw nothing, so a test that expected a refusal fails.
 */
export function thrownBy(make: () => unknown): Error {
  try {
    make();
  } catch (error) {
    return error as Error;
  }
  throw new Error('nothing was thrown');
}

/**
 * Every text an error shows when it is logged, printed or serialized: its message, its stack, its
 * own fields as JSON and its `String()`, and the same of each error in its `cause` chain (a thrown
 * non-Error ends the chain as its `String()`). For tests asserting that a secret is in none of
 * them: `expect(errorTexts(error).some((text) => text.includes(token))).toBe(false)`.
 */
export function errorTexts(error: unknown): string[] {
  const texts: string[] = [];
  for (let e = error, depth = 0; e !== undefined && depth < 10; depth++) {
    if (!(e instanceof Error)) {
      texts.push(String(e));
      break;
    }
    texts.push(e.message, String(e.stack), JSON.stringify({ ...e }), String(e));
    e = e.cause;
  }
  return texts;
}

/** A case of {@link pastedTokens}: what it is, the credential, the cause the refusal must name. */
export type PastedToken = readonly [what: string, value: string, cause: RegExp];

/**
 * `secret` as people paste it, each with the cause `credentialFault` names for it, for a source's
 * tests that its credential options refuse them: `padded` (a file's newline, a CRLF, spaces or a
 * tab around it) and `unsendable` (a character no HTTP header carries as typed: control
 * characters, an accent, an emoji, invisible and curly characters from a copy-paste).
 */
export function pastedTokens(secret: string): {
  padded: PastedToken[];
  unsendable: PastedToken[];
} {
  const inside = (char: string) => `${secret.slice(0, 10)}${char}${secret.slice(10)}`;
  return {
    padded: [
      ['a token file read with its newline', `${secret}\n`, /ends with a line break/],
      ['a .env line saved with CRLF', `${secret}\r\n`, /ends with a line break/],
      ['a lone "\\r" left by a CRLF split on "\\n"', `${secret}\r`, /ends with a line break/],
      ['trailing spaces', `${secret}  `, /ends with whitespace/],
      ['a leading tab', `\t${secret}`, /starts with whitespace/],
    ],
    unsendable: [
      ['a NUL', inside('\u0000'), /control character/],
      ['a DEL', `${secret}\u007f`, /control character/],
      ['an accent (Latin-1)', `${secret}é`, /outside printable ASCII/],
      ['an emoji', `${secret}🔑`, /outside printable ASCII/],
      ['a non-breaking space', `${secret}\u00a0`, /outside printable ASCII/],
      ['a zero-width space', `\u200b${secret}`, /outside printable ASCII/],
      ['a byte-order mark', `\ufeff${secret}`, /outside printable ASCII/],
      ['a curly quote', `“${secret}”`, /outside printable ASCII/],
    ],
  };
}
