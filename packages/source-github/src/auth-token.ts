import { credentialFault } from '@checkpointkit/core';
import { GithubSourceConfigError } from './errors.js';

/** The prefix @octokit/auth-token strips from its `auth` before sending it (octokit's convention). */
const OCTOKIT_PREFIX = /^(token|bearer) +/i;

/**
 * Refuses an `auth` token that cannot be sent as given, naming the option and the cause, never
 * the token. One `token ` or `bearer ` prefix is accepted, as octokit accepts it.
 */
export function checkAuthToken(auth: unknown): void {
  if (typeof auth !== 'string' || auth.length === 0) {
    // `auth: process.env.GITHUB_TOKEN!` with the variable unset gives undefined.
    const hint = auth === undefined ? ' (got undefined; an unset environment variable?)' : '';
    throw new GithubSourceConfigError('auth', `must be a non-empty token string${hint}`);
  }
  const bare = auth.replace(OCTOKIT_PREFIX, '');
  if (bare === '' && auth.trim() !== '') {
    const prefix = OCTOKIT_PREFIX.exec(auth)?.[1];
    throw new GithubSourceConfigError('auth', `holds only the "${prefix} " prefix, not the token`);
  }
  const fault = credentialFault(bare, 'token');
  if (fault) throw new GithubSourceConfigError('auth', fault);
}
