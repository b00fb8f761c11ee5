import {
  applyEdit,
  asClientEvent,
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
      continue;
    }
    if (byId.has(event.event_id)) continue; // the same event twice (a server repeating itself)
    const message = toMessage(event, context.roomId, context);
    fresh.push(message);
    byId.set(message.eventId, message);
  }
  return fresh;
}
