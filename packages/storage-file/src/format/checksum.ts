import { crc32 } from 'node:zlib';

/** crc32 of some bytes (optionally continuing `previous`), as 8 lower-case hex digits. */
export function crc32Hex(data: Uint8Array | string, previous?: string): string {
  const start = previous === undefined ? 0 : Number.parseInt(previous, 16);
  return crc32(data, start).toString(16).padStart(8, '0');
}

export const CRC_PATTERN = /^[0-9a-f]{8}$/;
