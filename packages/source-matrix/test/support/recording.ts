/**
 * The exchanges recorded from a real Synapse 1.67 homeserver (test/fixtures/matrix-recordings, a
 * copy of the project's recordings; tokens scrubbed to `<token>`).
 */
import { readFileSync } from 'node:fs';
import type { Recording } from '../../src/testing/index.js';

export { RECORDED_TOKEN, recordedRoom } from '../../src/testing/index.js';

export function loadRecording(): Recording {
  const file = new URL('../fixtures/matrix-recordings/synapse-1.67-smoke.json', import.meta.url);
  return JSON.parse(readFileSync(file, 'utf8')) as Recording;
}
