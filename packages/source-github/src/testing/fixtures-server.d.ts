// @octokit/fixtures-server ships no types: the part of its API this package uses.
declare module '@octokit/fixtures-server' {
  import type { RequestHandler } from 'express';

  interface FixturesServerOptions {
    fixturesUrl?: string;
    logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'silent';
    ttl?: number;
    fixtures?: Record<string, unknown[]>;
  }

  export default function fixturesServer(options?: FixturesServerOptions): RequestHandler;
}
