import { summarize } from '@checkpointkit/core';
import { describe, expect, it } from 'vitest';
import { phaseProgress } from '../../src/model/phases.js';
import { escapeHtml, stackedBar, summaryHtml } from '../../src/model/summary-html.js';
import { summaryMarkdown, textBar } from '../../src/model/summary-text.js';
import { checkpointWith } from './checkpoints.js';

const cp = checkpointWith('github:acme', {
  'discover/acme': 'complete',
  'collect/acme/pulls': 'complete',
  'collect/acme/issues': 'failed',
  'collect/beta/pulls': 'pending',
  'collect/beta/issues': 'in_progress',
});

describe('phases', () => {
  it('counts units per first key segment, in plan order', () => {
    expect(phaseProgress(cp)).toEqual([
      {
        phase: 'discover',
        total: 1,
        percent: 100,
        counts: { pending: 0, in_progress: 0, complete: 1, failed: 0 },
      },
      {
        phase: 'collect',
        total: 4,
        percent: 25,
        counts: { pending: 1, in_progress: 1, complete: 1, failed: 1 },
      },
    ]);
  });
});

describe('summary text', () => {
  it('draws text bars', () => {
    expect(textBar(0, 4)).toBe('░░░░');
    expect(textBar(50, 4)).toBe('██░░');
    expect(textBar(100, 4)).toBe('████');
  });

  it('holds the totals, a bar per phase and the failed units with their errors', () => {
    const text = summaryMarkdown(cp, summarize(cp), {
      file: 'a/b.checkpoint.json',
      format: 'checkpointkit/1',
    });
    expect(text).toContain('# github:acme');
    expect(text).toContain(
      '40.0% complete: 2 of 5 units complete, 1 in progress, 1 pending, 1 failed.',
    );
    expect(text).toContain('`█████░░░░░░░░░░░░░░░` 25.0% collect (1/4, 1 failed)');
    expect(text).toContain('- collect/acme/issues: HTTP 502 on collect/acme/issues');
  });
});

describe('summary page', () => {
  it('draws a stacked bar with one segment per status present', () => {
    const svg = stackedBar({ complete: 1, in_progress: 1, failed: 2, pending: 0 }, 4);
    expect(svg).toContain('<rect class="complete" x="0.000%" y="0" width="25.000%"');
    expect(svg).toContain('<rect class="failed" x="50.000%" y="0" width="50.000%"');
    expect(svg).not.toContain('class="pending"');
  });

  it('is a static page under a strict CSP, with a row per phase and escaped text', () => {
    const evil = checkpointWith('<script>alert(1)</script>', { 'p<b>/x': 'failed' });
    const html = summaryHtml(evil, summarize(evil), {
      file: 'f.json',
      format: 'seed-003',
      cspSource: 'vscode-webview:',
      nonce: 'abc',
    });
    expect(html).toContain("default-src 'none'");
    expect(html).toContain('<style nonce="abc">');
    expect(html).not.toContain('<script>');
    expect(html).toContain(escapeHtml('<script>alert(1)</script>'));
    expect(html).toContain(`<th>${escapeHtml('p<b>')}</th>`);
    expect(html).toContain('(seed 003)');
  });

  it('has a bar per phase', () => {
    const html = summaryHtml(cp, summarize(cp), {
      file: 'f',
      format: 'checkpointkit/1',
      cspSource: 's',
      nonce: 'n',
    });
    expect(
      html.match(/<tr><th>(discover|collect)<\/th><td class="bar-cell"><svg class="bar"/g),
    ).toHaveLength(2);
  });
});
