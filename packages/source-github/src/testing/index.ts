/**
 * Test helpers: GitHub's REST API as recorded by @octokit/fixtures, served on 127.0.0.1 by
 * @octokit/fixtures-server (install both, and express, to use this entry).
 */

export { digest, type RecordOptions, ScenarioRecorder } from './recorder.js';
export {
  FIXTURE_TOKEN,
  type Fixture,
  readScenario,
  recordedScenario,
  resolveTemplates,
  withToken,
} from './scenario.js';
export { type FixtureServer, type ServedRequest, startFixtureServer } from './server.js';
