import { AuthenticationError } from '@checkpointkit/core';
import { describe, expect, it } from 'vitest';
import { redactingLog, redactor } from '../../src/client.js';
import { classifyFailure, GithubAuthenticationError, type HttpFailure } from '../../src/errors.js';

const now = new Date('2024-05-01T10:00:00Z');
const failure = (
  status: number,
  message: string,
  headers: Record<string, string> = {},
): HttpFailure => ({
  status,
  message,
  response: {
    headers: { 'x-ratelimit-remaining': '4000', 'x-ratelimit-limit': '5000', ...headers },
    data: { message },
  },
});
const classify = (f: HttpFailure) =>
  classifyFailure(f, 'GET /repos/acme/api/issues', now, (t) => t);

describe('classifyFailure', () => {
  it.each([
    [404, 'Not Found'],
    [410, 'Issues are disabled for this repo'],
    [451, 'Repository access blocked'],
    [403, 'Resource not accessible by integration'],
    [422, 'Validation Failed'],
  ])('fails %i for good, with the reason', (status, message) => {
    const outcome = classify(failure(status, message));
    expect(outcome.kind).toBe('failed');
    if (outcome.kind !== 'failed') return;
    expect(outcome.error.retryable).toBe(false);
    expect(outcome.error.message).toBe(
      `GET /repos/acme/api/issues: ${status} ${message} (not retryable)`,
    );
  });

  it('stops the run on 401 with an AuthenticationError that says what to fix', () => {
    const outcome = classify(failure(401, 'Bad credentials'));
    expect(outcome.kind).toBe('unauthorized');
    if (outcome.kind !== 'unauthorized') return;
    expect(outcome.error).toBeInstanceOf(GithubAuthenticationError);
    expect(outcome.error).toBeInstanceOf(AuthenticationError);
    expect(outcome.error.message).toMatch(
      /^GitHub refused the credentials \(401 Bad credentials at GET \/repos\/acme\/api\/issues\): check the token given as `auth`/,
    );
  });

  it('keeps status and the decoded URL as the structured cause; a body without a message reads as the status name', () => {
    const url = 'https://api.github.com/repos/acme/caf%C3%A9%20bar/issues?per_page=2';
    const bare: HttpFailure = {
      status: 404,
      message: 'Unknown error: {"documentation_url":"https://docs.github.com/rest"}',
      response: { headers: {}, data: { documentation_url: 'https://docs.github.com/rest' } },
    };
    const outcome = classifyFailure(bare, 'GET /repos/acme/café bar/issues', now, (t) => t, url);
    expect(outcome.kind).toBe('failed');
    if (outcome.kind !== 'failed') return;
    expect(outcome.error.message).toBe(
      'GET /repos/acme/café bar/issues: 404 Not Found (not retryable)',
    );
    expect(outcome.error.failureCause).toEqual({
      status: 404,
      url: 'https://api.github.com/repos/acme/café bar/issues?per_page=2',
    });
  });

  it.each([500, 502, 503, 504])('retries %i later', (status) => {
    const outcome = classify(failure(status, 'Server Error'));
    expect(outcome.kind === 'failed' && outcome.error.retryable).toBe(true);
  });

  it('calls a failure without a response a network error, retryable', () => {
    const outcome = classify({ status: 500, message: 'connect ECONNREFUSED 127.0.0.1:9' });
    expect(outcome.kind === 'failed' && outcome.error.message).toBe(
      'GET /repos/acme/api/issues: network error connect ECONNREFUSED 127.0.0.1:9',
    );
  });

  it('tells secondary limits (403 or 429) from the exhausted primary limit', () => {
    const secondary = classify(failure(403, 'You have exceeded a secondary rate limit.'));
    expect(secondary.kind === 'failed' && secondary.error.retryable).toBe(true);
    const tooMany = classify(failure(429, 'Too many requests'));
    expect(tooMany.kind === 'failed' && tooMany.error.retryable).toBe(true);
    const primary = classify(
      failure(403, 'API rate limit exceeded', {
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': '1714573920',
      }),
    );
    expect(primary.kind).toBe('rate-limit-exhausted');
    if (primary.kind === 'rate-limit-exhausted') {
      expect(primary.error.message).toBe(
        'GitHub rate limit exhausted (core: 0 of 5000 left) at GET /repos/acme/api/issues: resume after 14:32 UTC',
      );
      expect(primary.error.retryable).toBe(true);
    }
  });

  it('reads 304 as unchanged and 409 as an empty repository', () => {
    expect(classify(failure(304, 'Not modified')).kind).toBe('not-modified');
    expect(classify(failure(409, 'Git Repository is empty.')).kind).toBe('empty-repository');
  });

  it('redacts before it clips, so no part of a token survives in a long message', () => {
    const token = 'ghp_0123456789abcdefghijklmnopqrstuvwxyz';
    const echoed = `${'x'.repeat(480)} authorization: token ${token}`;
    const outcome = classifyFailure(failure(404, echoed), 'GET /x', now, redactor(token));
    expect(outcome.kind === 'failed' && outcome.error.message).not.toMatch(/ghp_/);
  });
});

describe('redaction', () => {
  it('keeps the token out of every log line and its arguments', () => {
    const token = 'ghp_secret';
    const lines: unknown[][] = [];
    const keep = (...args: unknown[]) => void lines.push(args);
    const log = redactingLog({ debug: keep, info: keep, warn: keep, error: keep }, token);
    log.warn(
      `token ${token} in a message`,
      new Error(`and ${token} in an error`),
      { token },
      token,
    );
    expect(JSON.stringify(lines)).not.toContain(token);
    expect(lines[0]?.[0]).toBe('token [REDACTED] in a message');
  });
});
