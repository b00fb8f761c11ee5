import { quoteIdentifier, validateSchemaName } from './identifiers.js';

/** The store's tables, qualified with the quoted schema, ready to put into SQL text. */
export interface Tables {
  /** The schema name as given. */
  readonly name: string;
  /** The schema, quoted. */
  readonly schema: string;
  readonly checkpoints: string;
  readonly units: string;
  readonly idMaps: string;
  readonly counters: string;
  readonly sessions: string;
  readonly flushes: string;
}

export function tables(name: string): Tables {
  const schema = quoteIdentifier(validateSchemaName(name));
  return {
    name,
    schema,
    checkpoints: `${schema}.checkpoints`,
    units: `${schema}.units`,
    idMaps: `${schema}.id_maps`,
    counters: `${schema}.counters`,
    sessions: `${schema}.sessions`,
    flushes: `${schema}.flushes`,
  };
}
