import { createServer } from 'node:net';
import { MemoryStorage, memoryStore, openRun, pipeline } from '@checkpointkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GithubRequestError, githubSource } from '../../src/index.js';
import { FIXTURE_TOKEN, type FixtureServer } from '../../src/testing/index.js';
import { collect, memoryLog, recordingSink, startServer } from '../helpers.js';

let server: FixtureServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});

const hello = 'octokit-fixture-org/hello-world';

describe('errors', () => {
  it('retries a burst of 5xx; a burst beyond the retries fails the unit as retryable, and the next run reads on', async () => {
    const baseUrl = await server.load('server-errors');
    const storage = new MemoryStorage();
    const sink = recordingSink();
    const source = { repos: [hello], endpoints: ['issues' as const, 'pulls' as const], perPage: 2 };
    const first = await collect({ server, baseUrl, storage, sink, source });
    expect(first.result).toMatchObject({ completed: 2, failed: 1 });
    expect(first.run.unit(`repos/${hello}/issues`)).toMatchObject({ status: 'complete', done: 4 });
    const pulls = first.run.unit(`repos/${hello}/pulls`);
    expect(pulls).toMatchObject({ status: 'failed', error: { retryable: true } });
    expect(pulls?.error?.message).toMatch(
      /^GET \/repos\/octokit-fixture-org\/hello-world\/pulls\?.*: 500 Server Error$/,
    );
    const second = await collect({ server, baseUrl, storage, sink, source });
    expect(second.result).toMatchObject({ completed: 1, failed: 0 });
    expect(sink.records.filter((r) => r.endpoint === 'pulls')).toHaveLength(1);
    expect(await server.pending(baseUrl)).toEqual([]);
  });

  it('fails 404, 410, 451 and 403 without a rate limit as not retryable, with the reason, and goes on; 409 is an empty repository', async () => {
    const baseUrl = await server.load('not-retryable');
    const storage = new MemoryStorage();
    const source = {
      repos: ['octokit-fixture-org/no-such-repository', hello],
      endpoints: [
        'issues' as const,
        'pulls' as const,
        'issue-comments' as const,
        'commits' as const,
      ],
      perPage: 2,
    };
    const first = await collect({ server, baseUrl, storage, source });
    expect(first.result).toMatchObject({ completed: 2, failed: 4 });
    const error = (key: string) => first.run.unit(key)?.error;
    expect(error('discover/octokit-fixture-org/no-such-repository')).toMatchObject({
      retryable: false,
      message: 'GET /repos/octokit-fixture-org/no-such-repository: 404 Not Found (not retryable)',
    });
    // Programs tell a 404 from a 403 by the structured cause, not by parsing the message.
    expect(error('discover/octokit-fixture-org/no-such-repository')?.cause).toEqual({
      status: 404,
      url: `${baseUrl}/repos/octokit-fixture-org/no-such-repository`,
    });
    expect(error(`repos/${hello}/issue-comments`)?.cause).toMatchObject({ status: 403 });
    expect(error(`repos/${hello}/issues`)).toMatchObject({
      retryable: false,
      message: expect.stringMatching(/: 410 Issues are disabled for this repo \(not retryable\)$/),
    });
    expect(error(`repos/${hello}/pulls`)).toMatchObject({
      retryable: false,
      message: expect.stringMatching(/: 451 Repository access blocked \(not retryable\)$/),
    });
    expect(error(`repos/${hello}/issue-comments`)).toMatchObject({
      retryable: false,
      message: expect.stringMatching(
        /: 403 Resource not accessible by integration \(not retryable\)$/,
      ),
    });
    expect(first.run.unit(`repos/${hello}/commits`)).toMatchObject({
      status: 'complete',
      done: 0,
      error: null,
    });
    expect(await server.pending(baseUrl)).toEqual([]);
    // A later run retries only retryable failures: none here, so no request at all.
    const before = server.requests.length;
    const second = await collect({ server, baseUrl, storage, source });
    expect(second.result).toMatchObject({ completed: 0, failed: 0 });
    expect(server.requests.length).toBe(before);
  });

  it('follows the recorded 301 of a renamed repository, records it, and collects under the new name', async () => {
    const baseUrl = await server.load('rename-repository');
    const log = memoryLog();
    const { result, run, sink } = await collect({
      server,
      baseUrl,
      log,
      source: {
        repos: ['octokit-fixture-org/rename-repository'],
        endpoints: ['issues'],
        perPage: 3,
        params: { issues: {} },
      },
    });
    expect(result).toMatchObject({ completed: 2, failed: 0 });
    expect(Object.keys(run.checkpoint.units)).toEqual([
      'discover/octokit-fixture-org/rename-repository',
      'repos/octokit-fixture-org/rename-repository-newname/issues',
    ]);
    expect(sink.records[0]).toMatchObject({
      repository: 'octokit-fixture-org/rename-repository-newname',
      endpoint: 'repository',
    });
    expect(
      run.checkpoint.meta.user['moved:discover/octokit-fixture-org/rename-repository'],
    ).toEqual({
      from: expect.stringMatching(/\/repos\/octokit-fixture-org\/rename-repository$/),
      to: expect.stringMatching(/\/repositories\/1000$/),
    });
    expect(run.checkpoint.stats['redirects']).toBe(1);
    expect(log.lines.join('\n')).toContain('renamed or transferred');
    expect(await server.pending(baseUrl)).toEqual([]);
  });

  it('follows a redirect of a list request and keeps walking from where GitHub sent it', async () => {
    const baseUrl = await server.load('moved-list');
    const { result, run, sink } = await collect({
      server,
      baseUrl,
      source: { repos: [hello], endpoints: ['issues'], perPage: 2 },
    });
    expect(result).toMatchObject({ completed: 2, failed: 0 });
    expect(sink.records.map((r) => r.endpoint)).toEqual(['repository', 'issues']);
    const cursor = run.unit(`repos/${hello}/issues`)?.cursor as { first: string };
    expect(cursor.first).toContain('/repositories/1000/issues?');
    expect(run.checkpoint.meta.user[`moved:repos/${hello}/issues`]).toBeDefined();
    expect(await server.pending(baseUrl)).toEqual([]);
  });

  it('treats network errors as retryable, after retrying them', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const run = await openRun({ id: 'net', store: memoryStore(), signals: false });
    const source = githubSource({
      auth: FIXTURE_TOKEN,
      baseUrl: `http://127.0.0.1:${port}`,
      repos: [hello],
      endpoints: ['issues'],
      retries: 2,
      retryAfterBaseMs: 1,
      log: memoryLog(),
    });
    const result = await pipeline({ run, source, sink: recordingSink() });
    expect(result).toMatchObject({ failed: 1 });
    const error = run.unit(`discover/${hello}`)?.error;
    expect(error).toMatchObject({ retryable: true });
    expect(error?.message).toMatch(
      /^GET \/repos\/octokit-fixture-org\/hello-world: network error /,
    );
    expect(source.requests).toBe(1);
    await run.close();
  });

  it('gives up an attempt that hangs after the timeout, retries it, then fails the unit as retryable', async () => {
    let attempts = 0;
    const hanging = (_input: unknown, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) => {
        attempts += 1;
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      });
    const run = await openRun({ id: 'hang', store: memoryStore(), signals: false });
    const source = githubSource({
      auth: FIXTURE_TOKEN,
      baseUrl: 'https://github.test',
      fetch: hanging as typeof globalThis.fetch,
      timeout: 20,
      retries: 2,
      retryAfterBaseMs: 1,
      repos: [hello],
      endpoints: ['issues'],
      log: memoryLog(),
    });
    const result = await pipeline({ run, source, sink: recordingSink() });
    expect(result).toMatchObject({ failed: 1 });
    expect(attempts).toBe(3);
    expect(run.unit(`discover/${hello}`)?.error).toMatchObject({
      retryable: true,
      message: expect.stringMatching(
        /^GET \/repos\/octokit-fixture-org\/hello-world: network error .*tim/i,
      ),
    });
    await run.close();
  });

  it('fails a unit whose key is not one of the source, without a request', async () => {
    const run = await openRun({ id: 'keys', store: memoryStore(), signals: false });
    await run.plan(['other/thing']);
    const source = githubSource({
      auth: FIXTURE_TOKEN,
      baseUrl: 'http://127.0.0.1:9',
      repos: [hello],
      endpoints: [],
    });
    const errors: unknown[] = [];
    try {
      for await (const _ of source.read(
        { key: 'other/thing', cursor: null },
        new AbortController().signal,
      )) {
      }
    } catch (error) {
      errors.push(error);
    }
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toContain('not a unit of source-github');
    expect(errors[0]).not.toBeInstanceOf(GithubRequestError);
    await run.close();
  });
});
