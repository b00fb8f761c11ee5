import { describe, expect, it } from 'vitest';
import { exampleSource, extractExamples, readmeLine } from '../src/readme-examples.js';

const readme = [
  '# x', // 1
  '', // 2
  '```ts', // 3
  "console.log('a');", // 4
  '```', // 5
  '', // 6
  '<!-- example: typecheck-only (needs the internet) -->', // 7
  '```ts', // 8
  'await fetch(url);', // 9
  '```', // 10
  '', // 11
  '<!-- example: run', // 12
  "const url = 'http://127.0.0.1';", // 13
  '-->', // 14
  '```ts', // 15
  'console.log(url);', // 16
  '', // 17
  'console.log(url.length);', // 18
  '```', // 19
  '```sh', // 20
  '```ts', // 21: inside the sh block, not an example
  '```', // 22
].join('\n');

describe('extractExamples', () => {
  it('reads each block, its mode, reason and prelude, with README lines', () => {
    const [plain, offline, fragment, ...rest] = extractExamples('R.md', readme);
    expect(rest).toEqual([]);
    expect(plain).toMatchObject({ index: 1, line: 4, mode: 'run', prelude: [] });
    expect(offline).toMatchObject({
      index: 2,
      line: 9,
      mode: 'typecheck-only',
      reason: '(needs the internet)',
    });
    expect(fragment).toMatchObject({ index: 3, line: 16, mode: 'run', preludeLine: 13 });
    expect(exampleSource(fragment!).split('\n')).toEqual([
      "const url = 'http://127.0.0.1';",
      'console.log(url);',
      '',
      'console.log(url.length);',
      'export {};',
      '',
    ]);
    expect([1, 2, 4, 5].map((line) => readmeLine(fragment!, line))).toEqual([13, 16, 18, 18]);
  });

  it('reads ```js blocks as JavaScript and the postgres mode', () => {
    const text =
      '<!-- example: postgres -->\n```js\nawait x;\n```\n```javascript\ny;\n```\n```json\n{}\n```\n';
    expect(extractExamples('R.md', text)).toMatchObject([
      { index: 1, language: 'js', mode: 'postgres', line: 3, code: ['await x;'] },
      { index: 2, language: 'js', mode: 'run', line: 6, code: ['y;'] },
    ]);
  });

  it('refuses an unknown mode, naming the README line', () => {
    expect(() => extractExamples('R.md', '<!-- example: skip -->\n```ts\nx\n```\n')).toThrow(
      'R.md:1: unknown example mode "skip"',
    );
  });
});
