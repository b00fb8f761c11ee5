/**
 * `now().toISOString()`, formatted once per millisecond: every change a run records carries its
 * time, and formatting a date costs close to a microsecond, a real share of a fast page's
 * overhead. Pages that arrive within the same millisecond share the string.
 */
export function isoClock(now: () => Date): () => string {
  let ms = Number.NaN;
  let iso = '';
  return () => {
    const date = now();
    const time = date.getTime();
    if (time !== ms) {
      ms = time;
      iso = date.toISOString();
    }
    return iso;
  };
}
