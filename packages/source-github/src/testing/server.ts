import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import express, { type RequestHandler } from 'express';
import { type Fixture, resolveTemplates, withToken } from './scenario.js';

/** A path no scenario holds: asking for it tells what a loaded scenario still expects. */
const PROBE = '/__checkpointkit_probe__';

/** The part of @octokit/fixtures-server's API used here (it ships no types). */
interface FixturesServerOptions {
  fixturesUrl: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  ttl: number;
  fixtures: Record<string, unknown[]>;
}

async function loadFixturesServer(): Promise<(options: FixturesServerOptions) => RequestHandler> {
  const specifier: string = '@octokit/fixtures-server';
  const module = (await import(specifier)) as {
    default: (options: FixturesServerOptions) => RequestHandler;
  };
  return module.default;
}

let open = 0;

/**
 * The fixture server keeps loaded scenarios in cachimo, whose expiry timers outlive their
 * scenarios and would keep the process alive: clear them when the last server closes.
 */
function clearExpiryTimers(): void {
  const require = createRequire(createRequire(import.meta.url).resolve('@octokit/fixtures-server'));
  (require('cachimo') as { clear(): number }).clear();
}

/** A request the server received, in order. */
export interface ServedRequest {
  method: string;
  /** The path below the scenario's root: `/repos/acme/api/issues?per_page=100`. */
  path: string;
  status: number;
  /** The id of the loaded scenario it went to. */
  scenario: string;
}

export interface FixtureServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Every request to a loaded scenario, in order. */
  readonly requests: ServedRequest[];
  /**
   * Loads a scenario and returns the API root to give octokit as `baseUrl`. Each load is fresh:
   * its requests must come in the recorded order, and a request out of order (a page fetched
   * again, a page skipped) is answered with a 404 that names the request expected.
   */
  load(name: string, options?: { token?: string; now?: Date }): Promise<string>;
  /** The requests of a loaded scenario not made yet (empty when all were made). */
  pending(baseUrl: string): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * Starts @octokit/fixtures-server on 127.0.0.1 (a free port) with these scenarios. Scenarios
 * are @octokit/fixtures' normalized-fixture.json arrays; header values may hold `{{now+N}}`.
 */
export async function startFixtureServer(options: {
  scenarios: Record<string, readonly Fixture[]>;
  /** How long a loaded scenario lives, in ms. Default 10 minutes. */
  ttl?: number;
}): Promise<FixtureServer> {
  const fixturesServer = await loadFixturesServer();
  const app = express();
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const requests: ServedRequest[] = [];
  app.use((request, response, next) => {
    const match = /^\/api\.github\.com\/([^/]+)(\/.*)?$/.exec(request.originalUrl);
    if (match && !match[2]?.startsWith(PROBE)) {
      response.on('finish', () => {
        requests.push({
          method: request.method,
          path: match[2] ?? '/',
          status: response.statusCode,
          scenario: match[1] as string,
        });
      });
    }
    next();
  });
  // The middleware reads scenarios from this object when one is loaded: templates and tokens are
  // filled in per load under a name of their own.
  const fixtures: Record<string, Fixture[]> = {};
  for (const [name, scenario] of Object.entries(options.scenarios)) fixtures[name] = [...scenario];
  app.use(
    fixturesServer({ fixturesUrl: url, logLevel: 'silent', ttl: options.ttl ?? 600_000, fixtures }),
  );
  let loads = 0;
  open += 1;

  return {
    url,
    requests,
    async load(name, loadOptions = {}) {
      const scenario = options.scenarios[name];
      if (!scenario) throw new Error(`fixture server: no scenario "${name}"`);
      let resolved = resolveTemplates(scenario, loadOptions.now ?? new Date());
      if (loadOptions.token) resolved = withToken(resolved, loadOptions.token);
      const loadName = `${name}#${++loads}`;
      fixtures[loadName] = resolved;
      const response = await fetch(`${url}/fixtures`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ scenario: loadName }),
      });
      if (!response.ok)
        throw new Error(`fixture server: loading "${name}" failed: ${await response.text()}`);
      return ((await response.json()) as { url: string }).url;
    },
    async pending(baseUrl) {
      const response = await fetch(`${baseUrl}${PROBE}`, {
        headers: { accept: 'application/json' },
      });
      const body = (await response.json()) as { error?: string; detail?: { pending?: string[] } };
      if (/^Fixture ".*" not found$/.test(body.error ?? '')) return [];
      return body.detail?.pending ?? [`unexpected probe answer: ${JSON.stringify(body)}`];
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
        if (--open === 0) clearExpiryTimers();
      }),
  };
}
