/** Checks of option values, each failing with an {@link HttpSourceConfigError} that names the field. */
import { HttpSourceConfigError } from './errors.js';
import { isPointer } from './pointer.js';

/** A whole number from `min` to `max`: NaN, Infinity, 2.5 and "10" are refused. */
export function wholeNumber(
  option: string,
  value: unknown,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new HttpSourceConfigError(
      option,
      `must be a whole number from ${min} to ${max}, got ${typeof value === 'number' ? value : JSON.stringify(value)}`,
    );
  return value;
}

/** A non-empty string (a parameter or header name). */
export function nonEmptyText(option: string, value: unknown): string {
  if (typeof value !== 'string' || value === '')
    throw new HttpSourceConfigError(
      option,
      `must be a non-empty string, got ${value === '' ? 'an empty string' : (JSON.stringify(value) ?? String(value))}`,
    );
  return value;
}

/** A JSON pointer (`/meta/next`): a field name without its `/` would never be found. */
export function pointerOption(option: string, value: unknown): string {
  if (typeof value !== 'string' || !isPointer(value))
    throw new HttpSourceConfigError(
      option,
      `must be a JSON pointer like "/meta/next", got ${JSON.stringify(value) ?? String(value)}`,
    );
  return value;
}

/** An HTTP header name (a token): a space or a colon in it fails every request. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What no header value may hold: a line break would end the header and start another. */
const NOT_IN_VALUE = /[\r\n\0]/;

/** `headers`: a plain object of valid header names to string values. */
export function headersOption(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new HttpSourceConfigError('headers', 'must be an object of header names to values');
  for (const [name, text] of Object.entries(value)) {
    if (!HEADER_NAME.test(name))
      throw new HttpSourceConfigError(`headers.${name}`, 'is not a valid header name');
    if (typeof text !== 'string' || NOT_IN_VALUE.test(text))
      throw new HttpSourceConfigError(
        `headers.${name}`,
        'must be a string without a line break or NUL',
      );
  }
  return value as Record<string, string>;
}

/** A credential sent in a header: a line break in it would be refused, or inject a header. */
export function headerSafe(option: string, value: string): void {
  // The value is a secret: the message says what is wrong, never what it is.
  if (NOT_IN_VALUE.test(value))
    throw new HttpSourceConfigError(option, 'must not hold a line break or NUL');
}

/** A header name given in an option (`auth.name` of a header auth). */
export function headerName(option: string, value: string): void {
  if (!HEADER_NAME.test(value))
    throw new HttpSourceConfigError(
      option,
      `is not a valid header name (${JSON.stringify(value)})`,
    );
}

/** An optional function option (`onRateLimit`, `now`). */
export function optionalFunction(option: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function')
    throw new HttpSourceConfigError(option, `must be a function, got ${typeof value}`);
}

/** An optional object whose named methods must be functions (`cache`, `paginator`, `dispatcher`). */
export function optionalMethods(option: string, value: unknown, methods: readonly string[]): void {
  if (value === undefined) return;
  const record = value as Record<string, unknown> | null;
  const missing = methods.filter((m) => typeof record?.[m] !== 'function');
  if (typeof value !== 'object' || value === null || missing.length > 0)
    throw new HttpSourceConfigError(
      option,
      `must be an object with ${methods.map((m) => `${m}()`).join(' and ')} (missing ${missing.join(', ') || 'all'})`,
    );
}
