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
