/**
 * The Matrix Client-Server API as the spec's OpenAPI files define it (test/fixtures/matrix-spec, a
 * copy of an excerpt of the official spec): checks a request against its operation (path and query
 * parameters, the JSON filter, the bearer token) and a response against the operation's schemas,
 * so the fake homeserver cannot drift from the spec. Relative `$ref`s between the YAML files resolve
 * through each file's `$id`, which is its path under the spec's root.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { parse } from 'yaml';

export const SPEC_ROOT = fileURLToPath(new URL('../fixtures/matrix-spec/', import.meta.url));
const BASE = 'https://spec.matrix.invalid/';
const CS = 'data/api/client-server/';

type Obj = Record<string, unknown>;

interface Parameter {
  in: 'path' | 'query' | 'header';
  name: string;
  required?: boolean;
  schema: Obj;
}

export interface Operation {
  /** `getRoomEvents`, ... */
  id: string;
  method: string;
  /** `/rooms/{roomId}/messages` */
  template: string;
  /** `/_matrix/client/v3`: the file's `servers` basePath. */
  basePath: string;
  /** JSON pointer of the operation in its file; null for one the excerpt lacks. */
  pointer: string | null;
  file: string;
  secured: boolean;
  parameters: Parameter[];
  responses: Record<string, Obj>;
  regex: RegExp;
  names: string[];
}

/**
 * `GET /rooms/{roomId}/state` is not part of the spec excerpt in test/fixtures/matrix-spec; the spec
 * (rooms.yaml) defines its 200 response as an array of ClientEvent, which is what this says.
 */
const ROOM_STATE: Obj = {
  operationId: 'getRoomState',
  security: [{ accessTokenBearer: [] }],
  parameters: [{ in: 'path', name: 'roomId', required: true, schema: { type: 'string' } }],
  responses: {
    '200': {
      content: {
        'application/json': {
          schema: { type: 'array', items: { $ref: 'definitions/client_event.yaml' } },
        },
      },
    },
    '403': { description: 'not a member' },
  },
};

/** Event types whose content the spec excerpt has a schema for. */
const EVENT_SCHEMAS: Record<string, string> = {
  'm.room.message': 'data/event-schemas/schema/m.room.message.yaml',
  'm.room.redaction': 'data/event-schemas/schema/m.room.redaction.yaml',
  'm.reaction': 'data/event-schemas/schema/m.reaction.yaml',
};

export interface RequestCheck {
  operation: Operation | null;
  /** Path and query parameters, decoded (query values as sent, as text). */
  params: Record<string, string>;
  errors: string[];
}

export class MatrixSpec {
  readonly operations: Operation[] = [];
  readonly #ajv = new Ajv2020({ strict: false, allErrors: true });
  readonly #compiled = new Map<string, ValidateFunction>();

