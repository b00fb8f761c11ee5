import { describe, expect, it } from 'vitest';
import { applyEdit, asClientEvent, type ClientEvent, toMessage } from '../../src/events.js';
import { stripHtmlFallback, stripPlainFallback } from '../../src/index.js';

const ROOM = '!r:example.org';
let n = 0;
function event(content: Record<string, unknown>, extra: Partial<ClientEvent> = {}): ClientEvent {
  n += 1;
  return {
    event_id: `$e${n}`,
    type: 'm.room.message',
    sender: '@alice:example.org',
    origin_server_ts: 1000 + n,
    content,
    ...extra,
  };
}
const opts = { stripReplyFallbacks: true };

describe('toMessage', () => {
  it('takes the body, msgtype and HTML body of a message', () => {
    const e = event({
      msgtype: 'm.emote',
      body: 'waves',
      format: 'org.matrix.custom.html',
      formatted_body: '<i>waves</i>',
    });
    expect(toMessage(e, ROOM, opts)).toEqual({
      eventId: e.event_id,
      roomId: ROOM,
      sender: '@alice:example.org',
      ts: e.origin_server_ts,
      msgtype: 'm.emote',
      body: 'waves',
      formattedBody: '<i>waves</i>',
      inReplyTo: null,
      threadRoot: null,
      edited: false,
      editedTs: null,
      redacted: false,
    });
  });

  it('ignores formatted_body in another format', () => {
    const e = event({
      msgtype: 'm.text',
      body: 'x',
      format: 'org.example.markdown',
      formatted_body: '*x*',
    });
    expect(toMessage(e, ROOM, opts).formattedBody).toBeNull();
  });

  it('reads a rich reply, stripping the fallback quote from both bodies', () => {
    const e = event({
      msgtype: 'm.text',
      body: '> <@bob:example.org> hello\n> there\n\nhi bob',
      format: 'org.matrix.custom.html',
      formatted_body: '<mx-reply><blockquote>hello there</blockquote></mx-reply>hi <b>bob</b>',
      'm.relates_to': { 'm.in_reply_to': { event_id: '$parent' } },
    });
    expect(toMessage(e, ROOM, opts)).toMatchObject({
      inReplyTo: '$parent',
      body: 'hi bob',
      formattedBody: 'hi <b>bob</b>',
    });
    expect(toMessage(e, ROOM, { stripReplyFallbacks: false }).body).toMatch(/^> <@bob/);
  });

  it('does not strip quotes from a message that is not a reply', () => {
    const e = event({ msgtype: 'm.text', body: '> quoting myself\n\nok' });
    expect(toMessage(e, ROOM, opts).body).toBe('> quoting myself\n\nok');
  });

  it('gives a thread message its root; the falling-back reply pointer is not a reply', () => {
    const fallback = event({
      msgtype: 'm.text',
      body: 'in thread',
      'm.relates_to': {
        rel_type: 'm.thread',
        event_id: '$root',
        is_falling_back: true,
        'm.in_reply_to': { event_id: '$latest' },
      },
    });
    expect(toMessage(fallback, ROOM, opts)).toMatchObject({ threadRoot: '$root', inReplyTo: null });
    const realReply = event({
      msgtype: 'm.text',
      body: 'answer',
      'm.relates_to': {
        rel_type: 'm.thread',
        event_id: '$root',
        is_falling_back: false,
        'm.in_reply_to': { event_id: '$q' },
      },
    });
    expect(toMessage(realReply, ROOM, opts)).toMatchObject({
      threadRoot: '$root',
      inReplyTo: '$q',
    });
    const bare = event({
      msgtype: 'm.text',
      body: 'x',
      'm.relates_to': { rel_type: 'm.thread', event_id: '$root' },
    });
    expect(toMessage(bare, ROOM, opts)).toMatchObject({ threadRoot: '$root', inReplyTo: null });
  });

  it('turns a redacted message into a tombstone', () => {
    const e = event({}, { unsigned: { redacted_because: { type: 'm.room.redaction' } } });
    expect(toMessage(e, ROOM, opts)).toMatchObject({
      redacted: true,
      body: null,
      msgtype: null,
      inReplyTo: null,
      edited: false,
    });
  });

  it('applies a bundled edit in the spec v1.7 format (the whole edit event)', () => {
    const e = event(
      {
        msgtype: 'm.text',
        body: 'old',
        format: 'org.matrix.custom.html',
        formatted_body: '<p>old</p>',
      },
      {
        unsigned: {
          'm.relations': {
            'm.replace': {
              event_id: '$edit',
              sender: '@alice:example.org',
              origin_server_ts: 5000,
              content: { body: '* new', 'm.new_content': { msgtype: 'm.text', body: 'new' } },
            },
          },
        },
      },
    );
    // The replacement is whole: formatted_body is gone because the new content has none.
    expect(toMessage(e, ROOM, opts)).toMatchObject({
      body: 'new',
      formattedBody: null,
      edited: true,
      editedTs: 5000,
    });
  });

  it('trusts the content of a Synapse 1.67 message that bundles an edit reference only', () => {
    const e = event(
      { msgtype: 'm.text', body: 'msg 7 edited' },
      {
        unsigned: {
          'm.relations': {
            'm.replace': {
              event_id: '$edit',
              origin_server_ts: 7000,
              sender: '@alice:example.org',
            },
          },
        },
      },
    );
    expect(toMessage(e, ROOM, opts)).toMatchObject({
      body: 'msg 7 edited',
      edited: true,
      editedTs: 7000,
    });
  });

  it('ignores a bundled edit by someone else', () => {
    const e = event(
      { msgtype: 'm.text', body: 'mine' },
      {
        unsigned: {
          'm.relations': {
            'm.replace': {
              sender: '@mallory:example.org',
              origin_server_ts: 1,
              content: { 'm.new_content': { body: 'yours' } },
            },
          },
        },
      },
    );
    expect(toMessage(e, ROOM, opts)).toMatchObject({ body: 'mine', edited: false });
  });
});

