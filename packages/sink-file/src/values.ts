/**
 * Values JSON cannot hold, found and named before a page is written. JSON.stringify threw a bare
 * TypeError for some (a bigint, a cycle) and silently changed others: a function or symbol
 * property was left out, one in an array and NaN or ±Infinity became null, a Map or Set became
 * `{}`, an invalid Date null. The data was gone, and each flush said the page was written.
 */

/**
 * A value an item holds that its line format cannot hold, with where it is. Thrown by
 * {@link jsonText} and {@link cellText}; the sinks turn it into a `SinkFileItemError`.
 */
export class UnwritableValueError extends Error {
  override name = 'UnwritableValueError';
  constructor(
    /** Where the value is, such as `items[3].user.id`. */
    readonly field: string,
    /** What is wrong with it, after the field (`is a bigint (12n), which JSON cannot hold`). */
    readonly reason: string,
    options: { cause?: unknown; column?: string } = {},
  ) {
    super(
      `${options.column === undefined ? '' : `column ${JSON.stringify(options.column)}: `}${field} ${reason}`,
      options.cause === undefined ? {} : { cause: options.cause },
    );
    this.column = options.column;
  }
  /** The CSV column whose cell holds it. */
  readonly column: string | undefined;

  /** The same problem, said to be in CSV column `header`. */
  inColumn(header: string): UnwritableValueError {
    return new UnwritableValueError(this.field, this.reason, {
      column: header,
      ...(this.cause === undefined ? {} : { cause: this.cause }),
    });
  }
}

/** `items[3]`, `items[3].user`, `items[3]["a b"]`: the path of a property, as code would write it. */
export function fieldPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/**
 * Names where a value sits, only when a problem is found: building `items[3].user` for every
 * item or cell that is fine would cost a string each.
 */
export interface Root {
  /** The field of the value at `index` of the page, such as `items[3]`. */
  field(index: number): string;
}

/** `items[3]`: the page's items as given. */
export const ITEMS: Root = { field: (index) => `items[${index}]` };

/**
 * How deep {@link suspicious} walks before it leaves the rest to {@link locate}, which keeps
 * the ancestors to find a cycle. JSON.stringify has just succeeded, so there is none along
 * JSON's own walk; the bound only stops a pathological object (an enumerable inherited property
 * pointing back) from running the quick walk into the stack limit.
 */
const QUICK_DEPTH = 200;

/**
 * The JSON text of `value` (named `root.field(index)` in errors), or an
 * {@link UnwritableValueError} naming the first value JSON would refuse or change on the way. Object properties that are undefined
 * are left out, as JSON does by design; undefined in an array is null. Dates, and objects whose
 * `toJSON` works, are written as JSON writes them.
 *
 * The native JSON.stringify writes the text; a quick walk of the value then looks for anything
 * it may have changed without a word, and only when it finds something does the slower
 * {@link locate} (which calls `toJSON` as JSON.stringify does) decide and name it. A plain item
 * of strings, numbers, arrays and Dates costs JSON.stringify and one walk.
 */
export function jsonText(value: unknown, root: Root, index: number): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    // A bigint, a cycle, a throwing toJSON or getter: name where it is. A string past V8's
    // limit is left to the caller, which names the page's size.
    if (isStringLengthError(error)) throw error;
    const field = root.field(index);
    throw (
      locateOrNull(value, field) ??
      new UnwritableValueError(field, `cannot be written as JSON: ${messageOf(error)}`, {
        cause: error,
      })
    );
  }
  if (text === undefined) {
    const field = root.field(index);
    throw (
      locateOrNull(value, field) ??
      new UnwritableValueError(field, 'is not JSON (JSON.stringify returned nothing)')
    );
  }
  if (suspicious(value, 0)) {
    const problem = locateOrNull(value, root.field(index));
    if (problem) throw problem;
  }
  return text;
}

/** Whether `error` is V8's refusal to make a string longer than it can hold. */
export function isStringLengthError(error: unknown): boolean {
  return error instanceof RangeError && /Invalid string length/i.test(error.message);
}

/**
 * Whether `value` holds anything JSON.stringify may have written differently from the value, or
 * cannot be checked without calling `toJSON`: a function, symbol or bigint, NaN or ±Infinity, an
 * invalid Date, a Map or Set, an object with a `toJSON` other than a Date's. Cheap: `typeof` of
 * every value, no allocation but `for...in`'s.
 */
function suspicious(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return false;
    case 'number':
      // NaN and ±Infinity: x - x is NaN only for them.
      return value - value !== 0;
    case 'object':
      break;
    default:
      return true;
  }
  if (value === null) return false;
  if (depth > QUICK_DEPTH) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (suspicious(value[i], depth + 1)) return true;
    return false;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return !(value instanceof Date) || Number.isNaN(value.getTime());
  }
  if (value instanceof Map || value instanceof Set) return true;
  const object = value as Record<string, unknown>;
  // for...in, not Object.keys: no array per object. Inherited enumerable properties (which JSON
  // skips) are walked too; at worst they send a fine item to locate(), which uses own keys.
  for (const key in object) if (suspicious(object[key], depth + 1)) return true;
  return false;
}

