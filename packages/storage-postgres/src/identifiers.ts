import { SchemaNameError } from './errors.js';

/** The schema the store uses when none is given. */
export const DEFAULT_SCHEMA = 'checkpointkit';

/**
 * Schemas the store refuses to fill: PostgreSQL's own, which dumps leave out, and `public`,
 * where an application's own tables (`units`, `sessions`...) live.
 */
const SHARED_SCHEMAS = new Map([
  [
    'information_schema',
    "it is PostgreSQL's own schema (pg_dump leaves it out): choose a schema of the store's own",
  ],
  [
    'public',
    "it is the database's shared default schema, where other tables named like the store's may live: choose a schema of the store's own",
  ],
]);

const IDENTIFIER = /^[\p{L}_][\p{L}\p{N}_]*$/u;
const MAX_IDENTIFIER_BYTES = 63;

/**
 * Checks a schema name: letters (any script), digits and underscores, not starting with a digit,
 * at most 63 bytes (PostgreSQL's limit, which would silently truncate it), and not `pg_*` (kept
 * for the system). Returns the name; it is still always quoted when used.
 */
export function validateSchemaName(name: unknown): string {
  if (typeof name !== 'string') throw new SchemaNameError(String(name), 'it must be a string');
  if (name.length === 0) throw new SchemaNameError(name, 'it is empty');
  if (!IDENTIFIER.test(name)) {
    throw new SchemaNameError(
      name,
      'use letters, digits and underscores, starting with a letter or underscore',
    );
  }
  if (Buffer.byteLength(name, 'utf8') > MAX_IDENTIFIER_BYTES) {
    throw new SchemaNameError(name, `it is longer than ${MAX_IDENTIFIER_BYTES} bytes`);
  }
  if (name.toLowerCase().startsWith('pg_')) {
    throw new SchemaNameError(name, 'names starting with pg_ are reserved for PostgreSQL');
  }
  if (SHARED_SCHEMAS.has(name.toLowerCase())) {
    throw new SchemaNameError(name, SHARED_SCHEMAS.get(name.toLowerCase())!);
  }
  return name;
}

/** Quotes an identifier for SQL: wrapped in double quotes, inner double quotes doubled. */
export function quoteIdentifier(name: string): string {
  if (name.includes('\u0000')) throw new SchemaNameError(name, 'it contains a NUL character');
  return `"${name.replaceAll('"', '""')}"`;
}
