import { CheckpointValueError } from '../errors.js';
import type { Change } from '../model/changes.js';
import { checkJsonValue as checkJson, unitField } from '../model/json-value.js';

/**
 * Refuses a change the checkpoint could not hold, when it is recorded: a value JSON would change
 * (a NaN cursor stored as null), and anything the stores' schema ({@link ChangeSchema}) refuses.
 * A store finds the latter only at the next flush, which then fails, and so does every flush
 * after it: the other units' progress, buffered with the bad change, is never saved. Written by
 * hand, as zod's check of a page's change costs more than the page's own checkpointing.
 * Changes the run makes itself (`created`, `status`, `saved`, failures) are not checked.
 */
export function checkChange(change: Change): void {
  switch (change.type) {
    case 'unit.planned':
      checkKey(change.key);
      checkCount(change.total, `${unitField(change.key)}.total`, true);
      return;
    case 'unit.started':
    case 'unit.reset':
    case 'unit.removed':
    case 'unit.failed':
      checkKey(change.key);
      return;
    case 'unit.progressed':
      checkKey(change.key);
      checkJson(change.cursor, `${unitField(change.key)}.cursor`);
      checkCount(change.done, `${unitField(change.key)}.done`, false);
      checkCount(change.total, `${unitField(change.key)}.total`, true);
      return;
    case 'unit.completed':
      checkKey(change.key);
      if (change.cursor !== undefined) checkJson(change.cursor, `${unitField(change.key)}.cursor`);
      checkCount(change.done, `${unitField(change.key)}.done`, false);
      return;
    case 'id.mapped': {
      checkName(change.map, 'idMaps');
      const field = `idMaps[${JSON.stringify(change.map)}][${JSON.stringify(change.source)}]`;
      if (typeof change.source !== 'string')
        refuse(field, `has a source id of ${kind(change.source)}, not a string`);
      const target: unknown = change.target;
      if (typeof target !== 'string' && typeof target !== 'number')
        refuse(field, `is ${kind(target)}; a mapped id is a string or a number`);
      checkJson(target, field);
      return;
    }
    case 'counter.added': {
      checkName(change.name, 'stats');
      const by: unknown = change.by;
      if (typeof by !== 'number' || !Number.isFinite(by))
        refuse(
          `stats[${JSON.stringify(change.name)}]`,
          `cannot be added ${kind(by)}: add a finite number`,
        );
      return;
    }
    case 'meta.set':
      checkName(change.key, 'meta');
      checkJson(change.value, `meta[${JSON.stringify(change.key)}]`);
      return;
  }
}

function refuse(field: string, what: string): never {
  throw new CheckpointValueError(field, `${field} ${what}`);
}

function checkKey(key: unknown): void {
  if (typeof key !== 'string')
    refuse('units', `cannot have a key of ${kind(key)}: keys are strings`);
  if (key === '') refuse('units[""]', 'has an empty key');
}

/** The name of an id map, a counter or a meta entry: a string that is not empty. */
function checkName(name: unknown, record: string): void {
  if (typeof name !== 'string')
    refuse(record, `cannot have a name of ${kind(name)}: names are strings`);
  if (name === '') refuse(`${record}[""]`, 'has an empty name');
}

/** A count of items: a finite number, not below 0; `undefined` (and `null` when nullable) is none. */
function checkCount(value: unknown, field: string, nullable: boolean): void {
  if (value === undefined || (nullable && value === null)) return;
  if (typeof value !== 'number') refuse(field, `is ${kind(value)}, not a number`);
  checkJson(value, field);
  if (value < 0) refuse(field, `is ${value}, below 0`);
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return type === 'object' || type === 'undefined' ? type : `a ${type} (${String(value)})`;
}
