/**
 * One message of a room, as the source emits it: an `m.room.message` event with its latest edit
 * folded in. Edits themselves are never emitted; a redacted message is kept as a tombstone.
 */
export interface MatrixMessage {
  /** The Matrix event id, `$...`: the key to map to the id a sink creates. */
  eventId: string;
  roomId: string;
  /** The sender's user id, `@user:server`. */
  sender: string;
  /** `origin_server_ts` of the message (not of its edit): milliseconds since the epoch. */
  ts: number;
  /** `m.text`, `m.emote`, `m.image`, ...; null for a tombstone. */
  msgtype: string | null;
  /** The plain-text body (reply fallback removed); null for a tombstone or a message without one. */
  body: string | null;
  /** The `org.matrix.custom.html` body (reply fallback removed), when the message had one. */
  formattedBody: string | null;
  /**
   * The event this message replies to (rich reply). Null when it is not a reply, and for the
   * fallback reply pointer a thread message carries for clients without threads.
   */
  inReplyTo: string | null;
  /** The thread root, for a message in a thread. */
  threadRoot: string | null;
  /** True when an `m.replace` edit was applied. */
  edited: boolean;
  /** `origin_server_ts` of the edit that was applied, when there was one. */
  editedTs: number | null;
  /** True for a redacted message: its content is gone, the event is kept as a tombstone. */
  redacted: boolean;
}

/** Something the source worked around or skipped: for logs. Never carries the access token. */
export interface MatrixWarning {
  code:
    | 'retry'
    | 'malformed-event'
    | 'start-fallback'
    | 'repeated-token'
    | 'blank-end'
    | 'repeated-events'
    | 'token-refused'
    | 'unresolved-reply'
    | 'edit-missed';
  message: string;
  roomId?: string;
  eventId?: string;
  /** For `retry`: how long the source waits before the next attempt. */
  waitMs?: number;
}

/** A reply delivered without its parent's new id, as recorded in the checkpoint. */
export interface UnresolvedReply {
  /** The reply's event id. */
  eventId: string;
  /** The parent (or thread root) that was never mapped. */
  missing: string;
}
