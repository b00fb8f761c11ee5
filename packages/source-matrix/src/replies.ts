import type { MappedId, Run } from '@checkpointkit/core';
import { DEFAULT_ID_MAP } from './options.js';
import type { MatrixMessage } from './types.js';

/** The events a message needs mapped before a sink can link it: its reply parent and thread root. */
export function dependencies(message: MatrixMessage): string[] {
  const ids: string[] = [];
  for (const id of [message.inReplyTo, message.threadRoot]) {
    if (id !== null && id !== message.eventId && !ids.includes(id)) ids.push(id);
  }
  return ids;
}

/** The comment parent of a message: the event it replies to, else its thread root, else null. */
export function parentOf(message: MatrixMessage): string | null {
  return message.inReplyTo ?? message.threadRoot;
}

/**
 * The new id of a message's parent (see {@link parentOf}) in the run's id map, or null when it has
 * no parent or the parent was never mapped. Use it in `transform`.
 */
export function resolveParent(
  message: MatrixMessage,
  run: Pick<Run, 'lookupId'>,
  idMap = DEFAULT_ID_MAP,
): MappedId | null {
  const parent = parentOf(message);
  return parent === null ? null : (run.lookupId(idMap, parent) ?? null);
}

export interface Partition {
  /** Messages whose dependencies are all mapped, in their original order. */
  ready: MatrixMessage[];
  /** Messages still waiting for a dependency. */
  waiting: MatrixMessage[];
}

export function partition(
  messages: readonly MatrixMessage[],
  isMapped: (eventId: string) => boolean,
): Partition {
  const ready: MatrixMessage[] = [];
  const waiting: MatrixMessage[] = [];
  for (const message of messages) {
    (dependencies(message).every(isMapped) ? ready : waiting).push(message);
  }
  return { ready, waiting };
}

/**
 * When nothing held can be resolved any more (the room is read to its end): the messages whose
 * missing dependencies are not themselves held, so they can go out unresolved without leaving a
 * child behind that could still be linked. All of them when every one waits on another (a cycle).
 */
export function orphans(
  held: readonly MatrixMessage[],
  isMapped: (eventId: string) => boolean,
): MatrixMessage[] {
  const heldIds = new Set(held.map((m) => m.eventId));
  const free = held.filter((m) => dependencies(m).every((id) => isMapped(id) || !heldIds.has(id)));
  return free.length > 0 ? free : [...held];
}

/** The first dependency of a message that is not mapped. */
export function firstMissing(
  message: MatrixMessage,
  isMapped: (eventId: string) => boolean,
): string | null {
  return dependencies(message).find((id) => !isMapped(id)) ?? null;
}

/**
 * The oldest of `waiting` that cannot stay held: beyond `maxHeld` replies, then beyond
 * `maxHeldBytes` (their size as JSON, as the cursor stores them). The count alone let a server
 * whose events are megabytes (the spec bounds one at 64 KiB) fill memory and every save with
 * a thousand of them.
 */
export function overflowing(
  waiting: readonly MatrixMessage[],
  bounds: { maxHeld: number; maxHeldBytes: number },
): MatrixMessage[] {
  let cut = Math.max(0, waiting.length - bounds.maxHeld);
  const sizes = waiting.map((message) => Buffer.byteLength(JSON.stringify(message)));
  let bytes = sizes.slice(cut).reduce((sum, size) => sum + size, 0);
  while (bytes > bounds.maxHeldBytes && cut < waiting.length) {
    bytes -= sizes[cut] as number;
    cut += 1;
  }
  return waiting.slice(0, cut);
}
