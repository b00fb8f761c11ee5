import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultCheckpointDir } from '@checkpointkit/storage-file';
import { describe, expect, it } from 'vitest';
import { CANONICAL_GLOBS } from '../../src/discovery/globs.js';
import { packageDir } from '../harness/paths.js';

const manifest = JSON.parse(readFileSync(join(packageDir(), 'package.json'), 'utf8')) as {
  activationEvents: string[];
};
const contains = manifest.activationEvents
  .filter((event) => event.startsWith('workspaceContains:'))
  .map((event) => event.slice('workspaceContains:'.length));

describe('activation events', () => {
  it('a workspace with the checkpoint file names discovery searches for activates the extension', () => {
    for (const glob of CANONICAL_GLOBS) expect(contains).toContain(glob);
  });

  // VS Code gives up a glob `workspaceContains` search after 7 s (log: "Not activating extension
  // ...: Timed out while searching") and then never activates the extension: on a busy machine
  // or in a big workspace the view stayed empty. A pattern without wildcards is a plain exists
  // check per folder with no search and no timeout; the store's default folder is the common case.
  it("the file store's default folder activates it without a search that can time out", () => {
    const saved = process.env['CHECKPOINT_DIR'];
    delete process.env['CHECKPOINT_DIR'];
    try {
      const dir = defaultCheckpointDir();
      expect(dir).not.toMatch(/[*?{}[\]]/);
      expect(contains).toContain(dir);
    } finally {
      if (saved !== undefined) process.env['CHECKPOINT_DIR'] = saved;
    }
  });
});
