import { eventContext, type MessagesResponse, messagesForward, roomState } from './api.js';
import { MatrixPaginationError, MatrixRequestError, redact } from './errors.js';
import type { MatrixHttp } from './http.js';
import type { ResolvedOptions } from './options.js';
import { idOf, RecentEvents } from './repeats.js';

/** One page of raw events, and the token after it (null: the history is read to its end). */
export interface RawPage {
  events: unknown[];
  next: string | null;
  /** The id of the last event read so far (on this page or before): where `next` stands. */
  last: string | null;
}

export interface TimelineContext {
  http: MatrixHttp;
  options: ResolvedOptions;
}

/**
 * Pages forward through a room's history from `resume.from`, or from its very first event when
 * there is nothing to resume. A resumed token the server refuses (400) is replaced by the one
 * after `resume.last`, the last event read before it (see {@link placeAfter}); a token refused
 * later in the read fails the room, as retryable (see {@link refusedOwnToken}). The `end` token of
 * each page is the next `from`; no `end` (or one of `""` or null, with a warning) means the end of
 * the history, while an empty chunk that has an `end` is just an empty page. A token the server
 * already handed out in this read is caught instead of looping: an empty page that repeats the
 * token it was asked for ends the history, anything else fails the room. Events a recent page
 * already had are dropped, and a page with nothing new counts as an empty page.
 */
export async function* forwardPages(
  context: TimelineContext,
  roomId: string,
  resume: { from: string; last: string | null } | undefined,
  signal: AbortSignal,
): AsyncGenerator<RawPage> {
  const { http, options } = context;
  const ask = (token: string | undefined) =>
    messagesForward(
      http,
      roomId,
      { from: token, limit: options.pageSize, filter: options.filter },
      signal,
    );

  const recent = new RecentEvents();
  let from = resume?.from;
  let last = resume?.last ?? null;
  // Where `from` came from, for a refusal of it.
  let origin = 'as the end of the page before';
  if (from === undefined) {
    const first = await ask(undefined);
    ownEvents(roomId, first.chunk, 'the first page');
    blankEnd(context, roomId, first);
    if (first.chunk.length > 0) {
      last = lastEventId(first.chunk) ?? last;
      yield { events: recent.sift(first.chunk).events, next: first.end, last };
      if (first.end === null) return;
      from = first.end;
    } else {
      // Servers before Matrix v1.3 (Synapse before 1.73) answer dir=f without `from` from the
      // present, so with nothing. Start at the room's m.room.create event instead; for a room
      // that is empty under the filter this costs three requests and finds the same nothing.
      options.onWarning({
        code: 'start-fallback',
        roomId,
        message: `room ${roomId}: /messages?dir=f without from returned nothing; paging from m.room.create instead`,
      });
      from = await startOfHistory(context, roomId, signal);
      origin = 'by /context of m.room.create';
    }
  }

  const seen = new Set<string>();
  let empties = 0;
  let resumed = resume !== undefined;
  // The last event read before a resume: the recent pages that catch a repeat are gone with the
  // process that read them, and a server whose page boundary is inclusive starts the resumed
  // page with it again.
  let before = resume?.last ?? null;
  for (;;) {
    seen.add(from);
    let page: MessagesResponse;
    try {
      page = await ask(from);
    } catch (error) {
      // A bad filter would be refused again, whatever the token.
      if (!refusedToken(error)) throw error;
      if (!resumed) throw refusedOwnToken(roomId, from, origin, error);
      // Only the token a resume brought from the checkpoint is replaced here.
      resumed = false;
      from = await placeAfter(context, roomId, last, error, signal);
      origin = 'by /context of the last event read';
      continue;
    }
    resumed = false;
    origin = 'as the end of the page before';
    ownEvents(roomId, page.chunk, `the page from ${from}`);
    blankEnd(context, roomId, page);
    if (page.end !== null && seen.has(page.end)) {
      if (page.chunk.length === 0 && page.end === from) {
        options.onWarning({
          code: 'repeated-token',
          roomId,
          message: `room ${roomId}: an empty page gave back the token it was asked for; taking it as the end of the history`,
        });
        return;
      }
      throw new MatrixPaginationError(
        roomId,
        `the server handed out the token ${page.end} a second time (pagination loop), after ${seen.size} pages of this read`,
      );
    }
    const { chunk, again } = afterLastRead(page.chunk, before);
    before = null;
    const { events, fresh, repeated: echoed, looped } = recent.sift(chunk);
    if (looped !== null) {
      throw new MatrixPaginationError(
        roomId,
        `the event ${looped.eventId} came again after ${looped.pages} pages: the token ${from} led back into the history already read (pagination loop); nothing of this page went out`,
      );
    }
    const repeated = echoed + again;
    if (repeated > 0) {
      options.onWarning({
        code: 'repeated-events',
        roomId,
        message: `room ${roomId}: the server sent ${repeated} of the ${page.chunk.length} events of a page again; dropped them`,
      });
    }
    // A page that only repeats events (or has none) moves the read no further than an empty one.
    empties = fresh === 0 ? empties + 1 : 0;
    if (empties > options.maxEmptyPages) {
      throw new MatrixPaginationError(
        roomId,
        `${empties} pages in a row with no new event (maxEmptyPages ${options.maxEmptyPages}); last token ${from}`,
      );
    }
    last = lastEventId(page.chunk) ?? last;
    yield { events, next: page.end, last };
    if (page.end === null) return;
    from = page.end;
  }
}

