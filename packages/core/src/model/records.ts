/**
 * Keys come from users and APIs (`constructor`, `__proto__` are valid unit keys and event ids),
 * so records are read as own properties only and written with defineProperty.
 */
export function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

export function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, {
    value,
    writable: true,
    enumerable: true,
    configurable: true,
  });
}
