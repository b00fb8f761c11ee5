/**
 * A header's text as the server meant it. undici reads header bytes as Latin-1, as fetch does,
 * but Python, Go and Rails servers write a `Link` or `Location` holding a unicode cursor or path as
 * raw UTF-8: read as Latin-1, "café" became "cafÃ©", and the next page was asked for with
 * another cursor. Browsers read a Location as UTF-8 for the same reason.
 */
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The value read as UTF-8 when its bytes are UTF-8; else as it came (Latin-1 or plain ASCII). */
export function headerText(value: string): string {
  // Only bytes above 0x7f can differ, and only a header of bytes (chars up to 0xff) was read so.
  if (!/[\u0080-\u00ff]/.test(value) || /[\u0100-\uffff]/.test(value)) return value;
  try {
    return utf8.decode(Buffer.from(value, 'latin1'));
  } catch {
    return value;
  }
}