  constructor() {
    const ajv = this.#ajv;
    for (const name of [
      'mx-room-id',
      'mx-event-id',
      'mx-user-id',
      'mx-room-alias',
      'mx-server-name',
    ]) {
      ajv.addFormat(name, FORMATS[name]!);
    }
    ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
    for (const file of yamlFiles(SPEC_ROOT)) {
      const doc = parse(readFileSync(join(SPEC_ROOT, file), 'utf8')) as Obj;
      if (file.startsWith(`${CS}definitions/`) || file.startsWith('data/event-schemas/schema/')) {
        if (!file.endsWith('security.yaml')) ajv.addSchema(doc, BASE + file);
      } else if (file.startsWith(CS) && typeof doc['openapi'] === 'string') {
        // The whole document, so response schemas are compiled by JSON pointer into it and both
        // their relative file refs and their `#/components/...` refs resolve as in the file.
        ajv.addSchema(doc, BASE + file);
        const servers = doc['servers'] as
          | { variables?: { basePath?: { default?: string } } }[]
          | undefined;
        const basePath = servers?.[0]?.variables?.basePath?.default ?? '';
        for (const [template, item] of Object.entries(doc['paths'] as Obj)) {
          for (const [method, op] of Object.entries(item as Obj)) {
            const operation = op as Obj;
            // Parameters may be `$ref`s into the file's components.
            const parameters = ((operation['parameters'] as Obj[] | undefined) ?? []).map((p) =>
              typeof p['$ref'] === 'string' ? (pointerGet(doc, p['$ref'].slice(1)) as Obj) : p,
            );
            this.#add(file, basePath, template, method, { ...operation, parameters });
          }
        }
      }
    }
    this.#add(
      `${CS}rooms.yaml`,
      '/_matrix/client/v3',
      '/rooms/{roomId}/state',
      'get',
      ROOM_STATE,
      false,
    );
  }

  #add(
    file: string,
    basePath: string,
    template: string,
    method: string,
    op: Obj,
    inFile = true,
  ): void {
    const names: string[] = [];
    const pattern = template
      .replace(/[.*+?^$()|[\]\\]/g, '\\$&')
      .replace(/\\?\{(\w+)\\?\}/g, (_m, name: string) => {
        names.push(name);
        return '([^/]+)';
      });
    this.operations.push({
      id: String(op['operationId']),
      method: method.toUpperCase(),
      template,
      basePath,
      pointer: inFile
        ? `/paths/${template.replaceAll('~', '~0').replaceAll('/', '~1')}/${method}`
        : null,
      file,
      secured:
        Array.isArray(op['security']) &&
        op['security'].some((s) => 'accessTokenBearer' in (s as Obj)),
      parameters: (op['parameters'] as Parameter[] | undefined) ?? [],
      responses: (op['responses'] as Record<string, Obj> | undefined) ?? {},
      regex: new RegExp(`^${pattern}$`),
      names,
    });
  }

  /** Checks a request the source made: operation, path and query parameters, filter, token. */
  checkRequest(method: string, url: URL, authorization: string | undefined): RequestCheck {
    const errors: string[] = [];
    let operation: Operation | null = null;
    let match: RegExpExecArray | null = null;
    for (const op of this.operations) {
      if (op.method !== method || !url.pathname.startsWith(`${op.basePath}/`)) continue;
      match = op.regex.exec(url.pathname.slice(op.basePath.length));
      if (match) {
        operation = op;
        break;
      }
    }
    if (!operation || !match) {
      return {
        operation: null,
        params: {},
        errors: [`no operation ${method} ${url.pathname} in the spec`],
      };
    }
    const params: Record<string, string> = {};
    operation.names.forEach((name, i) => {
      params[name] = decodeURIComponent(match[i + 1]!);
    });
    const declared = new Map(
      operation.parameters.filter((p) => p.in === 'query').map((p) => [p.name, p]),
    );
    const seen = new Set<string>();
    for (const [name, value] of url.searchParams) {
      const parameter = declared.get(name);
      if (!parameter) errors.push(`${operation.id}: query parameter "${name}" is not in the spec`);
      else if (seen.has(name))
        errors.push(`${operation.id}: query parameter "${name}" given twice`);
      seen.add(name);
      params[name] = value;
    }
    for (const parameter of operation.parameters) {
      if (parameter.in === 'header') continue;
      const value = params[parameter.name];
      if (value === undefined) {
        if (parameter.required)
          errors.push(`${operation.id}: ${parameter.in} parameter "${parameter.name}" is required`);
        continue;
      }
      const typed = coerce(value, parameter.schema);
      const problems = this.#check({ ...parameter.schema }, typed);
      for (const p of problems)
        errors.push(
          `${operation.id}: ${parameter.in} parameter "${parameter.name}"=${JSON.stringify(value)} ${p}`,
        );
    }
    if (params['filter'] !== undefined && declared.has('filter')) {
      let filter: unknown;
      try {
        filter = JSON.parse(params['filter']);
      } catch {
        errors.push(`${operation.id}: filter is not JSON`);
      }
      if (filter !== undefined) {
        for (const p of this.#ref(`${CS}definitions/room_event_filter.yaml`, filter))
          errors.push(`${operation.id}: filter ${p}`);
      }
    }
    if (operation.secured && !/^Bearer \S+$/.test(authorization ?? '')) {
      errors.push(`${operation.id}: needs the access token in an Authorization: Bearer header`);
    }
    return { operation, params, errors };
  }

  /** Checks a response against the operation's schema for its status (errors: the standard error body). */
  checkResponse(operation: Operation, status: number, body: unknown): string[] {
    const declared = operation.responses[String(status)];
    const schema = (
      (declared?.['content'] as Obj | undefined)?.['application/json'] as Obj | undefined
    )?.['schema'];
    const where = `${operation.id} ${status}`;
    if (schema && operation.pointer === null) {
      // The supplement for an operation the excerpt lacks: its schema refers to files by path.
      const errors = this.#check(
        { $id: `${BASE}${CS}supplement-${operation.id}.json`, ...(schema as Obj) },
        body,
      );
      return [...errors, ...this.#checkEvents(body)].map((e) => `${where}: ${e}`);
    }
    if (schema && operation.pointer !== null) {
      const pointer = `${operation.pointer}/responses/${status}/content/application~1json/schema`;
      const errors = this.#check(
        { $ref: `${BASE}${operation.file}#${encodePointer(pointer)}` },
        body,
      );
      return [...errors, ...this.#checkEvents(body)].map((e) => `${where}: ${e}`);
    }
    if (status >= 400) {
      const file =
        status === 429 ? 'definitions/errors/rate_limited.yaml' : 'definitions/errors/error.yaml';
      return this.#ref(CS + file, body).map((e) => `${where}: ${e}`);
    }
    return [`${where}: the spec declares no such response`];
  }

  /** Checks one event against the event schema of its type, when the excerpt has one. */
  checkEvent(event: unknown): string[] {
    if (!event || typeof event !== 'object') return ['an event is not an object'];
    const e = event as Obj;
    const unsigned = e['unsigned'] as Obj | undefined;
    if (unsigned && 'redacted_because' in unsigned) return []; // a redacted event has lost its content
    const file = EVENT_SCHEMAS[String(e['type'])];
    return file
      ? this.#ref(file, event).map(
          (p) => `event ${String(e['event_id'])} (${String(e['type'])}) ${p}`,
        )
      : [];
  }

  #checkEvents(body: unknown): string[] {
    const events: unknown[] = [];
    if (Array.isArray(body)) events.push(...body);
    else if (body && typeof body === 'object') {
      const b = body as Obj;
      for (const key of ['chunk', 'state', 'events_before', 'events_after']) {
        if (Array.isArray(b[key])) events.push(...(b[key] as unknown[]));
      }
      if (b['event']) events.push(b['event']);
    }
    return events.flatMap((event) => this.checkEvent(event));
  }

  #ref(file: string, value: unknown): string[] {
    const validate = this.#ajv.getSchema(BASE + file);
    if (!validate) throw new Error(`spec: no schema ${file}`);
    return validate(value)
      ? []
      : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
  }

  #check(schema: Obj, value: unknown): string[] {
    const key = JSON.stringify(schema);
    let validate = this.#compiled.get(key);
    if (!validate) {
      validate = this.#ajv.compile(schema);
      this.#compiled.set(key, validate);
    }
    return validate(value)
      ? []
      : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
  }
}

const FORMATS: Record<string, RegExp> = {
  'mx-room-id': /^![^\s]+$/,
  'mx-event-id': /^\$[^\s]+$/,
  'mx-user-id': /^@[^:\s]+:[^\s]+$/,
  'mx-room-alias': /^#[^:\s]+:[^\s]+$/,
  'mx-server-name': /^[A-Za-z0-9.\-:[\]]+$/,
};

function pointerGet(doc: unknown, pointer: string): unknown {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce<unknown>((node, key) => (node as Obj | undefined)?.[key], doc);
}

function encodePointer(pointer: string): string {
  return pointer
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
}

function coerce(value: string, schema: Obj): unknown {
  if (schema['type'] === 'integer' || schema['type'] === 'number')
    return /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  if (schema['type'] === 'boolean')
    return value === 'true' ? true : value === 'false' ? false : value;
  return value;
}

function yamlFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.yaml')) out.push(relative(root, full).split('\\').join('/'));
    }
  };
  walk(root);
  return out.sort();
}
