/**
 * A snapshot's id maps: kept as JSON objects in the body's last field, and parsed when first used
 * rather than at open (see {@link deferIdMaps}).
 */
import type { Checkpoint, MappedId } from '@checkpointkit/core';
import { z } from 'zod';
import { describeIssues } from './bytes.js';
import { CheckpointFileError } from './errors.js';
import { jsonFailure } from './json-error.js';
import { setKey } from './records.js';

const MapObject = z.custom<Record<string, MappedId>>(
  (value) => value !== null && typeof value === 'object' && !Array.isArray(value),
  'expected an object',
);

export const IdMapsSchema = z.array(z.tuple([z.string().min(1), MapObject]));

/** Where the units end and the id maps (the body's last field) begin. */
const ID_MAPS_FIELD = Buffer.from('},"idMaps":');

/**
 * Splits a body into its head (everything but the id maps, which become `[]`) and the id maps'
 * JSON (a copy, so the file's buffer can go). The last match is the field: the same text in a
 * cursor comes before it, and inside the maps (strings and numbers only) any quote is escaped.
 * Null when there are no maps to defer.
 */
export function splitIdMaps(data: Buffer): { head: string; idMaps: Buffer } | null {
  const at = data.lastIndexOf(ID_MAPS_FIELD);
  if (at < 0 || data[data.length - 1] !== 0x7d /* } */) return null;
  const idMaps = Buffer.from(data.subarray(at + ID_MAPS_FIELD.length, data.length - 1));
  // `[]` needs no deferring: read it whole with the rest.
  if (idMaps.length <= 2) return null;
  return { head: `${data.toString('utf8', 0, at + ID_MAPS_FIELD.length)}[]}`, idMaps };
}

/**
 * Id maps are parsed when first used, not at open: at a million mappings they are half of a
 * snapshot's parse, and a job that only resumes its units never needs them. `checkpoint.idMaps`
 * is an accessor until then, which replaces itself with the parsed record (structuredClone,
 * JSON.stringify and the reducer all go through it). The bytes were checked with the crc32.
 */
export function deferIdMaps(checkpoint: Checkpoint, json: Buffer, file: string): void {
  const settle = (value: Checkpoint['idMaps']) => {
    Object.defineProperty(checkpoint, 'idMaps', {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
    return value;
  };
  Object.defineProperty(checkpoint, 'idMaps', {
    enumerable: true,
    configurable: true,
    get: () => settle(parseIdMaps(json, file)),
    set: settle,
  });
}

function parseIdMaps(json: Buffer, file: string): Checkpoint['idMaps'] {
  let raw: unknown;
  try {
    raw = JSON.parse(json.toString('utf8'));
  } catch (error) {
    throw new CheckpointFileError(
      file,
      'json',
      `the snapshot's idMaps are not JSON (${jsonFailure(error)})`,
      2,
    );
  }
  const maps = IdMapsSchema.safeParse(raw);
  if (!maps.success)
    throw new CheckpointFileError(
      file,
      'schema',
      `bad snapshot body: idMaps: ${describeIssues(maps.error.issues)}`,
      2,
    );
  return idMapsRecord(maps.data, file);
}

/**
 * Id maps are kept as JSON objects, which JSON.parse builds faster than any loop could. Their
 * targets are not checked one by one: they were checked (ChangeSchema) before they were written,
 * and the crc32 proves these are the bytes written.
 */
export function idMapsRecord(
  entries: readonly (readonly [string, Record<string, MappedId>])[],
  file: string,
): Checkpoint['idMaps'] {
  const idMaps: Record<string, Record<string, MappedId>> = {};
  for (const [name, map] of entries) {
    if (Object.hasOwn(idMaps, name)) {
      throw new CheckpointFileError(
        file,
        'schema',
        `bad snapshot body: id map "${name}" appears twice`,
        2,
      );
    }
    setKey(idMaps, name, map);
  }
  return idMaps;
}
