import type { MatrixMessage } from './types.js';

/** The fields of a ClientEvent the source reads. */
export interface ClientEvent {
  event_id: string;
  type: string;
  sender: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
  redacts?: unknown;
  unsigned?: Record<string, unknown>;
}

type Obj = Record<string, unknown>;
const isObj = (value: unknown): value is Obj =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);
/** A time a checkpoint can store: a finite number (not the Infinity JSON reads 1e999 as). */
const isTime = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value);

/** The event, or why it is not one: a bad event is skipped and reported, never a reason to stop. */
export function asClientEvent(
  value: unknown,
): ClientEvent | { malformed: string; eventId: string | null } {
  if (!isObj(value)) return { malformed: 'not an object', eventId: null };
  const eventId = str(value['event_id']);
  if (eventId === null || !eventId.startsWith('$'))
    return { malformed: 'no event_id', eventId: null };
  if (typeof value['type'] !== 'string') return { malformed: 'no type', eventId };
  if (typeof value['sender'] !== 'string') return { malformed: 'no sender', eventId };
  // JSON reads 1e999 as Infinity, which a checkpoint cannot store: a held reply carrying it failed
  // its whole room when the cursor was saved.
  if (!isTime(value['origin_server_ts'])) return { malformed: 'no origin_server_ts', eventId };
  if (!isObj(value['content'])) return { malformed: 'content is not an object', eventId };
  if (value['unsigned'] !== undefined && !isObj(value['unsigned'])) {
    return { malformed: 'unsigned is not an object', eventId };
  }
  return value as unknown as ClientEvent;
}

export function isRedacted(event: ClientEvent): boolean {
  return isObj(event.unsigned?.['redacted_because']);
}

/** For an `m.replace` edit: the event it replaces. */
export function replaces(event: ClientEvent): string | null {
  const relation = event.content['m.relates_to'];
  return isObj(relation) && relation['rel_type'] === 'm.replace' ? str(relation['event_id']) : null;
}

/** For an `m.room.redaction`: the event it redacts (top level up to room v10, in content from v11). */
export function redactsOf(event: ClientEvent): string | null {
  return str(event.redacts) ?? str(event.content['redacts']);
}

export interface MessageOptions {
  stripReplyFallbacks: boolean;
}

/** An `m.room.message` event as a {@link MatrixMessage}, with a bundled edit applied. */
export function toMessage(
  event: ClientEvent,
  roomId: string,
  options: MessageOptions,
): MatrixMessage {
  const base = {
    eventId: event.event_id,
    roomId,
    sender: event.sender,
    ts: event.origin_server_ts,
  };
  if (isRedacted(event)) {
    // Redacted after an edit the server still bundles: it was edited, whatever it says now.
    const bundled = bundledEdit(event);
    const message = tombstone(base);
    if (bundled && (bundled.sender === null || bundled.sender === event.sender)) {
      message.edited = true;
      message.editedTs = bundled.ts;
    }
    return message;
  }
  const relation = isObj(event.content['m.relates_to']) ? event.content['m.relates_to'] : {};
  const threadRoot = relation['rel_type'] === 'm.thread' ? str(relation['event_id']) : null;
  const replyTo = isObj(relation['m.in_reply_to'])
    ? str(relation['m.in_reply_to']['event_id'])
    : null;
  // A thread message points at the thread's latest event for clients without threads; that is not a reply.
  const fallingBack = threadRoot !== null && relation['is_falling_back'] === true;
  const message: MatrixMessage = {
    ...base,
    msgtype: null,
    body: null,
    formattedBody: null,
    inReplyTo: fallingBack ? null : replyTo,
    threadRoot,
    edited: false,
    editedTs: null,
    redacted: false,
  };
  setContent(message, event.content, replyTo !== null && options.stripReplyFallbacks);
  const bundled = bundledEdit(event);
  if (bundled) {
    if (bundled.newContent && bundled.sender === event.sender) {
      setContent(message, bundled.newContent, replyTo !== null && options.stripReplyFallbacks);
    }
    // Without m.new_content the server (Synapse before spec v1.7) already replaced the content.
    message.edited = bundled.newContent === null || bundled.sender === event.sender;
    message.editedTs = message.edited ? bundled.ts : null;
  }
  return message;
}

