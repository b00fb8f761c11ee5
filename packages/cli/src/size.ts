import { InvalidArgumentError, Option } from 'commander';

/** Checkpoint files larger than this are not read unless `--max-size` allows it. */
export const DEFAULT_MAX_SIZE = 64 * 1024 * 1024;

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `--max-size`: bytes, or a number with K, M or G (KiB, MiB, GiB; `64M`, `1.5g`, `512KiB`). */
export function parseSize(value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?\s*$/i.exec(value);
  const bytes = match ? Number(match[1]) * (UNITS[match[2]!.toLowerCase()] ?? 1) : Number.NaN;
  if (!Number.isFinite(bytes) || bytes < 1) {
    throw new InvalidArgumentError('expected a size such as 64M, 1G or 500000 (bytes)');
  }
  return Math.floor(bytes);
}

/** `200.0 MiB`, `12.0 KiB`, `300 bytes`. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const [unit, size] =
    bytes >= 1024 ** 3
      ? ['GiB', 1024 ** 3]
      : bytes >= 1024 ** 2
        ? ['MiB', 1024 ** 2]
        : ['KiB', 1024];
  return `${(bytes / size).toFixed(1)} ${unit}`;
}

/** `--max-size <size>` of the verbs that read checkpoint files. */
export function maxSizeOption(): Option {
  return new Option(
    '--max-size <size>',
    'largest checkpoint file to read: bytes, or with K, M or G (default: 64M)',
  ).argParser(parseSize);
}