/**
 * Fails the room when an event of a page says it is another room's (`room_id`): a server or a
 * cache mixing rooms up would have it exported as this room's. Thrown before the page is yielded,
 * so nothing of it goes out. An event without a string `room_id` is taken as this room's, as a
 * field the source only reads is taken as absent.
 */
function ownEvents(roomId: string, chunk: readonly unknown[], where: string): void {
  for (const event of chunk) {
    if (typeof event !== 'object' || event === null) continue;
    const other = (event as { room_id?: unknown }).room_id;
    if (typeof other !== 'string' || other === roomId) continue;
    const id = idOf(event);
    throw new MatrixPaginationError(
      roomId,
      `${where} of /rooms/${roomId}/messages has the event ${id ?? '(no event_id)'} of another room, ${other}; nothing of this page went out`,
    );
  }
}

/**
 * Reports an `end` that came as `""` or null, which {@link messagesForward} takes as left out: the
 * end of the history. A server that writes "none" that way (a field always serialized) would
 * otherwise have had `from=` sent, read as no `from`: the room again from its start.
 */
function blankEnd(context: TimelineContext, roomId: string, page: MessagesResponse): void {
  if (page.blankEnd === null) return;
  context.options.onWarning({
    code: 'blank-end',
    roomId,
    message: `room ${roomId}: /messages gave an end of ${page.blankEnd} instead of leaving it out; taken as the end of the history, as an end left out is`,
  });
}

/**
 * The server refused, in the middle of a read, a token it had handed out itself a request before.
 * Not replaced at once through `/context`, as the checkpoint's token is (see {@link placeAfter}):
 * a server that refuses a token it gave a moment ago is misbehaving now, and would likely refuse
 * the next one too. Retryable, deliberately: that speaks of the server changing under the read (a
 * restart, a migration, a load balancer sending the request to a replica that does not know the
 * token), which passes; the next run resumes from the checkpoint, whose token is this one or one
 * before it, and finds its place after the last event read if that is refused too. The token is
 * kept out of the message, also where the server's own text quotes it, as it is or URL-encoded.
 */
function refusedOwnToken(
  roomId: string,
  token: string,
  origin: string,
  refused: MatrixRequestError,
): MatrixPaginationError {
  const code = refused.errcode ? ` ${refused.errcode}` : '';
  return new MatrixPaginationError(
    roomId,
    `the homeserver refused a pagination token it had handed out itself ${origin} (${refused.status}${code}: ${redact(refused.detail, token)}): it may have restarted or been migrated, or a proxy sent the request to another server; the next run resumes from the checkpoint`,
    { retryable: true, ...(refused.failureCause && { failureCause: refused.failureCause }) },
  );
}

/** Errcodes of a 400 that blames the JSON `filter`, not the token. */
const FILTER_ERRCODES = new Set(['M_BAD_JSON', 'M_NOT_JSON']);

/**
 * Errcodes of a 404 about the `from` token: servers that answer a token they do not know (from
 * before a purge or an upgrade) as not found. M_NOT_FOUND and M_FORBIDDEN speak of the room.
 */
