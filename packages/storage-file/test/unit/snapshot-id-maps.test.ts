/**
 * Id maps are parsed on first use, not when a snapshot is opened. Whatever touches them first
 * (a lookup, the reducer, JSON.stringify, structuredClone, an assignment) must see exactly what
 * was written, also when a cursor or a mapped id looks like the field the split looks for.
 */
import { applyChange, type Checkpoint, emptyCheckpoint, emptyUnit } from '@checkpointkit/core';
import { describe, expect, it } from 'vitest';
import { decodeSnapshot, encodeSnapshot } from '../../src/index.js';

function sample(): Checkpoint {
  const checkpoint = emptyCheckpoint('ids', '2026-12-05T10:00:00.000Z', null);
  for (let i = 0; i < 20; i++) checkpoint.units[`unit/${i}`] = emptyUnit(10);
  // Text that looks like the boundary between units and id maps, in a cursor and in the maps.
  checkpoint.units['unit/3']!.cursor = { a: {}, idMaps: [1, 2], after: '},"idMaps":[["x",{}]]}' };
  checkpoint.idMaps = {
    'matrix-event': { '$a:hs': 1, idMaps: 2, '},"idMaps":': 3 },
    rows: { '1': 'r-1', '2': 'r-2' },
  };
  return checkpoint;
}

const decoded = () => decodeSnapshot(encodeSnapshot(sample(), 7), 'ids.checkpoint.json');

describe('id maps parsed on first use', () => {
  it('reads back every map exactly, through a lookup', () => {
    const { checkpoint, seq } = decoded();
    expect(seq).toBe(7);
    expect(checkpoint.idMaps['matrix-event']).toEqual(sample().idMaps['matrix-event']);
    expect(checkpoint.idMaps).toEqual(sample().idMaps);
    expect(checkpoint.units['unit/3']!.cursor).toEqual(sample().units['unit/3']!.cursor);
  });

  it('is the same document for JSON.stringify and structuredClone, untouched before', () => {
    expect(JSON.parse(JSON.stringify(decoded().checkpoint))).toEqual(sample());
    expect(structuredClone(decoded().checkpoint)).toEqual(sample());
    expect({ ...decoded().checkpoint }).toEqual(sample());
  });

  it("takes the reducer's new mappings, and an assignment before any read", () => {
    const { checkpoint } = decoded();
    applyChange(checkpoint, { type: 'id.mapped', map: 'rows', source: '3', target: 'r-3' });
    expect(checkpoint.idMaps['rows']).toEqual({ '1': 'r-1', '2': 'r-2', '3': 'r-3' });
    expect(checkpoint.idMaps['matrix-event']?.['$a:hs']).toBe(1);

    const replaced = decoded().checkpoint;
    replaced.idMaps = {};
    expect(replaced.idMaps).toEqual({});
    expect(Object.keys(replaced)).toContain('idMaps');
  });

  it('keeps a checkpoint without maps plain', () => {
    const checkpoint = sample();
    checkpoint.idMaps = {};
    const back = decodeSnapshot(encodeSnapshot(checkpoint, 1), 'f').checkpoint;
    expect(Object.getOwnPropertyDescriptor(back, 'idMaps')?.value).toEqual({});
  });

  it('defers the maps when it can: the property is an accessor until first read', () => {
    const { checkpoint } = decoded();
    expect(Object.getOwnPropertyDescriptor(checkpoint, 'idMaps')?.get).toBeTypeOf('function');
    void checkpoint.idMaps;
    expect(Object.getOwnPropertyDescriptor(checkpoint, 'idMaps')?.get).toBeUndefined();
  });
});
