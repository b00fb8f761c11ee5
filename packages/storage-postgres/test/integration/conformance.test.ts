import { describeStoreConformance } from '@checkpointkit/core/testing';
import { postgresStore } from '../../src/index.js';
import { databaseUrl, dropSchema, freshSchema } from '../helpers.js';

describeStoreConformance({
  name: 'postgresStore',
  open: () =>
    postgresStore({
      connectionString: databaseUrl(),
      schema: freshSchema('conf'),
      maxConnections: 4,
    }),
  reopen: (store) =>
    postgresStore({
      connectionString: databaseUrl(),
      schema: (store as ReturnType<typeof postgresStore>).schema,
      maxConnections: 4,
    }),
  destroy: (store) => dropSchema((store as ReturnType<typeof postgresStore>).schema),
});
