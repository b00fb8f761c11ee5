import {
  MemoryStorage,
  memoryStore,
  openRun,
  type PipelineResult,
  pipeline,
  type Run,
} from '@checkpointkit/core';
import { describe, expect, it } from 'vitest';
import { type GithubSourceOptions, githubSource } from '../../src/index.js';
import { memoryLog, recordingSink } from '../helpers.js';
import { type Handler, HOSTILE_TOKEN, hostileServers, REPOSITORY, reply } from '../hostile.js';

/**
 * A job stopped (its pipeline's signal aborted, or `run.close()`) while octokit's retry or
 * throttling plugin waits out a rate limit or a 5xx: the plugins wait with timers that know
 * nothing of the signal, so the job went on waiting the whole 10 minutes, then sent the request
 * anyway. Here the waits are real (1000 ms a second, 600 s asked): a test that waited fails on
 * its own timeout long before.
 */

const start = hostileServers();
const unit = 'repos/acme/api/issues';
/** Far below the 600 s every scenario asks for; the test fails on it if a wait is not stopped. */
const TIMEOUT_MS = 20_000;

/** The issues list answers every request with `answer`; `lists()` counts those requests. */
async function waitingServer(answer: Handler) {
  let lists = 0;
  let answered: () => void = () => {};
  const first = new Promise<void>((resolve) => {
    answered = resolve;
  });
  const api = await start(async (request, response, path) => {
    if (path === '/repos/acme/api') return reply(response, REPOSITORY);
    lists += 1;
    await answer(request, response, path);
    answered();
  });
  return { api, lists: () => lists, first };
}

/**
 * Collects until the source waits (the plugin logged "waiting", or `when` resolved), then stops
 * the job as `how` says, and returns what the pipeline and the run say.
 */
async function stopWhileWaiting(
  baseUrl: string,
  how: 'signal' | 'close',
  over: Partial<GithubSourceOptions> = {},
  when?: Promise<void>,
): Promise<{ result: PipelineResult; run: Run; elapsed: number; lines: string[] }> {
  const run = await openRun({
    id: 'waits',
    store: memoryStore(new MemoryStorage()),
    signals: false,
  });
  const log = memoryLog();
  const waiting =
    when ??
    new Promise<void>((resolve) => {
      const warn = log.warn;
      log.warn = (message, ...rest) => {
        warn(message, ...rest);
        if (/waiting \d+ s/.test(message)) resolve();
      };
    });
  const source = githubSource({
    auth: HOSTILE_TOKEN,
    baseUrl,
    log,
    endpoints: ['issues'],
    repos: ['acme/api'],
    perPage: 2,
    ...over,
  } as GithubSourceOptions);
  const stop = new AbortController();
  const started = Date.now();
  const collecting = pipeline({
    run,
    source,
    sink: recordingSink(),
    signal: AbortSignal.any([source.signal, stop.signal]),
  });
  // The plugins log "waiting" in the same tick as the wait begins.
  await waiting;
  if (how === 'close') await run.close();
  else stop.abort(new Error('stopped by the test'));
  const result = await collecting;
  await run.close();
  return { result, run, elapsed: Date.now() - started, lines: log.lines };
}

/** Stopped, not failed: the unit is left to the next run, with no error recorded. */
function expectStoppedNotFailed(result: PipelineResult, run: Run, elapsed: number): void {
  expect(result).toMatchObject({ aborted: true, failed: 0 });
  expect(run.unit(unit)?.error ?? null).toBeNull();
  expect(run.unit(unit)?.status).not.toBe('failed');
  expect(run.unit(unit)?.status).not.toBe('completed');
  // Did not wait the 600 s asked (nor anything near it).
  expect(elapsed).toBeLessThan(60_000);
}

describe('a job stopped during a wait', () => {
  it(
    'of a secondary rate limit ends the wait and sends nothing more',
    async () => {
      const { api, lists } = await waitingServer((_request, response) =>
        reply(
          response,
          { message: 'You have exceeded a secondary rate limit. Please wait a few minutes.' },
          { 'retry-after': '600' },
          403,
        ),
      );
      const { result, run, elapsed, lines } = await stopWhileWaiting(api.url, 'signal');
      expect(lines.join('\n')).toMatch(/secondary rate limit on GET .*: waiting 600 s/);
      expectStoppedNotFailed(result, run, elapsed);
      expect(lists()).toBe(1);
    },
    TIMEOUT_MS,
  );

  it(
    "for a primary limit's reset ends at run.close()",
    async () => {
      const { api, lists } = await waitingServer((_request, response) =>
        reply(
          response,
          { message: 'API rate limit exceeded' },
          {
            'x-ratelimit-remaining': '0',
            'x-ratelimit-limit': '5000',
            'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 600),
          },
          403,
        ),
      );
      const { result, run, elapsed, lines } = await stopWhileWaiting(api.url, 'close');
      expect(lines.join('\n')).toMatch(/rate limit exhausted on GET .*: waiting 60\d s/);
      expectStoppedNotFailed(result, run, elapsed);
      expect(lists()).toBe(1);
    },
    TIMEOUT_MS,
  );

  it(
    "for a 5xx's retry-after (the retry plugin's) ends the wait",
    async () => {
      const { api, lists } = await waitingServer((_request, response) =>
        reply(response, { message: 'Service Unavailable' }, { 'retry-after': '600' }, 503),
      );
      const { result, run, elapsed, lines } = await stopWhileWaiting(api.url, 'signal');
      expect(lines.join('\n')).toMatch(/503 on GET .*: waiting 600 s/);
      expectStoppedNotFailed(result, run, elapsed);
      expect(lists()).toBe(1);
    },
    TIMEOUT_MS,
  );

  it(
    "of the retry plugin's own backoff ends at run.close()",
    async () => {
      const { api, lists, first } = await waitingServer((_request, response) =>
        reply(response, { message: 'Server Error' }, {}, 500),
      );
      // The first backoff is 1 "second": 600 s at 600000 ms a second.
      const { result, run, elapsed } = await stopWhileWaiting(
        api.url,
        'close',
        { retryAfterBaseMs: 600_000 },
        first,
      );
      expectStoppedNotFailed(result, run, elapsed);
      expect(lists()).toBe(1);
    },
    TIMEOUT_MS,
  );
});
