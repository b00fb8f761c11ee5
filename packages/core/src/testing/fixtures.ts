import type { Change } from '../model/changes.js';

/** Ids that stores must keep verbatim: path separators, traversal, NUL, unicode, 500 characters. */
export const ODD_IDS: readonly string[] = [
  'github:acme/pulls',
  '../x',
  '/etc/passwd',
  'back\\slash',
  'nul\u0000byte',
  'ünïcødé 🚀 名前',
  "quote'; drop table units; --",
  'x'.repeat(500),
  '.',
  'CON',
];

/**
 * A change log that touches every change type: a checkpoint with one unit per status, id maps,
 * counters, meta and a save. Deterministic, so stores can compare loads with `replay`.
 */
export function changeLog(id: string): Change[] {
  const at = (minute: number) => `2026-01-01T00:${String(minute).padStart(2, '0')}:00.000Z`;
  return [
    { type: 'created', at: at(0), id, configDigest: 'a'.repeat(64) },
    { type: 'unit.planned', at: at(1), key: 'collect/acme/api/pulls', total: 300 },
    { type: 'unit.planned', at: at(1), key: 'collect/acme/api/issues' },
    { type: 'unit.planned', at: at(1), key: 'collect/acme/web/pulls', total: null },
    { type: 'unit.planned', at: at(1), key: 'collect/acme/web/issues' },
    { type: 'unit.started', at: at(2), key: 'collect/acme/api/pulls' },
    {
      type: 'unit.progressed',
      at: at(3),
      key: 'collect/acme/api/pulls',
      cursor: {
        url: 'https://api.github.com/repositories/1/pulls?page=2',
        etag: 'W/"abc"',
        since: null,
      },
      done: 100,
    },
    { type: 'unit.completed', at: at(4), key: 'collect/acme/api/pulls', done: 300 },
    { type: 'unit.started', at: at(5), key: 'collect/acme/api/issues' },
    {
      type: 'unit.progressed',
      at: at(6),
      key: 'collect/acme/api/issues',
      cursor: 7,
      done: 6.5,
      total: 20,
    },
    { type: 'unit.started', at: at(7), key: 'collect/acme/web/pulls' },
    {
      type: 'unit.failed',
      at: at(8),
      key: 'collect/acme/web/pulls',
      message: 'HTTP 451 — "unavailable"',
      retryable: false,
      // A structured cause, with a URL that is not ASCII: a store must give it back as it was.
      cause: { status: 451, errcode: 'dmca', url: 'https://api.github.com/repos/acme/wéb b/pulls' },
    },
    { type: 'id.mapped', map: 'matrix-event', source: '$ev1:example.org', target: 456 },
    { type: 'id.mapped', map: 'matrix-event', source: '$ev2:example.org', target: 'c-789' },
    { type: 'id.mapped', map: 'rows', source: 'ünïcødé', target: 0 },
    { type: 'counter.added', name: 'requests', by: 12 },
    { type: 'counter.added', name: 'requests', by: 3 },
    { type: 'counter.added', name: 'ratio', by: 0.25 },
    {
      type: 'meta.set',
      key: 'org',
      value: { name: 'acme', repos: ['api', 'web'], nested: { ok: true, n: null } },
    },
    { type: 'status', at: at(9), status: 'interrupted' },
    {
      type: 'saved',
      at: at(10),
      reason: 'Rate-limit: 800/5000 (16.0% remaining <= 20.0% threshold)',
    },
  ];
}
