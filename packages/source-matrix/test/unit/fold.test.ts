import { describe, expect, it } from 'vitest';
import { toMessage } from '../../src/events.js';
import { foldPage } from '../../src/fold.js';
import type { MatrixWarning } from '../../src/index.js';

const ROOM = '!r:example.org';
const base = { sender: '@alice:example.org', room_id: ROOM };
const msg = (id: string, body: string, ts = 1) => ({
  ...base,
  event_id: id,
  type: 'm.room.message',
  origin_server_ts: ts,
  content: { msgtype: 'm.text', body },
});
const edit = (id: string, target: string, body: string, ts = 10) => ({
  ...base,
  event_id: id,
  type: 'm.room.message',
  origin_server_ts: ts,
  content: {
    msgtype: 'm.text',
    body: `* ${body}`,
    'm.new_content': { msgtype: 'm.text', body },
    'm.relates_to': { rel_type: 'm.replace', event_id: target },
  },
});

function fold(events: unknown[], pending = [] as ReturnType<typeof toMessage>[]) {
  const warnings: MatrixWarning[] = [];
  const messages = foldPage(events, pending, {
    roomId: ROOM,
    stripReplyFallbacks: true,
    warn: (w) => warnings.push(w),
  });
  return { messages, warnings };
}

describe('foldPage', () => {
  it('folds an edit into its original on the same page and never emits the edit', () => {
    const { messages } = fold([msg('$a', 'draft'), msg('$b', 'other'), edit('$e', '$a', 'final')]);
    expect(messages.map((m) => [m.eventId, m.body, m.edited])).toEqual([
      ['$a', 'final', true],
      ['$b', 'other', false],
    ]);
  });

  it('folds an edit into a held message (changed in place) and drops edits of earlier pages', () => {
    const held = toMessage(msg('$held', 'waiting') as never, ROOM, { stripReplyFallbacks: true });
    const { messages } = fold(
      [edit('$e1', '$held', 'edited while held'), edit('$e2', '$gone', 'too late')],
      [held],
    );
    expect(messages).toEqual([]);
    expect(held).toMatchObject({ body: 'edited while held', edited: true });
  });

  it('tombstones a message redacted on the same page (redacts at the top level or in content)', () => {
    const { messages } = fold([
      msg('$a', 'bad'),
      msg('$b', 'also bad'),
      {
        ...base,
        event_id: '$r1',
        type: 'm.room.redaction',
        origin_server_ts: 2,
        redacts: '$a',
        content: {},
      },
      {
        ...base,
        event_id: '$r2',
        type: 'm.room.redaction',
        origin_server_ts: 3,
        content: { redacts: '$b' },
      },
    ]);
    expect(messages.map((m) => [m.eventId, m.redacted, m.body])).toEqual([
      ['$a', true, null],
      ['$b', true, null],
    ]);
  });

  it('keeps "edited" on a message edited and then redacted, in either order on the page', () => {
    const redaction = (id: string, target: string, ts: number) => ({
      ...base,
      event_id: id,
      type: 'm.room.redaction',
      origin_server_ts: ts,
      redacts: target,
      content: {},
    });
    const { messages } = fold([
      msg('$a', 'draft'),
      edit('$e1', '$a', 'final', 5),
      redaction('$r1', '$a', 6),
      msg('$b', 'draft'),
      redaction('$r2', '$b', 7),
      edit('$e2', '$b', 'late', 8),
    ]);
    expect(messages.map((m) => [m.eventId, m.redacted, m.body, m.edited, m.editedTs])).toEqual([
      ['$a', true, null, true, 5],
      ['$b', true, null, true, 8],
    ]);
  });

  it('keeps "edited" on a message the server sent already redacted with its edit bundled', () => {
    const message = toMessage(
      {
        ...base,
        event_id: '$gone',
        type: 'm.room.message',
        origin_server_ts: 1,
        content: {},
        unsigned: {
          redacted_because: { type: 'm.room.redaction', sender: base.sender },
          'm.relations': {
            'm.replace': { event_id: '$e', origin_server_ts: 9, sender: base.sender },
          },
        },
      } as never,
      ROOM,
      { stripReplyFallbacks: true },
    );
    expect(message).toMatchObject({ redacted: true, body: null, edited: true, editedTs: 9 });
  });

  it('skips other event types and repeated events, and reports malformed ones', () => {
    const { messages, warnings } = fold([
      {
        ...base,
        event_id: '$s',
        type: 'm.room.name',
        state_key: '',
        origin_server_ts: 1,
        content: { name: 'n' },
      },
      { ...base, event_id: '$x', type: 'm.reaction', origin_server_ts: 1, content: {} },
      msg('$a', 'once'),
      msg('$a', 'once'),
      { event_id: '$bad', type: 'm.room.message', origin_server_ts: 1, content: {} },
      'garbage',
    ]);
    expect(messages.map((m) => m.eventId)).toEqual(['$a']);
    expect(warnings).toEqual([
      {
        code: 'malformed-event',
        roomId: ROOM,
        eventId: '$bad',
        message: `skipped an event of room ${ROOM} ($bad): no sender`,
      },
      {
        code: 'malformed-event',
        roomId: ROOM,
        message: `skipped an event of room ${ROOM}: not an object`,
      },
    ]);
  });
});
