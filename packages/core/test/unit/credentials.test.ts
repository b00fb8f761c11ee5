import { describe, expect, it } from 'vitest';
import { credentialFault } from '../../src/index.js';

// The sources' own tests (hostile-secrets) check each option end to end; these pin the rules.
describe('credentialFault', () => {
  const secret = 'ghp_S3cr3tV4lue';

  it('accepts a token, a header value with spaces, a query value and a password as people mean them', () => {
    expect(credentialFault(secret, 'token')).toBeNull();
    expect(credentialFault(`Token ${secret}`, 'header')).toBeNull();
    expect(credentialFault('a/b+c=d é', 'query')).toBeNull();
    expect(credentialFault(' pass word é ', 'password')).toBeNull();
  });

  it.each([
    ['', 'token', /only whitespace/],
    ['  ', 'header', /only whitespace/],
    [`${secret}\n`, 'token', /ends with a line break/],
    [`${secret}\r\n`, 'query', /ends with a line break/],
    [`${secret} `, 'header', /ends with whitespace/],
    [`\t${secret}`, 'token', /starts with whitespace/],
    [`Bearer ${secret}`, 'token', /starts with the scheme "Bearer"/],
    [`authorization: token ${secret}`, 'token', /starts with the scheme "token"/],
    [`ab\u0000${secret}`, 'token', /control character/],
    [`ab\u007f${secret}`, 'header', /control character/],
    [`ab cd${secret}`, 'token', /must not contain whitespace/],
    [`${secret}é`, 'token', /outside printable ASCII/],
    [`${secret}\u200b`, 'header', /outside printable ASCII/],
    [`pass\nword`, 'password', /control character/],
  ] as const)('refuses %j as a %s, never quoting it', (value, kind, reason) => {
    const fault = credentialFault(value, kind);
    expect(fault).toMatch(reason);
    if (value.trim() !== '') expect(fault).not.toContain(value.trim());
    expect(fault).not.toContain(secret);
  });
});
