import { optionalMethods } from './checks.js';
import { HttpSourceConfigError } from './errors.js';
import type { ChildResource, HttpSourceOptions, QueryParams } from './options.js';
import type { Paginator } from './paginators.js';
import { isPointer } from './pointer.js';

/** A resource with its defaults filled in and its place in the tree. */
export interface ResolvedResource {
  name: string;
  path: string;
  params: QueryParams;
  records: string;
  paginator: Paginator;
  /** The `{field}` names of its path, in order (empty for a top-level resource). */
  fields: string[];
  children: ResolvedResource[];
  parent: string | null;
}

const PLACEHOLDER = /\{([^{}]+)\}/g;

/** Checks the resource tree and returns every resource by name. */
export function resolveResources(
  options: HttpSourceOptions,
  fallback: Paginator,
): Map<string, ResolvedResource> {
  const all = new Map<string, ResolvedResource>();
  const visit = (resource: ChildResource, parent: string | null, at: string): ResolvedResource => {
    checkShape(resource, at);
    if (!/^[A-Za-z0-9_.-]+$/.test(resource.name))
      throw new HttpSourceConfigError(
        `${at}.name`,
        'must be letters, digits, "_", "." or "-" (it is a unit key)',
      );
    if (all.has(resource.name))
      throw new HttpSourceConfigError(`${at}.name`, `"${resource.name}" names two resources`);
    const records = resource.records ?? '';
    if (!isPointer(records))
      throw new HttpSourceConfigError(
        `${at}.records`,
        `"${records}" is not a JSON pointer (like "/data/items")`,
      );
    const fields = [...resource.path.matchAll(PLACEHOLDER)].map((m) => m[1] as string);
    if (parent === null && fields.length > 0)
      throw new HttpSourceConfigError(
        `${at}.path`,
        'has placeholders; only a child resource fills them from its parent',
      );
    if (parent !== null && fields.length === 0)
      throw new HttpSourceConfigError(
        `${at}.path`,
        'needs a {field} of the parent record, or every parent would read the same pages',
      );
    const resolved: ResolvedResource = {
      name: resource.name,
      path: resource.path,
      params: resource.params ?? {},
      records,
      paginator: resource.paginator ?? fallback,
      fields,
      children: [],
      parent,
    };
    all.set(resource.name, resolved);
    resolved.children = (resource.children ?? []).map((child, i) =>
      visit(child, resource.name, `${at}.children[${i}]`),
    );
    return resolved;
  };
  if (!Array.isArray(options.resources))
    throw new HttpSourceConfigError('resources', 'must be a list of resources');
  if (options.resources.length === 0) throw new HttpSourceConfigError('resources', 'is empty');
  for (const [i, resource] of options.resources.entries()) visit(resource, null, `resources[${i}]`);
  return all;
}

/**
 * The types of a resource's fields, which TypeScript checks but plain JavaScript and parsed
 * config do not: a missing name became the unit "undefined", a params object was sent as
 * "[object Object]", a path that is not a string failed with a TypeError.
 */
function checkShape(resource: ChildResource, at: string): void {
  if (typeof resource !== 'object' || resource === null)
    throw new HttpSourceConfigError(at, 'must be an object with a name and a path');
  if (typeof resource.name !== 'string')
    throw new HttpSourceConfigError(`${at}.name`, 'must be a string');
  if (typeof resource.path !== 'string')
    throw new HttpSourceConfigError(`${at}.path`, 'must be a string');
  if (resource.children !== undefined && !Array.isArray(resource.children))
    throw new HttpSourceConfigError(`${at}.children`, 'must be a list of resources');
  optionalMethods(`${at}.paginator`, resource.paginator, ['next']);
  if (resource.params === undefined) return;
  if (typeof resource.params !== 'object' || resource.params === null)
    throw new HttpSourceConfigError(`${at}.params`, 'must be an object of names to values');
  for (const [name, value] of Object.entries(resource.params)) {
    const fits =
      typeof value === 'string' ||
      typeof value === 'boolean' ||
      (typeof value === 'number' && Number.isFinite(value));
    if (!fits)
      throw new HttpSourceConfigError(
        `${at}.params.${name}`,
        'must be a string, a finite number or a boolean',
      );
  }
}

/** The unit key of a resource read with these placeholder values: `comments/1`, `posts`. */
export function unitKey(resource: ResolvedResource, values: readonly string[]): string {
  return [resource.name, ...values.map(encodeURIComponent)].join('/');
}

/** The resource and placeholder values of a unit key, or undefined when it is not one of ours. */
export function parseUnit(
  key: string,
  resources: Map<string, ResolvedResource>,
): { resource: ResolvedResource; values: string[] } | undefined {
  const [name = '', ...rest] = key.split('/');
  const resource = resources.get(name);
  if (!resource || rest.length !== resource.fields.length) return undefined;
  return { resource, values: rest.map(decodeURIComponent) };
}

/** The resource's first page URL (before the paginator's first parameters). */
export function firstUrl(
  baseUrl: string,
  resource: ResolvedResource,
  values: readonly string[],
): URL {
  let i = 0;
  const path = resource.path.replace(PLACEHOLDER, () => encodeURIComponent(values[i++] ?? ''));
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const url = new URL(path.replace(/^\//, ''), base);
  for (const [name, value] of Object.entries(resource.params))
    url.searchParams.set(name, String(value));
  resource.paginator.first?.(url);
  return url;
}