const TOKEN_404_ERRCODES = new Set(['M_UNKNOWN', 'M_INVALID_PARAM']);

/**
 * A 400 that may be about the `from` token (M_INVALID_PARAM, M_UNKNOWN, or no errcode at all), or
 * a 404 that says so by its errcode.
 */
function refusedToken(error: unknown): error is MatrixRequestError {
  if (!(error instanceof MatrixRequestError)) return false;
  if (error.status === 404) return TOKEN_404_ERRCODES.has(error.errcode ?? '');
  return error.status === 400 && !FILTER_ERRCODES.has(error.errcode ?? '');
}

/**
 * The events of a resumed read's first page after `last`, the last event read before it, when the
 * page has it; events before it in the timeline were read before it too. `again`: how many were
 * dropped.
 */
function afterLastRead(chunk: unknown[], last: string | null): { chunk: unknown[]; again: number } {
  const at = last === null ? -1 : chunk.findIndex((event) => idOf(event) === last);
  return at === -1 ? { chunk, again: 0 } : { chunk: chunk.slice(at + 1), again: at + 1 };
}

/** The id of the last event of a chunk that has one. */
function lastEventId(chunk: readonly unknown[]): string | null {
  for (let i = chunk.length - 1; i >= 0; i--) {
    const id = (chunk[i] as { event_id?: unknown } | null)?.event_id;
    if (isEventId(id)) return id;
  }
  return null;
}

/**
 * The server refused the token a resume brought (400, or a 404 saying so: it expired, or the
 * checkpoint outlived a migration or a restore of the server). The token just after the last event
 * read, from
 * `/context/{last}?limit=0`, stands where the refused one stood. Without such an event, the
 * room fails saying so: only starting it over can read it now.
 */
async function placeAfter(
  context: TimelineContext,
  roomId: string,
  last: string | null,
  refused: MatrixRequestError,
  signal: AbortSignal,
): Promise<string> {
  const code = refused.errcode ? ` ${refused.errcode}` : '';
  const why = `the homeserver refused the pagination token stored in the checkpoint (${refused.status}${code}: ${refused.detail})`;
  const fail = (how: string) =>
    new MatrixPaginationError(
      roomId,
      `${why}, ${how}: reset the unit to read the room again from its start (its messages then reach the sink again)`,
    );
  if (last === null) throw fail('and the cursor names no event read to find the place by');
  let after: string | null;
  try {
    after = (await eventContext(context.http, roomId, last, signal)).end;
  } catch (error) {
    if (!(error instanceof MatrixRequestError) || error.retryable) throw error;
    throw fail(`and the last event read, ${last}, cannot be found either (${error.message})`);
  }
  if (after === null) throw fail(`and /context of the last event read, ${last}, gave no end token`);
  context.options.onWarning({
    code: 'token-refused',
    roomId,
    eventId: last,
    message: `room ${roomId}: ${why}; reading on after the last event read, ${last}`,
  });
  return after;
}

/**
 * An event id goes into the `/context/{eventId}` path; every event id starts with `$`. Anything else
 * is not one, and `.` or `..` would even leave its segment: URL parsing resolves
 * `/rooms/{roomId}/context/..` to `/rooms/{roomId}/`.
 */
function isEventId(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith('$');
}

/** The token just before the room's m.room.create event: `/state`, then `/context/{id}?limit=0`. */
async function startOfHistory(
  context: TimelineContext,
  roomId: string,
  signal: AbortSignal,
): Promise<string> {
  const state = await roomState(context.http, roomId, signal);
  const create = state.find(
    (event): event is { event_id: string } =>
      typeof event === 'object' &&
      event !== null &&
      (event as { type?: unknown }).type === 'm.room.create' &&
      isEventId((event as { event_id?: unknown }).event_id),
  );
  if (!create)
    throw new MatrixPaginationError(
      roomId,
      'the room state has no m.room.create event to start the history from',
    );
  const around = await eventContext(context.http, roomId, create.event_id, signal);
  if (around.start === null) {
    throw new MatrixPaginationError(
      roomId,
      `/context of m.room.create ${create.event_id} gave no start token`,
    );
  }
  return around.start;
}
