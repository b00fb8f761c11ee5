/** Unit keys are paths: `phase/item/sub`. These helpers treat them as a tree. */
export const KEY_SEPARATOR = '/';

export function keyPath(...parts: string[]): string {
  return parts.join(KEY_SEPARATOR);
}

export function keySegments(key: string): string[] {
  return key.split(KEY_SEPARATOR);
}

/** True when `key` is `prefix` itself or lies below it in the tree. */
export function isUnderPrefix(key: string, prefix: string): boolean {
  return (
    key === prefix ||
    key.startsWith(prefix.endsWith(KEY_SEPARATOR) ? prefix : prefix + KEY_SEPARATOR)
  );
}
