import { stripVTControlCharacters } from 'node:util';

const visible = (text: string) => stripVTControlCharacters(text).length;

/** Left-aligned columns separated by two spaces; `right` lists the columns to align right. */
export function table(rows: string[][], options: { right?: number[] } = {}): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, column) => {
      widths[column] = Math.max(widths[column] ?? 0, visible(cell));
    });
  }
  const right = new Set(options.right ?? []);
  return rows.map((row) =>
    row
      .map((cell, column) => {
        if (column === row.length - 1 && !right.has(column)) return cell;
        const pad = ' '.repeat((widths[column] ?? 0) - visible(cell));
        return right.has(column) ? pad + cell : cell + pad;
      })
      .join('  ')
      .trimEnd(),
  );
}
