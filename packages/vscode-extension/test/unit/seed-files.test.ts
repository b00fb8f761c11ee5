import { parseCheckpointJson, summarize } from '@checkpointkit/core';
import { GENERATORS, prng } from '@checkpointkit/core/testing';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SEED_GLOBS, pathMatcher } from '../../src/discovery/globs.js';
import { checkpointDescription, formatLabel } from '../../src/model/present.js';
import { summaryMarkdown } from '../../src/model/summary-text.js';

const FILES = 100;

describe.each(Object.keys(GENERATORS))('%s files in a workspace', (format) => {
  const generate = GENERATORS[format as keyof typeof GENERATORS];

  it(`shows ${FILES} generated files with the counts their writer knows`, () => {
    const rng = prng(format.length * 31 + 14);
    const isSeedCandidate = pathMatcher(DEFAULT_SEED_GLOBS);
    for (let i = 0; i < FILES; i++) {
      const file = generate(rng);
      // Discovery finds it where the seed's manager wrote it.
      expect(isSeedCandidate(`data/raw/job/${file.name}`), file.name).toBe(true);
      const { checkpoint, format: read } = parseCheckpointJson(JSON.stringify(file.doc), {
        file: file.name,
      });
      expect(read).toBe(format);
      const summary = summarize(checkpoint);
      const { expected } = file;
      expect([summary.total, summary.counts.complete, summary.counts.failed]).toEqual([
        expected.total,
        expected.complete,
        expected.failed,
      ]);
      const description = checkpointDescription(summary, {
        now: Date.parse(checkpoint.updatedAt),
        format: read,
        locked: false,
      });
      expect(description).toContain(formatLabel(read)!);
      expect(description.startsWith(`${summary.percent.toFixed(1)}%`)).toBe(true);
      const text = summaryMarkdown(checkpoint, summary, { file: file.name, format: read });
      expect(text).toContain(`${expected.complete} of ${expected.total} units complete`);
      if (expected.basis === 'items') {
        expect(text).toContain(`${expected.items.done} of ${expected.items.total} items`);
      }
    }
  });
});
