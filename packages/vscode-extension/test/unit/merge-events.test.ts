import { describe, expect, it } from 'vitest';
import { mergeEventKinds } from '../../src/discovery/merge-events.js';

describe('mergeEventKinds', () => {
  it('keeps a creation a creation when the file then changes', () => {
    expect(mergeEventKinds('created', 'changed')).toBe('created');
  });
  it('lets a deletion win over anything before it', () => {
    expect(mergeEventKinds('created', 'deleted')).toBe('deleted');
    expect(mergeEventKinds('changed', 'deleted')).toBe('deleted');
  });
  it('reads a file deleted and written again as changed', () => {
    expect(mergeEventKinds('deleted', 'created')).toBe('changed');
  });
  it('keeps an appeared path (a possible folder) to be searched', () => {
    expect(mergeEventKinds(undefined, 'appeared')).toBe('appeared');
    expect(mergeEventKinds('deleted', 'appeared')).toBe('appeared');
  });
  it('passes a first event through', () => {
    expect(mergeEventKinds(undefined, 'changed')).toBe('changed');
  });
});