describe('applyEdit', () => {
  const original = () => toMessage(event({ msgtype: 'm.text', body: 'v1' }), ROOM, opts);
  const edit = (body: string, ts: number, sender = '@alice:example.org') =>
    event(
      { msgtype: 'm.text', body: `* ${body}`, 'm.new_content': { msgtype: 'm.text', body } },
      { origin_server_ts: ts, sender },
    );

  it('applies the newest valid edit and keeps the original relations', () => {
    const message = { ...original(), inReplyTo: '$p' };
    expect(applyEdit(message, edit('v3', 300), opts)).toBe(true);
    expect(applyEdit(message, edit('v2', 200), opts)).toBe(false);
    expect(message).toMatchObject({ body: 'v3', edited: true, editedTs: 300, inReplyTo: '$p' });
  });

  it('refuses edits by another sender or without m.new_content; an edit of a tombstone restores nothing but marks it edited', () => {
    const message = original();
    expect(applyEdit(message, edit('x', 1, '@mallory:example.org'), opts)).toBe(false);
    expect(applyEdit(message, event({ body: '* x', msgtype: 'm.text' }), opts)).toBe(false);
    const tomb = { ...original(), redacted: true, body: null };
    expect(applyEdit(tomb, edit('back', 9), opts)).toBe(true);
    expect(tomb).toMatchObject({ redacted: true, body: null, edited: true, editedTs: 9 });
    expect(message.body).toBe('v1');
  });
});

describe('asClientEvent', () => {
  it.each([
    [null, 'not an object'],
    [{ type: 'm.room.message' }, 'no event_id'],
    [{ event_id: '$a', sender: '@a:b', origin_server_ts: 1, content: {} }, 'no type'],
    [{ event_id: '$a', type: 't', origin_server_ts: 1, content: {} }, 'no sender'],
    [{ event_id: '$a', type: 't', sender: '@a:b', content: {} }, 'no origin_server_ts'],
    [
      { event_id: '$a', type: 't', sender: '@a:b', origin_server_ts: 1, content: [] },
      'content is not an object',
    ],
    [
      { event_id: '$a', type: 't', sender: '@a:b', origin_server_ts: 1, content: {}, unsigned: 3 },
      'unsigned is not an object',
    ],
  ])('refuses %j: %s', (value, reason) => {
    expect(asClientEvent(value)).toMatchObject({ malformed: reason });
  });
});

describe('fallback stripping', () => {
  it('drops only the leading quote block and the blank line after it', () => {
    expect(stripPlainFallback('> <@a:b> q\n\nanswer\n> not a fallback')).toBe(
      'answer\n> not a fallback',
    );
    expect(stripPlainFallback('> <@a:b> q\nanswer')).toBe('answer');
    expect(stripPlainFallback('plain')).toBe('plain');
    expect(stripHtmlFallback('<mx-reply><a>q</a></mx-reply><p>a</p>')).toBe('<p>a</p>');
    expect(stripHtmlFallback('<mx-reply>unterminated')).toBe('<mx-reply>unterminated');
    expect(stripHtmlFallback('<p>a</p>')).toBe('<p>a</p>');
  });
});