function tombstone(
  base: Pick<MatrixMessage, 'eventId' | 'roomId' | 'sender' | 'ts'>,
): MatrixMessage {
  return {
    ...base,
    msgtype: null,
    body: null,
    formattedBody: null,
    inReplyTo: null,
    threadRoot: null,
    edited: false,
    editedTs: null,
    redacted: true,
  };
}

/** The latest edit the server bundled in `unsigned.m.relations.m.replace`, in either format. */
function bundledEdit(
  event: ClientEvent,
): { newContent: Obj | null; sender: string | null; ts: number | null } | null {
  const relations = event.unsigned?.['m.relations'];
  if (!isObj(relations) || !isObj(relations['m.replace'])) return null;
  const edit = relations['m.replace'];
  const content = isObj(edit['content']) ? edit['content'] : null;
  const newContent = content && isObj(content['m.new_content']) ? content['m.new_content'] : null;
  const ts = isTime(edit['origin_server_ts']) ? edit['origin_server_ts'] : null;
  return { newContent, sender: str(edit['sender']), ts };
}

/**
 * Folds an `m.replace` edit into its original, when it is a valid edit (same sender, has
 * `m.new_content`) and not older than the edit already applied; a redacted original only becomes
 * `edited`, its content stays gone. Returns whether it did.
 */
export function applyEdit(
  original: MatrixMessage,
  edit: ClientEvent,
  options: MessageOptions,
): boolean {
  const newContent = edit.content['m.new_content'];
  if (edit.sender !== original.sender || !isObj(newContent)) return false;
  if (original.editedTs !== null && edit.origin_server_ts < original.editedTs) return false;
  if (original.redacted) {
    // An edit of a redacted message leaves no content, but the message was edited.
    original.edited = true;
    original.editedTs = edit.origin_server_ts;
    return true;
  }
  setContent(original, newContent, original.inReplyTo !== null && options.stripReplyFallbacks);
  original.edited = true;
  original.editedTs = edit.origin_server_ts;
  return true;
}

/** Turns a message into a tombstone, as a redaction seen in the same page does. */
export function redactMessage(message: MatrixMessage): void {
  // The redaction removes the content, not the history: an edited message stays `edited`.
  const { edited, editedTs } = message;
  Object.assign(message, tombstone(message), { edited, editedTs });
}

/** Copies `msgtype`, `body` and the HTML body of `content` (a whole replacement: absent fields clear). */
function setContent(message: MatrixMessage, content: Obj, strip: boolean): void {
  const body = str(content['body']);
  const html =
    content['format'] === 'org.matrix.custom.html' ? str(content['formatted_body']) : null;
  message.msgtype = str(content['msgtype']);
  message.body = body !== null && strip ? stripPlainFallback(body) : body;
  message.formattedBody = html !== null && strip ? stripHtmlFallback(html) : html;
}

/** Drops the leading `> ` lines (and the blank line after them) old clients quote a reply's parent in. */
export function stripPlainFallback(body: string): string {
  const lines = body.split('\n');
  let i = 0;
  while (i < lines.length && lines[i]!.startsWith('> ')) i++;
  if (i === 0) return body;
  if (lines[i] === '') i++;
  return lines.slice(i).join('\n');
}

/** Drops the `<mx-reply>` element an HTML reply starts with. */
export function stripHtmlFallback(html: string): string {
  if (!html.startsWith('<mx-reply>')) return html;
  const end = html.indexOf('</mx-reply>');
  return end === -1 ? html : html.slice(end + '</mx-reply>'.length);
}
