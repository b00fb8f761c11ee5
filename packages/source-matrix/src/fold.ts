import {
  applyEdit,
  asClientEvent,
  type ClientEvent,
  type MessageOptions,
  redactMessage,
  redactsOf,
  replaces,
  toMessage,
} from './events.js';
import type { MatrixMessage, MatrixWarning } from './types.js';

export interface FoldContext extends MessageOptions {
  roomId: string;
  warn: (warning: MatrixWarning) => void;
  /** The messages of the last pages, to tell an edit their server bundled from one it did not. */
  recent?: RecentMessages;
}

/** How many pages of messages {@link RecentMessages} keeps. */
const RECENT_PAGES = 16;

/**
 * The messages of a read's last pages (bounded, as the ids in repeats.ts are). A server that
 * bundles no edits (Dendrite, Conduit) sends a message as it was first sent; an edit on a later
 * page then finds it gone out without it. Found here, that edit is reported, not dropped silently.
 */
export class RecentMessages {
  readonly #pages: Map<string, MatrixMessage>[] = [];

  get(eventId: string): MatrixMessage | undefined {
    for (const page of this.#pages) {
      const message = page.get(eventId);
      if (message) return message;
    }
    return undefined;
  }

  add(messages: readonly MatrixMessage[]): void {
    this.#pages.push(new Map(messages.map((message) => [message.eventId, message])));
    if (this.#pages.length > RECENT_PAGES) this.#pages.shift();
  }
}

/**
 * Turns one page of events into messages. Edits fold into their original when it is on this page or
 * still held back (`pending`, changed in place); a redaction on this page tombstones its target the
 * same way. An edit whose original went out on an earlier page is dropped: the server sent that
 * original with its latest edit already applied or bundled. Other event types are skipped, and a
 * malformed event is reported and skipped.
 */
export function foldPage(
  events: readonly unknown[],
  pending: readonly MatrixMessage[],
  context: FoldContext,
): MatrixMessage[] {
  const fresh: MatrixMessage[] = [];
  const byId = new Map<string, MatrixMessage>();
  for (const message of pending) byId.set(message.eventId, message);
  for (const raw of events) {
    const event = asClientEvent(raw);
    if ('malformed' in event) {
      context.warn({
        code: 'malformed-event',
        roomId: context.roomId,
        ...(event.eventId !== null && { eventId: event.eventId }),
        message: `skipped an event of room ${context.roomId}${event.eventId ? ` (${event.eventId})` : ''}: ${event.malformed}`,
      });
      continue;
    }
    if (event.type === 'm.room.redaction') {
      const target = redactsOf(event);
      const message = target === null ? undefined : byId.get(target);
      if (message) redactMessage(message);
      continue;
    }
    if (event.type !== 'm.room.message') continue;
    const original = replaces(event);
    if (original !== null) {
      const message = byId.get(original);
      if (message) applyEdit(message, event, context);
      else missedEdit(context, original, event);
      continue;
    }
    if (byId.has(event.event_id)) continue; // the same event twice (a server repeating itself)
    const message = toMessage(event, context.roomId, context);
    fresh.push(message);
    byId.set(message.eventId, message);
  }
  context.recent?.add(fresh);
  return fresh;
}

/**
 * An edit whose message went out on a recent page without it: valid (same sender, new content)
 * and newer than what the message carried, so the server did not bundle it. The message stays
 * as it went out; the warning says which one the export has stale.
 */
function missedEdit(context: FoldContext, original: string, edit: ClientEvent): void {
  const out = context.recent?.get(original);
  if (!out || out.redacted || edit.sender !== out.sender) return;
  const newContent = edit.content['m.new_content'];
  if (typeof newContent !== 'object' || newContent === null) return;
  // A bundle without a time still carried the latest edit.
  if (out.edited && (out.editedTs === null || edit.origin_server_ts <= out.editedTs)) return;
  context.warn({
    code: 'edit-missed',
    roomId: context.roomId,
    eventId: original,
    message: `room ${context.roomId}: the edit ${edit.event_id} of ${original} came after ${original} went out without it (the server bundles no edits); the export has ${original} as it was before`,
  });
}
