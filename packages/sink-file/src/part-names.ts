import { basename, dirname, join } from 'node:path';
import { SinkFileConflictError } from './errors.js';
import { partPath } from './parts.js';

/**
 * The outputs a rotating sink writes, by absolute path, so that none is a part of another: unit
 * `report.1` names `report.1.jsonl`, which is part 1 of unit `report`'s `report.jsonl`. Both
 * would claim the file: a fresh start of `report` removes it as an unacknowledged part, a fresh
 * start of `report.1` cuts `report`'s part to nothing.
 */
export class OutputNames {
  readonly #outputs = new Set<string>();
  /** An output (added or not) → an added output named like one of its parts. */
  readonly #namedLikeParts = new Map<string, { name: string; part: number }>();

  /**
   * Adds `path`, or throws {@link SinkFileConflictError} when it is a part of an output already
   * added or one of its parts is; adds nothing then.
   */
  add(path: string): void {
    if (this.#outputs.has(path)) return;
    const owners = partOwners(path);
    for (const { output, part } of owners) {
      if (this.#outputs.has(output)) throw collision(output, path, part);
    }
    const named = this.#namedLikeParts.get(path);
    if (named) throw collision(path, named.name, named.part);
    this.#outputs.add(path);
    // One such output is enough to refuse `path` later.
    for (const { output, part } of owners) this.#namedLikeParts.set(output, { name: path, part });
  }
}

function collision(output: string, part: string, n: number): SinkFileConflictError {
  return new SinkFileConflictError(
    [output, part],
    `collide: with maxBytes set, the second is part ${n} of the first, and each start of one would remove or cut what the other wrote`,
  );
}

/** The outputs whose part `path` would be (`out.1.jsonl` → `out.jsonl`, part 1), usually none. */
function partOwners(path: string): { output: string; part: number }[] {
  const dir = dirname(path);
  const name = basename(path);
  const owners: { output: string; part: number }[] = [];
  // A part number is a `.N` segment (N from 1, as partPath writes it), before a dot or at the end.
  for (const match of name.matchAll(/\.([1-9]\d*)(?=\.|$)/g)) {
    const rest = name.slice(0, match.index) + name.slice(match.index + match[0].length);
    if (rest === '') continue;
    const output = join(dir, rest);
    const part = Number(match[1]);
    if (partPath(output, part) === path) owners.push({ output, part });
  }
  return owners;
}
