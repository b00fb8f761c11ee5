const UNITS: Array<[limit: number, size: number, suffix: string]> = [
  [60, 1, 's'],
  [3600, 60, 'm'],
  [86_400, 3600, 'h'],
  [Number.POSITIVE_INFINITY, 86_400, 'd'],
];

/** How long ago an ISO time was, coarsely: `12s ago`, `5m ago`, `3h ago`, `4d ago`. */
export function age(iso: string, now: number = Date.now()): string {
  const seconds = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  for (const [limit, size, suffix] of UNITS) {
    if (seconds < limit) return `${Math.floor(seconds / size)}${suffix} ago`;
  }
  return iso;
}

/** An ISO time to the second, in UTC: `2025-01-02 03:04:05Z`. */
export function dateTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}
