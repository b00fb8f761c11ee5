import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The PostgreSQL server of this test run (a throwaway cluster, or DATABASE_URL). */
    databaseUrl: string;
  }
}