/** {@link locate}, with a stack overflow on an absurdly deep value reported as such. */
function locateOrNull(value: unknown, field: string): UnwritableValueError | null {
  try {
    return locate(value, '', field, [], false);
  } catch (error) {
    if (error instanceof RangeError && !isStringLengthError(error)) {
      return new UnwritableValueError(field, 'is nested too deeply to check', { cause: error });
    }
    throw error;
  }
}

/**
 * The first value under `value` that JSON cannot hold or would change, walked as JSON.stringify
 * walks it (own enumerable keys, `toJSON` called with the key), or null. `ancestors` holds the
 * objects above, to name a cycle by where it closes; `optional` says an undefined here is left
 * out or written as null by design (a property, an array element) rather than a whole item.
 */
function locate(
  given: unknown,
  key: string,
  path: string,
  ancestors: { object: object; path: string }[],
  optional: boolean,
): UnwritableValueError | null {
  let value = given;
  let at = path;
  if ((typeof value === 'object' && value !== null) || typeof value === 'bigint') {
    if (value instanceof Date) {
      return Number.isNaN(value.getTime())
        ? new UnwritableValueError(at, 'is an invalid Date, which JSON writes as null')
        : null;
    }
    let toJSON: unknown;
    try {
      toJSON = (value as { toJSON?: unknown }).toJSON;
    } catch (error) {
      return new UnwritableValueError(at, `cannot be read: ${messageOf(error)}`, { cause: error });
    }
    if (typeof toJSON === 'function') {
      try {
        value = toJSON.call(value, key);
      } catch (error) {
        return new UnwritableValueError(at, `has a toJSON that threw: ${messageOf(error)}`, {
          cause: error,
        });
      }
      at = `${at}.toJSON()`;
    }
  }
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return null;
    case 'number':
      return Number.isFinite(value)
        ? null
        : new UnwritableValueError(at, `is ${value}, which JSON writes as null`);
    case 'bigint':
      return new UnwritableValueError(
        at,
        `is a bigint (${value}n), which JSON cannot hold (convert it to a string or a number first)`,
      );
    case 'undefined':
      return optional ? null : new UnwritableValueError(at, 'is undefined, which is not JSON');
    case 'function':
    case 'symbol':
      return new UnwritableValueError(
        at,
        `is a ${typeof value}, which is not JSON (JSON.stringify would leave it out, or write null)`,
      );
  }
  if (value === null) return null;
  const object = value as object;
  const closes = ancestors.find((ancestor) => ancestor.object === object);
  if (closes) {
    return new UnwritableValueError(
      at,
      `is ${closes.path} itself (a cycle): JSON cannot hold a circular structure`,
    );
  }
  if (object instanceof Map || object instanceof Set) {
    const kind = object instanceof Map ? 'Map' : 'Set';
    const hint = kind === 'Map' ? 'Object.fromEntries(map)' : '[...set]';
    return new UnwritableValueError(
      at,
      `is a ${kind}, which JSON writes as {} (its entries lost); convert it first (${hint})`,
    );
  }
  ancestors.push({ object, path: at });
  try {
    if (Array.isArray(object)) {
      for (let i = 0; i < object.length; i++) {
        const problem = locate(object[i], String(i), fieldPath(at, i), ancestors, true);
        if (problem) return problem;
      }
      return null;
    }
    for (const name of Object.keys(object)) {
      const field = fieldPath(at, name);
      let item: unknown;
      try {
        item = (object as Record<string, unknown>)[name];
      } catch (error) {
        return new UnwritableValueError(field, `cannot be read: ${messageOf(error)}`, {
          cause: error,
        });
      }
      const problem = locate(item, name, field, ancestors, true);
      if (problem) return problem;
    }
    return null;
  } finally {
    ancestors.pop();
  }
}

/**
 * The text of a CSV cell before quoting: strings as they are, numbers, bigints and booleans with
 * `String`, a Date as ISO 8601, null and undefined empty, any other object as its JSON (checked
 * as {@link jsonText} checks an item). A function or a symbol is refused: `String` wrote a
 * function's source text, or `Symbol(x)`, where the user's data should have been.
 */
export function cellText(value: unknown, root: Root, index: number): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(value);
    case 'undefined':
      return '';
    case 'function':
    case 'symbol':
      throw new UnwritableValueError(
        root.field(index),
        `is a ${typeof value}, which a CSV cell cannot hold`,
      );
  }
  if (value === null) return '';
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) {
      throw new UnwritableValueError(
        root.field(index),
        'is an invalid Date, which has no ISO 8601 text',
      );
    }
    return value.toISOString();
  }
  return jsonText(value, root, index);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
