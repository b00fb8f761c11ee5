/**
 * Tooltips and descriptions of checkpoints whose strings a stranger (or a remote API that
 * supplied a cursor) chose: Markdown, HTML, line breaks and `$(icon)` syntax must show as text.
 */
import { summarize } from '@checkpointkit/core';
import { describe, expect, it } from 'vitest';
import { checkpointTooltip, unitDescription, unitTooltip } from '../../src/model/present.js';
import { checkpointWith } from './checkpoints.js';

/** CommonMark's backslash escapes undone: the text a Markdown renderer shows. */
const rendered = (markdown: string) => markdown.replace(/\\([!-/:-@[-`{-~])/g, '$1');
/** Icons VS Code would draw in rendered text (an escaped `\$(name)` is plain text). */
const icons = (text: string) =>
  [...text.matchAll(/(\\)?\$\(([a-z0-9-]+(?:~[a-z]+)?)\)/gi)]
    .filter((match) => match[1] === undefined)
    .map((match) => match[2]);

describe('hostile strings in tooltips', () => {
  it('keeps a cursor with line breaks inside its code span (no image, no link, no list)', () => {
    const cp = checkpointWith('x', { a: 'in_progress' });
    const unit = cp.units['a']!;
    unit.cursor = 'next\n\n![pixel](https://evil.example/p.png)\n- [click](command:evil)\r\n# head';
    const tooltip = unitTooltip('a', unit);
    const lines = tooltip.split('\n').filter((line) => line.includes('evil'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^- cursor: `[^`]*`$/);
    expect(unitDescription(unit)).not.toMatch(/[\r\n]/);
  });

  it('draws no icon for $(name) in a checkpoint id, counter, file name or save reason', () => {
    const cp = checkpointWith('$(lock) locked by pid 1', { a: 'complete' });
    cp.stats['$(warning) damaged'] = 1;
    cp.meta.lastSaveReason = '$(sync~spin)';
    const tooltip = checkpointTooltip(summarize(cp), {
      file: '.checkpoints/$(pass).checkpoint.json',
      format: 'checkpointkit/1',
      lockOwner: null,
    });
    expect(icons(rendered(tooltip))).toEqual([]);
    expect(rendered(tooltip)).toContain('$(lock) locked by pid 1');
  });
});
