/**
 * How the store sorts what the server answers: what passes is retried (within the retry bound),
 * what no wait fixes is a DatabaseRefusedError that stops the run, and a data or integrity error
 * of a statement stays the failure of the unit whose values it came from.
 */
import { describe, expect, it } from 'vitest';
import { DatabaseRefusedError, describeCause, refusal } from '../../src/errors.js';
import { isConnectionError, isTransient, reasonOf } from '../../src/retry.js';

/** An error as pg makes it from the server's ErrorResponse. */
const fromServer = (code: string, message = `server says ${code}`) =>
  Object.assign(new Error(message), { severity: 'ERROR', code });

describe('sorting what the server answers', () => {
  it.each([
    ['25006', 'read-only'],
    ['55P03', 'lock_timeout'],
    ['57014', 'statement_timeout'],
    ['53300', 'too many connections'],
    ['53100', 'disk full'],
    ['40001', 'serialization failure'],
    ['40P01', 'deadlock'],
  ])('retries %s (%s), and never takes it for a refusal', (code) => {
    expect(isTransient(fromServer(code))).toBe(true);
  });

  it.each([
    ['42501', 'a privilege revoked'],
    ['42P01', 'a table dropped or renamed'],
    ['42703', 'a column dropped or renamed'],
    ['28000', 'a role that may not log in'],
    ['3D000', 'a database that is gone'],
    ['XX000', "the server's own failure"],
  ])('stops the run on %s (%s) with a DatabaseRefusedError, at once', (code) => {
    const error = fromServer(code);
    expect(isTransient(error)).toBe(false);
    const refused = refusal(error, 'checkpoint "x": saving in schema "s"');
    expect(refused).toBeInstanceOf(DatabaseRefusedError);
    expect(refused).toMatchObject({ sqlstate: code, storeUnavailable: true, cause: error });
    expect((refused as Error).message).toBe(
      `checkpoint "x": saving in schema "s": the server refused it: ${describeCause(error)}`,
    );
  });

  it.each([
    ['22P02', 'a value of the wrong form'],
    ['23505', 'a unique violation'],
    ['23502', 'a null where none may be'],
    ['25P02', 'a transaction a failed statement aborted'],
  ])('leaves %s (%s) to the unit: neither retried nor a refusal', (code) => {
    const error = fromServer(code);
    expect(isTransient(error)).toBe(false);
    expect(refusal(error, 'saving')).toBe(error);
  });

  it('takes only errors the server sent for its refusals, not a network error or a code alone', () => {
    const network = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
    const codeOnly = Object.assign(new Error('not from the server'), { code: '42501' });
    expect(refusal(network, 'saving')).toBe(network);
    expect(refusal(codeOnly, 'saving')).toBe(codeOnly);
    expect(describeCause(network)).toBe('write EPIPE');
  });

  it('says what a SQLSTATE most likely means, after the server’s own words', () => {
    expect(
      describeCause(fromServer('25006', 'cannot execute INSERT in a read-only transaction')),
    ).toMatch(
      /^cannot execute INSERT in a read-only transaction \(SQLSTATE 25006: the server accepts no writes: .*\)$/,
    );
    expect(describeCause(fromServer('22P02', 'invalid input syntax'))).toBe(
      'invalid input syntax (SQLSTATE 22P02)',
    );
  });

  it('reports why the server ended a connection, not that pg found it gone', () => {
    const idle = fromServer('25P03', 'terminating connection due to idle-in-transaction timeout');
    const gone = new Error('Client has encountered a connection error and is not queryable');
    expect(isConnectionError(idle)).toBe(true);
    expect(isConnectionError(fromServer('57P05'))).toBe(true);
    expect(reasonOf(gone, idle)).toBe(idle);
    expect(reasonOf(gone, undefined)).toBe(gone);
    // A statement's own error is never replaced by an earlier one of the connection.
    const own = fromServer('23505');
    expect(reasonOf(own, idle)).toBe(own);
  });
});
