/**
 * What went wrong in a `JSON.parse`, without the text the engine quotes around it (V8: `Unexpected
 * token 'x', "xsecret..." is not valid JSON`): that text is the file's content, which may be
 * binary (control characters reach the terminal) or a secret. Keeps the kind and the position.
 */
export function jsonFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message
    .replace(/, ".*" is not valid JSON$/s, '')
    .replace(/^Unexpected token .*?(?=$| in JSON at)/s, 'unexpected character')
    .replace(/"[^"]*"|'[^']*'/g, '…')
    .replace(/[^\x20-\x7e]/g, '?')
    .replace(/^\w/, (first) => first.toLowerCase());
}
