/**
 * Unit keys and id map names come from users and APIs: `__proto__` is a key like any other. A
 * plain assignment for every other key, which is the fast path at a million units.
 */
export function setKey<T>(record: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__')
    Object.defineProperty(record, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  else record[key] = value;
}
