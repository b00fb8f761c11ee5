import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** One recorded request and its response, in @octokit/fixtures' normalized-fixture.json format. */
export interface Fixture {
  scope: string;
  method: string;
  path: string;
  body?: unknown;
  status: number;
  reqheaders: Record<string, string | number>;
  responseIsBinary: boolean;
  headers: Record<string, string | number>;
  response: unknown;
}

/** The token every recorded scenario expects (`Authorization: token 000…001`). */
export const FIXTURE_TOKEN = '0000000000000000000000000000000000000001';

/** A scenario file: a JSON array of {@link Fixture}s. */
export function readScenario(file: string | URL): Fixture[] {
  const fixtures = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  if (!Array.isArray(fixtures))
    throw new TypeError(`${String(file)}: a scenario is a JSON array of fixtures`);
  return fixtures as Fixture[];
}

/** A scenario GitHub's own traffic recorded, from @octokit/fixtures (`paginate-issues`, `errors`...). */
export function recordedScenario(name: string): Fixture[] {
  const require = createRequire(import.meta.url);
  return readScenario(
    require.resolve(`@octokit/fixtures/scenarios/api.github.com/${name}/normalized-fixture.json`),
  );
}

/**
 * Fills the time templates of a scenario's headers, so a recording can say "the limit resets in
 * 30 seconds": `{{now+30}}` and `{{now-5}}` become epoch seconds from `now`.
 */
export function resolveTemplates(fixtures: readonly Fixture[], now: Date): Fixture[] {
  const seconds = Math.floor(now.getTime() / 1000);
  const fill = (value: string | number) =>
    typeof value === 'string'
      ? value.replace(/\{\{now([+-]\d+)?\}\}/g, (_, offset: string | undefined) =>
          String(seconds + Number(offset ?? 0)),
        )
      : value;
  return fixtures.map((fixture) => ({
    ...fixture,
    headers: Object.fromEntries(
      Object.entries(fixture.headers).map(([name, value]) => [name, fill(value)]),
    ),
  }));
}

/** The same scenario, expecting another token in the Authorization header. */
export function withToken(fixtures: readonly Fixture[], token: string): Fixture[] {
  return fixtures.map((fixture) => ({
    ...fixture,
    reqheaders: { ...fixture.reqheaders, authorization: `token ${token}` },
  }));
}
