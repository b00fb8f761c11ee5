/**
 * Checks of what users' sources, transforms and sinks hand `pipeline()`, where it enters: a page
 * whose items are a string would count its characters as items, a transform that returns nothing
 * would have the sink write nothing while the page counts as done, and a sink's `meta` string
 * would be recorded as one entry per character. Pure, and cheap enough for every page.
 */
import { CheckpointValueError, ContractError } from '../errors.js';
import { checkJsonValue, unitField } from '../model/json-value.js';
import type { Page, UnitPlan } from './contracts.js';

/** Throws {@link ContractError} for a page that is not `{ items: [...], cursor }`, or a bad total. */
export function checkPage(key: string, page: unknown): asserts page is Page<unknown> {
  if (typeof page !== 'object' || page === null) {
    throw new ContractError(
      'source.read',
      key,
      `yielded a page that is ${kind(page)}, not { items, cursor }`,
    );
  }
  const { items, total } = page as Page<unknown>;
  if (!Array.isArray(items)) {
    throw new ContractError(
      'source.read',
      key,
      `yielded a page whose items is ${kind(items)}, not an array`,
    );
  }
  // A cursor the checkpoint cannot hold fails the unit before its page reaches the sink.
  checkJsonValue((page as Page<unknown>).cursor, `${unitField(key)}.cursor`);
  if (
    total !== undefined &&
    total !== null &&
    !(typeof total === 'number' && total >= 0 && total < Infinity)
  ) {
    const field = `${unitField(key)}.total`;
    throw new CheckpointValueError(
      field,
      `${field} is ${typeof total === 'number' ? total : kind(total)}; a total is a finite number, not below 0, or null`,
    );
  }
}

/** Throws {@link ContractError} for a unit plan that is neither a key nor `{ key, total }`. */
export function checkPlan(plan: unknown): asserts plan is UnitPlan | string {
  if (typeof plan !== 'string' && (typeof plan !== 'object' || plan === null)) {
    throw new ContractError(
      'source.units',
      null,
      `yielded ${kind(plan)}, not a key or { key, total }`,
    );
  }
}

/** Throws {@link ContractError} when a transform returned something other than an array. */
export function checkTransformed(key: string, items: unknown): void {
  if (!Array.isArray(items)) {
    throw new ContractError('transform', key, `returned ${kind(items)}, not an array of items`);
  }
}

/**
 * Throws {@link ContractError} for a sink result whose `idMappings` is not an array or whose `meta`
 * is not an object of entries. Anything else a sink returns (a database's insert result) is
 * ignored, as the contract's `void` allows.
 */
export function checkSinkResult(key: string, written: unknown): void {
  if (typeof written !== 'object' || written === null) return;
  const { idMappings, meta } = written as { idMappings?: unknown; meta?: unknown };
  if (idMappings !== undefined && idMappings !== null && !Array.isArray(idMappings)) {
    throw new ContractError(
      'sink.write',
      key,
      `returned idMappings that is ${kind(idMappings)}, not an array of { map, source, target }`,
    );
  }
  // A Map or a class instance would give none of its entries to Object.entries: an offset lost.
  if (meta !== undefined && meta !== null && !isPlainObject(meta)) {
    throw new ContractError(
      'sink.write',
      key,
      `returned meta that is ${kind(meta)}, not an object of entries such as { "sink:offset": 42 }`,
    );
  }
}

function isPlainObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function kind(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value !== 'object') return `a ${typeof value}`;
  if (isPlainObject(value)) return 'an object';
  return `a ${(value as object).constructor?.name || 'object'}`;
}
