import { describe, expect, it } from 'vitest';
import { bundledMigrations, SHIPPED_MIGRATIONS } from '../../src/migrate.js';

describe('shipped migrations', () => {
  it('are listed in SHIPPED_MIGRATIONS, in order, as the files in migrations/ are', async () => {
    // A store made with migrate: false checks the schema against that list without reading the
    // folder: a file added without its name there would let old schemas through.
    const files = (await bundledMigrations()).map((migration) => migration.name);
    expect(SHIPPED_MIGRATIONS).toEqual(files);
  });
});
