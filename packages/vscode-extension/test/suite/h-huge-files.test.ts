import * as assert from 'node:assert/strict';
import { mkdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EntryState } from '../../src/state/entry.js';
import { api, eventually, fixture, watcherReady } from './helpers.js';

const GiB = 1024 ** 3;

suite('huge and junk files', () => {
  test('a junk file of 1 GiB with a snapshot’s name is refused from its first bytes, a journal of 3 GiB by its size, a folder with a snapshot’s name as no file; each message names the file', async () => {
    const kit = await api();
    await watcherReady(kit);
    const dir = join(fixture().project, 'huge', '.checkpoints');
    mkdirSync(dir, { recursive: true });
    // Sparse files: no disk space, but reading one whole still costs its size in memory.
    const junk = join(dir, 'junk.checkpoint.json');
    writeFileSync(junk, 'these are not the bytes of a checkpoint\n');
    truncateSync(junk, GiB);
    const huge = join(dir, 'huge.checkpoint.jsonl');
    writeFileSync(huge, '');
    truncateSync(huge, 3 * GiB);
    // A folder with a snapshot's name, beside a journal.
    mkdirSync(join(dir, 'folder.checkpoint.json'));
    writeFileSync(join(dir, 'folder.checkpoint.jsonl'), '');
    const rssBefore = process.resourceUsage().maxRSS;
    try {
      const stateOf = (stem: string): EntryState | undefined =>
        kit.registry
          .entries()
          .find((entry) => entry.key.endsWith(`/huge/.checkpoints/${stem}.checkpoint`))?.state;
      const [junkState, hugeState, folderState] = await eventually(
        'both files shown as damaged',
        () => {
          const states = [stateOf('junk'), stateOf('huge'), stateOf('folder')];
          return states.every((state) => state?.kind === 'damaged') ? states : undefined;
        },
        30_000,
        () => JSON.stringify([stateOf('junk'), stateOf('huge'), stateOf('folder')]),
      );
      assert.match(
        (junkState as { message: string }).message,
        /^huge\/\.checkpoints\/junk\.checkpoint\.json:1: the first line is not a checkpointkit snapshot header/,
      );
      assert.match(
        (hugeState as { message: string }).message,
        /^huge\/\.checkpoints\/huge\.checkpoint\.jsonl: the file is 3\.0 GiB, more than one read can hold \(2 GiB\); it was not read/,
      );
      assert.equal(
        (folderState as { message: string }).message,
        'huge/.checkpoints/folder.checkpoint.json: it is a folder, not a file; it was not read',
      );
      // maxRSS is in KiB: reading the junk file whole would have added a GiB.
      const grewKiB = process.resourceUsage().maxRSS - rssBefore;
      assert.ok(grewKiB < 256 * 1024, `the extension host grew by ${grewKiB} KiB reading them`);
    } finally {
      rmSync(join(fixture().project, 'huge'), { recursive: true, force: true });
    }
    await eventually('the huge folder’s entries to go', () =>
      kit.registry.entries().every((entry) => !entry.key.includes('/huge/.checkpoints/')),
    );
  });
});
