import { describe, expect, it } from 'vitest';
import { dependencies, type MatrixMessage, parentOf, resolveParent } from '../../src/index.js';
import { firstMissing, orphans, overflowing, partition } from '../../src/replies.js';

const m = (
  eventId: string,
  inReplyTo: string | null = null,
  threadRoot: string | null = null,
): MatrixMessage => ({
  eventId,
  roomId: '!r:x',
  sender: '@a:x',
  ts: 1,
  msgtype: 'm.text',
  body: eventId,
  formattedBody: null,
  inReplyTo,
  threadRoot,
  edited: false,
  editedTs: null,
  redacted: false,
});

describe('reply dependencies', () => {
  it('are the reply parent and the thread root, once each, never the message itself', () => {
    expect(dependencies(m('$a'))).toEqual([]);
    expect(dependencies(m('$a', '$p', '$root'))).toEqual(['$p', '$root']);
    expect(dependencies(m('$a', '$root', '$root'))).toEqual(['$root']);
    expect(dependencies(m('$a', '$a'))).toEqual([]);
  });

  it('make the parent the replied-to event, else the thread root', () => {
    expect(parentOf(m('$a', '$p', '$root'))).toBe('$p');
    expect(parentOf(m('$a', null, '$root'))).toBe('$root');
    expect(parentOf(m('$a'))).toBeNull();
  });

  it('resolve through the run id map', () => {
    const run = {
      lookupId: (map: string, id: string) =>
        map === 'matrix-event' && id === '$p' ? 41 : undefined,
    };
    expect(resolveParent(m('$a', '$p'), run)).toBe(41);
    expect(resolveParent(m('$a', '$q'), run)).toBeNull();
    expect(resolveParent(m('$a'), run)).toBeNull();
    expect(resolveParent(m('$a', '$p'), run, 'other')).toBeNull();
  });
});

describe('holding', () => {
  const mapped = new Set(['$p']);
  const isMapped = (id: string) => mapped.has(id);

  it('partitions in order into ready and waiting', () => {
    const list = [m('$1'), m('$2', '$q'), m('$3', '$p'), m('$4', null, '$q')];
    const { ready, waiting } = partition(list, isMapped);
    expect(ready.map((x) => x.eventId)).toEqual(['$1', '$3']);
    expect(waiting.map((x) => x.eventId)).toEqual(['$2', '$4']);
  });

  it('releases orphans first: messages whose missing parent is not held itself', () => {
    const held = [m('$child', '$orphan'), m('$orphan', '$nowhere'), m('$other', '$gone')];
    expect(orphans(held, isMapped).map((x) => x.eventId)).toEqual(['$orphan', '$other']);
    expect(firstMissing(held[0]!, isMapped)).toBe('$orphan');
    // A cycle cannot happen in Matrix, but must not stall either.
    expect(orphans([m('$x', '$y'), m('$y', '$x')], isMapped)).toHaveLength(2);
  });
});

describe('held replies past their bounds', () => {
  const sized = (id: string, bytes: number) => ({ ...m(id, '$p'), body: 'x'.repeat(bytes) });
  const size = (message: MatrixMessage) => Buffer.byteLength(JSON.stringify(message));

  it('are the oldest: beyond maxHeld in number, then beyond maxHeldBytes in size', () => {
    const held = [sized('$1', 100), sized('$2', 5000), sized('$3', 100), sized('$4', 100)];
    const ids = (out: MatrixMessage[]) => out.map((message) => message.eventId);
    expect(ids(overflowing(held, { maxHeld: 10, maxHeldBytes: 1e9 }))).toEqual([]);
    expect(ids(overflowing(held, { maxHeld: 3, maxHeldBytes: 1e9 }))).toEqual(['$1']);
    const three = size(held[1]!) + size(held[2]!) + size(held[3]!);
    expect(ids(overflowing(held, { maxHeld: 10, maxHeldBytes: three }))).toEqual(['$1']);
    expect(ids(overflowing(held, { maxHeld: 10, maxHeldBytes: three - 1 }))).toEqual(['$1', '$2']);
    // One reply larger than the bound is not held at all.
    expect(ids(overflowing([sized('$big', 5000)], { maxHeld: 10, maxHeldBytes: 4000 }))).toEqual([
      '$big',
    ]);
  });
});
